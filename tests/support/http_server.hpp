#pragma once
// A small HTTP/1.1 server of the tests' own, on a free loopback port, for responses nginx will
// not give (a megabyte of headers, a gzip bomb, a body that trickles) and for measuring what a
// crawler does to a site (requests in flight at once, the gaps between them). Each connection
// gets a thread; the handler writes the whole response, then the connection is closed. Threads
// of this process, stopped on destruction: no process to leave behind.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace crawl::testing {

struct HttpRequest {
  std::string method, target;  // "GET", "/path?q"
  std::string head;            // the request line and headers, as received
  std::string body;            // as Content-Length says (up to 1 MiB)
};

// What the handler sends: `bytes` written as they are (status line, headers, body), after
// `delay`; with `chunk` > 0, in pieces of that size `pace` apart (a trickle).
struct HttpReply {
  std::string bytes;
  std::chrono::milliseconds delay{0};
  std::size_t chunk = 0;
  std::chrono::milliseconds pace{0};
};

// "HTTP/1.1 <status> X\r\nContent-Length: ..\r\n<extra headers>\r\n<body>", with Connection: close.
HttpReply http_reply(int status, std::string body, const std::string& content_type = "text/html",
                     const std::string& extra_headers = "");

class HttpServer {
 public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  struct Hit {
    std::string target;
    std::chrono::steady_clock::time_point start, end;
  };

  explicit HttpServer(Handler handler, const std::string& address = "127.0.0.1");
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return m_port; }
  std::string url(const std::string& path = "/") const;  // "http://127.0.0.1:PORT/path"
  // Requests seen so far (in the order they ended) and the most ever in flight at once.
  std::vector<Hit> hits() const;
  int max_in_flight() const { return m_max_in_flight.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  Handler m_handler;
  std::string m_address;
  int m_listen = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_in_flight{0}, m_max_in_flight{0};
  mutable std::mutex m_mutex;
  std::vector<Hit> m_hits;
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Connection> m_connections;  // joined when done, at the next accept: a long bench
                                          // makes tens of thousands
  std::thread m_acceptor;
};

// A site of links on its own server: "/" links to /p/0 .. /p/{pages-1}, robots.txt is 404
// (allow all), every answer after `latency`; `special` may answer a request first (nullopt:
// the usual answer). For measuring what a crawl does to sites.
using SpecialReply = std::function<std::optional<HttpReply>(const HttpRequest&)>;
std::unique_ptr<HttpServer> link_site(int pages, std::chrono::milliseconds latency,
                                      SpecialReply special = nullptr);

}  // namespace crawl::testing
