#include "service/server.hpp"

#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "core/text.hpp"

namespace crawl::service {

namespace {

using Clock = std::chrono::steady_clock;

thread_local Clock::time_point t_started;  // of the request this thread is serving

// One thread per connection, made as connections come, up to `max` (then they wait their turn):
// a connection that sends nothing holds only its own thread, for a read timeout at most, so a
// thousand idle ones do not keep a new client waiting. Threads left idle stay for the next.
class Threads : public httplib::TaskQueue {
 public:
  explicit Threads(std::size_t max) : m_max(max) {}
  ~Threads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard lock(m_mutex);
    m_jobs.push_back(std::move(fn));
    // Idle threads already woken for earlier jobs are still counted idle until they take them.
    if (m_jobs.size() > m_idle && m_threads.size() < m_max) {
      try {
        m_threads.emplace_back([this] { work(); });
      } catch (const std::system_error& e) {
        // The system gives no more threads (a pid or task limit): the connection waits for one
        // of those there are. With none at all, it waits for good: said once.
        if (!m_said)
          spdlog::error("event=no_thread threads={} error=\"{}\"", m_threads.size(), e.what());
        m_said = true;
      }
    }
    m_wake.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) return;
      m_stopping = true;
    }
    m_wake.notify_all();
    for (auto& t : m_threads) t.join();
  }

 private:
  void work() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      ++m_idle;
      m_wake.wait(lock, [&] { return !m_jobs.empty() || m_stopping; });
      --m_idle;
      if (m_jobs.empty()) return;  // stopping, and nothing left to do
      auto fn = std::move(m_jobs.front());
      m_jobs.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::size_t m_max;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::function<void()>> m_jobs;
  std::vector<std::thread> m_threads;
  std::size_t m_idle = 0;
  bool m_stopping = false;
  bool m_said = false;
};

Request to_request(const httplib::Request& in) {
  Request r;
  r.method = in.method;
  r.path = in.path;
  for (const auto& [k, v] : in.params) r.query.emplace(k, v);
  for (const auto& [k, v] : in.headers) {
    std::string name = k;
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace(std::move(name), v);
  }
  r.body = in.body;
  r.remote = in.remote_addr;
  return r;
}

// The headers every response of ours carries (http.hpp, secure()), on one httplib makes itself.
void secure_headers(httplib::Response& out) {
  Response r;
  secure(r);
  for (const auto& [k, v] : r.headers)
    if (!out.has_header(k)) out.set_header(k, v);
}

void to_response(Response&& in, httplib::Response& out) {
  out.status = in.status;
  out.headers.clear();
  for (const auto& [k, v] : in.headers) out.set_header(k, v);
  if (!in.stream) {
    out.set_content(std::move(in.body), in.content_type);
    return;
  }
  auto stream = std::move(in.stream);
  out.set_chunked_content_provider(in.content_type, [stream](std::size_t, httplib::DataSink& sink) {
    const Writer write = [&sink](std::string_view chunk) {
      return sink.write(chunk.data(), chunk.size());
    };
    switch (stream(write)) {
      case Chunk::more:
        return true;
      case Chunk::done:
        sink.done();
        return true;
      case Chunk::failed:
        break;
    }
    return false;
  });
}

}  // namespace

Result<void> serve(Routes& routes, const ServerOptions& options, const std::atomic<bool>& stop,
                   const std::function<void(int port)>& listening) {
  std::unique_ptr<httplib::Server> owned;
  if (options.tls_cert.empty()) {
    owned = std::make_unique<httplib::Server>();
  } else {
    owned = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!owned->is_valid())
      return fail(
          "cannot use the TLS certificate {} with the key {} (unreadable, not PEM, or "
          "not a pair)",
          options.tls_cert, options.tls_key);
  }
  httplib::Server& server = *owned;
  const std::size_t threads = options.threads;
  server.new_task_queue = [threads] { return new Threads(threads); };
  server.set_read_timeout(options.read_timeout);
  server.set_write_timeout(options.write_timeout);
  server.set_keep_alive_timeout(options.keep_alive.count());
  server.set_keep_alive_max_count(100);
  // A response goes out in two writes (head, body): without TCP_NODELAY, Nagle's algorithm held
  // the body back for the client's delayed ACK, 40 ms on every request of a kept-alive
  // connection but its first (measured: 23 requests/s on one connection, now see
  // docs/performance.md).
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(options.max_body_bytes);
  // Requests in progress, streamed bodies until their last chunk: a stop waits for them.
  std::atomic<int> in_progress{0};
  std::atomic<bool> stopping{false};
  struct InProgress {
    explicit InProgress(std::atomic<int>& n) : count(n) { ++count; }
    ~InProgress() { --count; }
    std::atomic<int>& count;
  };

  const auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    auto guard = std::make_shared<InProgress>(in_progress);
    secure_headers(res);
    if (stopping.load()) {
      res.status = 503;
      res.set_header("Connection", "close");
      res.set_header("Retry-After", "5");
      res.set_content(R"({"error": "the server is stopping"})"
                      "\n",
                      "application/json");
      return;
    }
    try {
      Response response = routes.handle(to_request(req));
      if (response.stream) {
        // The guard lives as long as the stream does.
        response.stream = [guard, stream = std::move(response.stream)](const Writer& write) {
          return stream(write);
        };
      }
      to_response(std::move(response), res);
    } catch (const std::exception& e) {
      spdlog::error("event=request_failed method={} path=\"{}\" error=\"{}\"", req.method,
                    escape_control(req.path.substr(0, 200)), e.what());
      res.status = 500;
      res.set_content(R"({"error": "internal error"})"
                      "\n",
                      "application/json");
    }
  };
  for (const char* pattern : {".*"}) {
    server.Get(pattern, handler);
    server.Post(pattern, handler);
    server.Put(pattern, handler);
    server.Patch(pattern, handler);
    server.Delete(pattern, handler);
    server.Options(pattern, handler);
  }
  // What httplib answers itself (a body too large, a bad request line) in the API's shape.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    secure_headers(res);
    const char* what = res.status == 413   ? "the body is too large"
                       : res.status == 400 ? "bad request"
                       : res.status == 404 ? "no such route"
                                           : "error";
    res.set_content(std::string(R"({"error": ")") + what + "\"}\n", "application/json");
  });
  // A request without a body (no Content-Length, not chunked) is answered before httplib
  // looks for one: it would otherwise refuse a POST without Content-Length (`curl -X POST`)
  // after waiting out its read timeout.
  server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    t_started = Clock::now();
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
      return httplib::Server::HandlerResponse::Unhandled;
    handler(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t_started).count() /
        1000.0;
    spdlog::info("event=request method={} path=\"{}\" status={} ms={:.1f} remote={}",
                 escape_control(req.method.substr(0, 16)), escape_control(req.path.substr(0, 200)),
                 res.status, ms, req.remote_addr);
  });

  // The listening socket: SO_REUSEADDR (a restart binds at once), not httplib's default
  // SO_REUSEPORT (a second serve would share the port silently, each taking some of the
  // requests); kept to give it a longer queue once bound: httplib listens with a backlog of 5,
  // so a burst of connections (a thousand idle ones) had the kernel drop SYNs, and every later
  // client waited out a 1 s retransmission.
  int listening_fd = -1;
  server.set_socket_options([&listening_fd](int fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening_fd = fd;
  });
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
    if (port <= 0) return fail("cannot listen on {}:any port", options.host);
  } else if (!server.bind_to_port(options.host, port)) {
    return fail("cannot listen on {}:{} (in use, or not an address of this machine)", options.host,
                port);
  }
  if (listening_fd >= 0) ::listen(listening_fd, SOMAXCONN);
  if (listening) listening(port);
  std::atomic<bool> done{false};
  std::thread loop([&] {
    server.listen_after_bind();
    done = true;
  });
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Graceful: new requests are answered 503; those in progress (a streamed body to its last
  // chunk) finish, up to the deadline; then the socket closes.
  spdlog::info("event=stopping in_progress={}", in_progress.load());
  stopping = true;
  const auto deadline = Clock::now() + options.stop_deadline;
  while (in_progress.load() > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server.stop();
  while (!done.load() && Clock::now() < deadline + std::chrono::seconds(1))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!done.load()) {
    spdlog::warn("event=stop_deadline in_progress={} deadline_s={}", in_progress.load(),
                 options.stop_deadline.count());
    spdlog::shutdown();
    std::_Exit(1);  // the threads still serving cannot be joined in time
  }
  loop.join();
  spdlog::info("event=stopped");
  return {};
}

}  // namespace crawl::service
