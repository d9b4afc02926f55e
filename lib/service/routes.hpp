#pragma once
// What `crawlctl serve` answers, request in, response out, apart from the socket
// (server.hpp): the original service's three routes, the REST API, the metrics and the
// OpenAPI document. It reads and writes Redis through lib/queue, on connections of its own
// (connections.hpp), and judges jobs and workers with lib/status, the code `crawlctl status`
// runs, so the terminal and the web never disagree. docs/api.md is its reference.

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/inventory.hpp"
#include "service/connections.hpp"
#include "service/http.hpp"

namespace crawl::service {

// Who may ask: the Host names the server answers to (DNS rebinding: a page of another name that
// resolves to this address is refused), and the bearer token every request but the dashboard's
// files must carry, when one is set.
struct Access {
  std::vector<std::string> hosts;  // Host header values, e.g. "127.0.0.1:8080"; empty = any
  std::string token;               // "" = none asked for (loopback)
};

struct ServiceOptions {
  config::JobDefaults job_defaults;       // the hosts file's job: section
  std::size_t max_body_bytes = 8u << 20;  // a larger body: 413
  std::size_t max_seeds = 100'000;        // seeds per request: more is a 400
  std::size_t results_page = 1000;        // records read a page while streaming
  std::string records_dir;                // where drained records are kept (queue/records.hpp)
  // Result streams at once (GET /jobs/{id}/results, GET /result/{id}); more: 503, Retry-After.
  // Each holds a Redis connection and up to 32 bytes per record of its job until it ends.
  int max_streams = 4;
  std::size_t max_jobs_listed = 1000;  // GET /jobs?last=N
  std::size_t metrics_jobs = 20;       // GET /metrics: the latest jobs
};

class Routes {
 public:
  Routes(Connections& redis, ServiceOptions options);

  Response handle(const Request& request);
  // Set once the port is known, before the first request.
  void set_access(Access access) { m_access = std::move(access); }

  // Each route: its method, its path (a {name} segment stands for a job id), what it does.
  struct Route {
    std::string_view method, path, summary;
    Response (Routes::*handler)(const Request&, const std::string& id);
  };
  static const std::vector<Route>& routes();

 private:
  // The original service.
  Response submit_original(const Request& request, const std::string& id);
  Response status_original(const Request& request, const std::string& id);
  Response result_original(const Request& request, const std::string& id);
  // The REST API.
  Response submit(const Request& request, const std::string& id);
  Response list_jobs(const Request& request, const std::string& id);
  Response job(const Request& request, const std::string& id);
  Response sites(const Request& request, const std::string& id);
  Response results(const Request& request, const std::string& id);
  Response pause(const Request& request, const std::string& id);
  Response resume(const Request& request, const std::string& id);
  Response cancel(const Request& request, const std::string& id);
  Response workers(const Request& request, const std::string& id);
  Response healthz(const Request& request, const std::string& id);
  Response openapi(const Request& request, const std::string& id);
  Response metrics(const Request& request, const std::string& id);
  // The dashboard: its page, style and script.
  Response page(const Request& request, const std::string& id);
  Response style(const Request& request, const std::string& id);
  Response script(const Request& request, const std::string& id);

  // Creates a job from the body: its id, or the response that says why not.
  Response create_job(const Request& request, bool original);
  Response control(const std::string& id, queue::JobAction action);
  Response stream_results(const std::string& id, bool images, const std::string& outcome);

  Response route(const Request& request);
  // The access rules: a response refusing the request, or nullopt to serve it.
  std::optional<Response> refuse(const Request& request, bool open_route) const;

  Connections& m_redis;
  ServiceOptions m_options;
  Access m_access;
  std::shared_ptr<std::atomic<int>> m_streams = std::make_shared<std::atomic<int>>(0);
};

}  // namespace crawl::service
