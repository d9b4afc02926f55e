#pragma once
// `crawlctl serve`'s socket: cpp-httplib carries requests to Routes and their responses back,
// on a bounded pool of threads, with read and write timeouts, a cap on the body, one access
// line per request in the workers' log style, and a graceful stop: once `stop` is set, no new
// connection is taken and the requests in progress finish, up to a deadline.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "core/result.hpp"
#include "service/routes.hpp"

namespace crawl::service {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: any free port (told to `listening`)
  std::size_t threads = 1024;            // connections served at once, a thread each; more wait
  std::string tls_cert, tls_key;         // PEM files: HTTPS (cpp-httplib over OpenSSL) when set
  std::chrono::seconds read_timeout{5};  // a client that sends nothing for this long is dropped
  std::chrono::seconds write_timeout{5};
  std::chrono::seconds keep_alive{5};
  std::size_t max_body_bytes = 8u << 20;
  std::chrono::seconds stop_deadline{10};  // requests in progress at a stop get this long
};

// Serves until `stop` is set. `listening` is told the port once the socket is bound, before the
// first request is read. Fails when the address cannot be bound or the TLS files not read.
Result<void> serve(Routes& routes, const ServerOptions& options, const std::atomic<bool>& stop,
                   const std::function<void(int port)>& listening);

}  // namespace crawl::service
