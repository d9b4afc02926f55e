#include "http_server.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace crawl::testing {

HttpReply http_reply(int status, std::string body, const std::string& content_type,
                     const std::string& extra_headers) {
  HttpReply r;
  r.bytes = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
            extra_headers + "\r\n" + body;
  return r;
}

std::unique_ptr<HttpServer> link_site(int pages, std::chrono::milliseconds latency,
                                      SpecialReply special) {
  return std::make_unique<HttpServer>([=](const HttpRequest& r) {
    if (special)
      if (auto reply = special(r)) return *reply;
    HttpReply reply;
    if (r.target == "/robots.txt") {
      reply = http_reply(404, "", "text/plain");
    } else if (r.target == "/") {
      std::string page = "<title>root</title>";
      for (int i = 0; i < pages; ++i) page += "<a href=\"/p/" + std::to_string(i) + "\">p</a>";
      reply = http_reply(200, page);
    } else {
      reply = http_reply(200, "<title>" + r.target + "</title>");
    }
    reply.delay = latency;
    return reply;
  });
}

HttpServer::HttpServer(Handler handler, const std::string& address)
    : m_handler(std::move(handler)), m_address(address) {
  m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (m_listen < 0) throw std::runtime_error("HttpServer: socket failed");
  const int on = 1;
  ::setsockopt(m_listen, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;  // the kernel picks a free port: nothing else can hold it
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1 ||
      ::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(m_listen, 256) != 0) {
    ::close(m_listen);
    throw std::runtime_error("HttpServer: cannot listen on " + address);
  }
  socklen_t length = sizeof addr;
  ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &length);
  m_port = ntohs(addr.sin_port);
  m_acceptor = std::thread([this] { accept_loop(); });
}

HttpServer::~HttpServer() {
  m_stop = true;
  m_acceptor.join();
  ::close(m_listen);
  for (auto& c : m_connections) c.thread.join();
}

std::string HttpServer::url(const std::string& path) const {
  return "http://" + m_address + ":" + std::to_string(m_port) + path;
}

std::vector<HttpServer::Hit> HttpServer::hits() const {
  std::lock_guard lock(m_mutex);
  return m_hits;
}

void HttpServer::accept_loop() {
  while (!m_stop) {
    pollfd p{m_listen, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::erase_if(m_connections, [](Connection& c) {
      if (!c.done->load()) return false;
      c.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    m_connections.push_back({std::thread([this, fd, done] {
                               serve(fd);
                               done->store(true);
                             }),
                             done});
  }
}

void HttpServer::serve(int fd) {
  // The request head, up to the blank line (bodies are not expected).
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < (64u << 10) && !m_stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  HttpRequest request;
  const auto head_end = head.find("\r\n\r\n");
  if (head_end != std::string::npos) {
    request.body = head.substr(head_end + 4);
    head.resize(head_end + 4);
  }
  request.head = head;
  // A body, when the head gives its length.
  std::string lower = head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (const auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
    const std::size_t length =
        std::min<std::size_t>(std::strtoull(lower.c_str() + at + 17, nullptr, 10), 1u << 20);
    while (request.body.size() < length && !m_stop) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      request.body.append(buffer, static_cast<std::size_t>(n));
    }
  }
  const auto line_end = head.find("\r\n");
  const std::string line = head.substr(0, line_end);
  const auto space = line.find(' ');
  request.method = line.substr(0, space);
  if (space != std::string::npos)
    request.target = line.substr(space + 1, line.find(' ', space + 1) - space - 1);

  const auto start = std::chrono::steady_clock::now();
  const int now_in_flight = ++m_in_flight;
  for (int seen = m_max_in_flight.load();
       now_in_flight > seen && !m_max_in_flight.compare_exchange_weak(seen, now_in_flight);) {
  }
  HttpReply reply = m_handler(request);
  auto sleep_unless_stopped = [this](std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!m_stop && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          until - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
  };
  sleep_unless_stopped(reply.delay);
  const std::size_t chunk = reply.chunk > 0 ? reply.chunk : reply.bytes.size();
  for (std::size_t at = 0; at < reply.bytes.size() && !m_stop; at += chunk) {
    const std::size_t n = std::min(chunk, reply.bytes.size() - at);
    if (::send(fd, reply.bytes.data() + at, n, MSG_NOSIGNAL) != static_cast<ssize_t>(n)) break;
    if (reply.chunk > 0) sleep_unless_stopped(reply.pace);
  }
  ::shutdown(fd, SHUT_WR);
  // Drain what the client still sends, briefly, so it sees our close rather than a reset.
  for (int i = 0; i < 10; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    if (::read(fd, buffer, sizeof buffer) <= 0) break;
  }
  ::close(fd);
  --m_in_flight;
  std::lock_guard lock(m_mutex);
  m_hits.push_back({request.target, start, std::chrono::steady_clock::now()});
}

}  // namespace crawl::testing
