// crawlctl serve: the crawler as a service over HTTP (the original service's routes, the REST
// API, metrics, the dashboard). Everything it answers is lib/service's; this file reads the
// flags, finds Redis as every subcommand does, and starts the server.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include "commands.hpp"
#include "core/file.hpp"
#include "core/logging.hpp"
#include "core/output.hpp"
#include "core/units.hpp"
#include "fleet.hpp"
#include "redis_options.hpp"
#include "service/drainer.hpp"
#include "service/notifier.hpp"
#include "service/server.hpp"

namespace crawl::ctl {

namespace {

// A thousand idle connections are a thousand descriptors: the soft limit goes up to the hard.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

struct ServeOptions {
  RedisOptions redis;
  std::string listen = "127.0.0.1:8080";
  std::size_t max_connections = 1024;
  int max_streams = 4;
  std::string token_file, tls_cert, tls_key;
  std::vector<std::string> host_names;
  bool insecure_http = false;
  std::string stall_after = "1m";
  std::string records_dir;
};

bool loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

// The Host header values the server answers to once it listens on `port`.
std::vector<std::string> host_names(const ServeOptions& o, const std::string& host, int port,
                                    bool tls) {
  std::vector<std::string> names = o.host_names;
  if (loopback(host)) names.insert(names.end(), {"127.0.0.1", "localhost", "[::1]"});
  names.push_back(host.find(':') != std::string::npos ? "[" + host + "]" : host);
  std::vector<std::string> out;
  for (const auto& n : names) {
    out.push_back(n + ":" + std::to_string(port));
    if (port == (tls ? 443 : 80)) out.push_back(n);
  }
  return out;
}

// Off loopback: a token, and TLS unless the operator says otherwise. The token is read from a
// file (never a flag: ps shows those).
int check_access(const ServeOptions& o, const std::string& host, std::string& token) {
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    crawl::print(stderr, "crawlctl serve: --tls-cert and --tls-key go together\n");
    return k_exit_usage;
  }
  if (!o.token_file.empty()) {
    warn_if_loose(o.token_file, "--token-file");
    auto text = read_file(o.token_file, 4096);
    if (!text) {
      crawl::print(stderr, "crawlctl serve: --token-file: {}\n", text.error().message);
      return k_exit_usage;
    }
    token = std::move(*text);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
      token.pop_back();
    if (token.size() < 16) {
      crawl::print(stderr, "crawlctl serve: {}: a token of at least 16 characters, please\n",
                   o.token_file);
      return k_exit_usage;
    }
  }
  if ((host == "0.0.0.0" || host == "::") && o.host_names.empty()) {
    crawl::print(stderr,
                 "crawlctl serve: listening on every address ({}): name the host clients reach "
                 "it by with --host-name (it answers only to the names it knows)\n",
                 host);
    return k_exit_usage;
  }
  if (loopback(host)) return k_exit_ok;
  if (token.empty()) {
    crawl::print(stderr,
                 "crawlctl serve: listening on {} (not loopback) needs --token-file FILE: every "
                 "request must then carry its token\n",
                 host);
    return k_exit_usage;
  }
  if (o.tls_cert.empty() && !o.insecure_http) {
    crawl::print(stderr,
                 "crawlctl serve: listening on {} (not loopback) needs --tls-cert and --tls-key, "
                 "or --insecure-http to send the token and the crawl in clear text\n",
                 host);
    return k_exit_usage;
  }
  return k_exit_ok;
}

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
  server.tls_cert = o.tls_cert;
  server.tls_key = o.tls_key;
  std::string token;
  if (int rc = check_access(o, server.host, token); rc != k_exit_ok) return rc;
  raise_file_limit();
  auto inventory = hosts_file_settings(o.redis);
  if (!inventory) {
    crawl::print(stderr, "crawlctl serve: {}\n", inventory.error().message);
    return k_exit_usage;
  }
  service::ServiceOptions options;
  options.job_defaults = inventory->job;
  options.max_body_bytes = server.max_body_bytes;
  options.max_streams = o.max_streams;
  options.records_dir = o.records_dir;
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
  // Notifications go out from their own thread, on connections of the same pool.
  service::NotifyOptions notify;
  auto stall = parse_duration(o.stall_after);
  if (!stall || stall->count() < 1000) {
    crawl::print(stderr, "crawlctl serve: --stall-after: {}\n",
                 stall ? "at least 1s" : stall.error().message);
    return k_exit_usage;
  }
  notify.stall_after = *stall;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  notify.owner = fmt::format("{}:{}", host, getpid());
  service::Notifier notifier(connections, notify);
  std::atomic<bool> serving{true};
  std::thread notifying([&] { notifier.run([&] { return stop->load() || !serving.load(); }); });
  std::thread draining([&] {
    service::drain_records(
        connections, o.records_dir, [&] { return stop->load() || !serving.load(); },
        [](const std::string& what) { crawl::print(stderr, "crawlctl serve: drain: {}\n", what); });
  });
  const bool tls = !server.tls_cert.empty();
  auto served = service::serve(routes, server, *stop, [&](int port) {
    routes.set_access(service::Access{host_names(o, server.host, port, tls), token});
    crawl::print(stderr, "crawlctl serve: listening on {}://{}:{}/\n", tls ? "https" : "http",
                 server.host.find(':') != std::string::npos ? "[" + server.host + "]" : server.host,
                 port);
  });
  serving = false;  // serve returned: stopped, or it could not listen
  notifying.join();
  draining.join();
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
                  "Connections served at once (a thread each, idle ones dropped after 5 s); more "
                  "wait their turn")
      ->capture_default_str()
      ->check(CLI::Range(4, 16384));
  sub->add_option("--max-streams", o->max_streams,
                  "Result streams (GET /jobs/{id}/results, /result/{id}) at once; more get 503 "
                  "and Retry-After. Each holds a Redis connection and up to 32 bytes per record")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  sub->add_option("--token-file", o->token_file,
                  "A file holding the bearer token every request must carry (needed off "
                  "loopback)");
  sub->add_option("--tls-cert", o->tls_cert, "PEM certificate: serve HTTPS");
  sub->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  sub->add_flag("--insecure-http", o->insecure_http,
                "Off loopback, serve plain HTTP anyway (the token travels in clear text)");
  sub->add_option("--host-name", o->host_names,
                  "A name clients reach this server by (its Host header); repeat for more. The "
                  "address listened on is always one")
      ->allow_extra_args(false);
  sub->add_option("--stall-after", o->stall_after,
                  "A job with URLs queued and no worker alive this long has stalled: its notify "
                  "URL is told")
      ->capture_default_str();
  add_records_option(sub, o->records_dir);
  add_redis_options(sub, o->redis);
  sub->footer(
      "Examples:\n"
      "  crawlctl serve                      # http://127.0.0.1:8080/\n"
      "  curl -s localhost:8080/jobs -H 'Content-Type: application/json' \\\n"
      "       -d '{\"urls\": [\"https://example.org/\"], \"max_depth\": 2}'\n"
      "Off loopback it needs --token-file, and --tls-cert/--tls-key (or --insecure-http).\n"
      "SIGTERM or Ctrl-C stops it: requests in progress finish (10 s at most). docs/api.md has\n"
      "every route.");
  sub->callback([o, &run] { run = [o] { return run_serve(*o); }; });
}

}  // namespace crawl::ctl
