// crawlctl serve: the crawler as a service over HTTP (the original service's routes, the REST
// API, metrics, the dashboard). Everything it answers is lib/service's; this file reads the
// flags, finds Redis as every subcommand does, and starts the server.

#include <memory>

#include "commands.hpp"
#include "core/logging.hpp"
#include "core/output.hpp"
#include "fleet.hpp"
#include "redis_options.hpp"
#include "service/server.hpp"

namespace crawl::ctl {

namespace {

struct ServeOptions {
  RedisOptions redis;
  std::string listen = "127.0.0.1:8080";
  std::size_t max_connections = 256;
};

int run_serve(const ServeOptions& o) {
  service::ServerOptions server;
  const auto colon = o.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    crawl::print(stderr, "crawlctl serve: --listen takes ADDRESS:PORT, not '{}'\n", o.listen);
    return k_exit_usage;
  }
  server.host = o.listen.substr(0, colon);
  if (server.host.size() > 2 && server.host.front() == '[' && server.host.back() == ']')
    server.host = server.host.substr(1, server.host.size() - 2);
  try {
    std::size_t used = 0;
    server.port = std::stoi(o.listen.substr(colon + 1), &used);
    if (used != o.listen.size() - colon - 1 || server.port < 0 || server.port > 65535)
      throw std::out_of_range("port");
  } catch (const std::exception&) {
    crawl::print(stderr, "crawlctl serve: --listen: '{}' is not a port\n",
                 o.listen.substr(colon + 1));
    return k_exit_usage;
  }
  server.threads = o.max_connections;
  auto inventory = hosts_file_settings(o.redis);
  if (!inventory) {
    crawl::print(stderr, "crawlctl serve: {}\n", inventory.error().message);
    return k_exit_usage;
  }
  service::ServiceOptions options;
  options.job_defaults = inventory->job;
  options.max_body_bytes = server.max_body_bytes;
  setup_logging("crawlctl", false);
  // Redis is found as every subcommand finds it; a first connection tells at once what is wrong.
  service::Connections connections([redis = o.redis] { return open_queue(redis); });
  if (auto first = connections.take(); !first)
    crawl::print(stderr,
                 "crawlctl serve: warning: {} (serving anyway: requests that need Redis are "
                 "answered 503 until it is back)\n",
                 first.error().message);
  service::Routes routes(connections, std::move(options));
  const std::atomic<bool>* stop = interrupt_flag();
  auto served = service::serve(routes, server, *stop, [&](int port) {
    crawl::print(stderr, "crawlctl serve: listening on http://{}:{}/\n",
                 server.host.find(':') != std::string::npos ? "[" + server.host + "]" : server.host,
                 port);
  });
  if (!served) {
    crawl::print(stderr, "crawlctl serve: {}\n", served.error().message);
    return k_exit_failed;
  }
  return k_exit_ok;
}

}  // namespace

void add_serve_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* sub = app.add_subcommand("serve", "Serve the HTTP API, metrics and the dashboard");
  sub->add_option("--listen", o->listen, "ADDRESS:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  sub->add_option("--max-connections", o->max_connections,
                  "Connections served at once (a thread each); more wait their turn")
      ->capture_default_str()
      ->check(CLI::Range(4, 4096));
  add_redis_options(sub, o->redis);
  sub->footer(
      "Examples:\n"
      "  crawlctl serve                      # http://127.0.0.1:8080/\n"
      "  curl -s localhost:8080/jobs -H 'Content-Type: application/json' \\\n"
      "       -d '{\"urls\": [\"https://example.org/\"], \"max_depth\": 2}'\n"
      "SIGTERM or Ctrl-C stops it: requests in progress finish (10 s at most). docs/api.md has\n"
      "every route.");
  sub->callback([o, &run] { run = [o] { return run_serve(*o); }; });
}

}  // namespace crawl::ctl
