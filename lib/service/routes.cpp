#include "service/routes.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "core/output.hpp"
#include "queue/results.hpp"
#include "queue/submit.hpp"
#include "service/job_request.hpp"
#include "service/metrics.hpp"
#include "service/openapi.hpp"
#include "status/snapshot.hpp"
#include "status/view.hpp"

namespace crawl::service {

namespace web {
// web_*.cpp, generated from lib/service/web at build time.
extern const std::string_view index, style, app;
}  // namespace web

namespace {

using Json = nlohmann::ordered_json;

// Job ids are Redis's counter; anything else is no job of ours (and never reaches a key name).
const std::string k_get = "GET";

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.';
  });
}

int status_of(const Error& error) {
  switch (error.kind) {
    case ErrorKind::connection:
      return 503;
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::invalid:
      return 400;
    default:
      return 500;
  }
}

Response from_error(const Error& error) {
  return Response::error(status_of(error), error.message);
}

// A count from the query string, within [low, high]; `otherwise` when absent.
std::optional<std::size_t> count_param(const Request& request, const std::string& name,
                                       std::size_t otherwise, std::size_t low, std::size_t high) {
  const std::string text = request.param(name);
  if (text.empty()) return otherwise;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < low || n > high)
    return std::nullopt;
  return n;
}

bool json_body(const Request& request) {
  const std::string* type = request.header("content-type");
  if (type == nullptr) return false;
  std::string t = type->substr(0, type->find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t == "application/json";
}

}  // namespace

Response Response::json(int status, const nlohmann::ordered_json& body) {
  Response r;
  r.status = status;
  r.body = json_text(body, -1) + "\n";
  return r;
}

Response Response::error(int status, std::string_view message) {
  return json(status, Json{{"error", message}});
}

Routes::Routes(Connections& redis, ServiceOptions options)
    : m_redis(redis), m_options(std::move(options)) {}

const std::vector<Routes::Route>& Routes::routes() {
  static const std::vector<Route> all{
      {"GET", "/", "The dashboard", &Routes::page},
      {"GET", "/dashboard/style.css", "The dashboard's style", &Routes::style},
      {"GET", "/dashboard/app.js", "The dashboard's script", &Routes::script},
      {"POST", "/", "Create a job from {\"urls\": [...]} (the original service): its id",
       &Routes::submit_original},
      {"GET", "/status/{id}", "URLs crawled and still to crawl (the original service)",
       &Routes::status_original},
      {"GET", "/result/{id}", "{url: [image, ...]} for the pages crawled (the original service)",
       &Routes::result_original},
      {"POST", "/jobs", "Create a job: seed URLs and any job option", &Routes::submit},
      {"GET", "/jobs", "The latest jobs", &Routes::list_jobs},
      {"GET", "/jobs/{id}", "A job: state, counters, options, pages/s, ETA", &Routes::job},
      {"GET", "/jobs/{id}/sites", "A job's busiest sites, and those backing off", &Routes::sites},
      {"GET", "/jobs/{id}/results", "A job's records as JSON Lines, streamed", &Routes::results},
      {"POST", "/jobs/{id}/pause", "Lease no more URLs of the job", &Routes::pause},
      {"POST", "/jobs/{id}/resume", "Lease its URLs again", &Routes::resume},
      {"POST", "/jobs/{id}/cancel", "Drop its queued URLs; workers drop their leases",
       &Routes::cancel},
      {"GET", "/workers", "Every worker: state, pages/s, in flight, errors, RSS", &Routes::workers},
      {"GET", "/healthz", "Whether Redis answers", &Routes::healthz},
      {"GET", "/openapi.json", "This API as an OpenAPI 3 document", &Routes::openapi},
      {"GET", "/metrics", "The crawl in the Prometheus text format", &Routes::metrics},
  };
  return all;
}

Response Routes::handle(const Request& request) {
  Response response = route(request);
  secure(response);
  return response;
}

Response Routes::route(const Request& request) {
  // HEAD is GET without the body (the server drops it).
  const std::string& method = request.method == "HEAD" ? k_get : request.method;
  // Segments of the path, "{id}" standing for any job id.
  std::string id;
  std::vector<std::string_view> allowed;
  const Route* found = nullptr;
  for (const auto& route : routes()) {
    std::string_view pattern = route.path, path = request.path;
    std::string captured;
    bool match = true;
    while (match && (!pattern.empty() || !path.empty())) {
      auto cut = [](std::string_view& s) {
        s.remove_prefix(std::min<std::size_t>(1, s.size()));  // the '/'
        const std::size_t end = std::min(s.find('/'), s.size());
        std::string_view segment = s.substr(0, end);
        s.remove_prefix(end);
        return segment;
      };
      if (pattern.empty() != path.empty()) {
        match = false;
        break;
      }
      const std::string_view want = cut(pattern), got = cut(path);
      if (want == "{id}")
        captured = std::string(got), match = valid_id(got);
      else
        match = want == got;
    }
    if (!match) continue;
    allowed.push_back(route.method);
    if (route.method == method) {
      found = &route;
      id = std::move(captured);
    }
  }
  // The dashboard's files need no token: the page is where one is typed in.
  const bool open_route = found != nullptr && found->method == "GET" &&
                          (found->path == "/" || found->path.starts_with("/dashboard/"));
  if (auto refused = refuse(request, open_route)) return *refused;
  if (found == nullptr && allowed.empty())
    return Response::error(404, fmt::format("no such route: {}", request.path.substr(0, 200)));
  if (found == nullptr) {
    Response r = Response::error(
        405, fmt::format("{} takes {}", request.path.substr(0, 200), fmt::join(allowed, ", ")));
    r.headers.emplace_back("Allow", fmt::format("{}", fmt::join(allowed, ", ")));
    return r;
  }
  Response response = (this->*found->handler)(request, id);
  // A pooled connection found broken (Redis restarted) is dropped: a GET is tried once more, on
  // a new one. A POST is not (it may have been applied): its client sees the 503.
  if (response.status == 503 && method == "GET") response = (this->*found->handler)(request, id);
  return response;
}

std::optional<Response> Routes::refuse(const Request& request, bool open_route) const {
  const std::string* host = request.header("host");
  if (!m_access.hosts.empty() &&
      (host == nullptr ||
       std::find(m_access.hosts.begin(), m_access.hosts.end(), *host) == m_access.hosts.end()))
    return Response::error(403, fmt::format("Host '{}' is not a name this server answers to",
                                            host == nullptr ? "" : host->substr(0, 100)));
  if (!m_access.token.empty() && !open_route) {
    const std::string* auth = request.header("authorization");
    constexpr std::string_view bearer = "Bearer ";
    const std::string_view given = auth != nullptr && auth->starts_with(bearer)
                                       ? std::string_view(*auth).substr(bearer.size())
                                       : std::string_view();
    if (!same_secret(given, m_access.token)) {
      Response r = Response::error(401, "a bearer token is needed (Authorization: Bearer ...)");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
  }
  // A request that changes something is refused when a browser says it comes from a page of
  // another site, loopback or not: such a page cannot submit or cancel a job.
  if (request.method != "GET" && request.method != "HEAD" && request.method != "OPTIONS") {
    if (const std::string* site = request.header("sec-fetch-site");
        site != nullptr && *site != "same-origin" && *site != "none")
      return Response::error(403, fmt::format("a {} request from another site", *site));
    if (const std::string* origin = request.header("origin"); origin != nullptr) {
      const auto scheme_end = origin->find("://");
      const std::string origin_host =
          scheme_end == std::string::npos ? *origin : origin->substr(scheme_end + 3);
      if (host == nullptr || origin_host != *host)
        return Response::error(
            403, fmt::format("a request from another origin ({})", origin->substr(0, 100)));
    }
  }
  return std::nullopt;
}

bool same_secret(std::string_view given, std::string_view secret) {
  // Constant time in the secret's length: every byte is compared, whatever the first mismatch.
  unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i)
    diff |= static_cast<unsigned char>(secret[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

void secure(Response& response) {
  // No script but the dashboard's own file runs on a page of ours, whatever a crawled page or
  // Redis put into the data it shows; nothing of ours is framed or sniffed into another type.
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("Cache-Control", "no-store");
}

// -- jobs ----------------------------------------------------------------------------------------

Response Routes::create_job(const Request& request, bool original) {
  if (request.body.size() > m_options.max_body_bytes)
    return Response::error(
        413, fmt::format("the body is larger than {} bytes", m_options.max_body_bytes));
  if (!json_body(request))
    return Response::error(415, "the body must be JSON (Content-Type: application/json)");
  const auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) return Response::error(400, "the body is not valid JSON");
  JobRequest job;
  if (auto read = read_job_request(body, m_options.job_defaults, m_options.max_seeds, job); !read)
    return from_error(read.error());
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  queue::SubmitRequest submit{"", job.options, job.name, nullptr};
  const queue::SubmitReport report = queue::submit(**lease, job.seeds, submit);
  if (report.job.empty()) return from_error(report.admitted.error());
  if (!report.admitted)
    return Response::error(
        503, fmt::format("job {}: {}; Redis acknowledged {} of the {} seeds before the error",
                         report.job, report.admitted.error().message, report.acked,
                         job.seeds.links.size()));
  if (original) return Response::json(200, Json{{"id", report.job}});
  Response r = Response::json(201, Json{{"id", report.job},
                                        {"queued", report.admitted->admitted},
                                        {"duplicates", report.admitted->duplicates}});
  r.headers.emplace_back("Location", "/jobs/" + report.job);
  return r;
}

Response Routes::submit_original(const Request& request, const std::string&) {
  return create_job(request, true);
}

Response Routes::submit(const Request& request, const std::string&) {
  return create_job(request, false);
}

Response Routes::status_original(const Request&, const std::string& id) {
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  auto job = (*lease)->jobs().job(id);
  if (!job) return from_error(job.error());
  using queue::Counter;
  return Response::json(
      200, Json{{"completed", job->stat(Counter::done) + job->stat(Counter::failed)},
                {"id", id},
                {"inprogress", job->stat(Counter::queued) + job->stat(Counter::in_flight)}});
}

Response Routes::result_original(const Request&, const std::string& id) {
  return stream_results(id, true, "");
}

Response Routes::list_jobs(const Request& request, const std::string&) {
  const auto last = count_param(request, "last", 20, 1, m_options.max_jobs_listed);
  if (!last)
    return Response::error(400,
                           fmt::format("last: a number from 1 to {}", m_options.max_jobs_listed));
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  status::SnapshotRequest want;
  want.last = *last;
  want.fleet = false;
  auto snapshot = status::take_snapshot(**lease, want, nullptr);
  if (!snapshot) return from_error(snapshot.error());
  Json jobs = Json::array();
  // Newest first, as a list of jobs is read.
  for (auto it = snapshot->jobs.rbegin(); it != snapshot->jobs.rend(); ++it)
    jobs.push_back(status::job_json(*it));
  return Response::json(200, Json{{"jobs", std::move(jobs)}, {"at_ms", snapshot->at_ms}});
}

Response Routes::job(const Request&, const std::string& id) {
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  status::SnapshotRequest want;
  want.job = id;
  want.fleet = false;
  auto snapshot = status::take_snapshot(**lease, want, nullptr);
  if (!snapshot) return from_error(snapshot.error());
  Json out = status::job_json(snapshot->jobs.front());
  out["at_ms"] = snapshot->at_ms;
  return Response::json(200, out);
}

Response Routes::sites(const Request& request, const std::string& id) {
  const auto n = count_param(request, "n", 20, 1, 1000);
  if (!n) return Response::error(400, "n: a number from 1 to 1000");
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  status::SnapshotRequest want;
  want.job = id;
  want.sites = *n;
  want.fleet = false;
  auto snapshot = status::take_snapshot(**lease, want, nullptr);
  if (!snapshot) return from_error(snapshot.error());
  Json sites = Json::array();
  for (const auto& site : snapshot->sites)
    sites.push_back(status::site_json(site, snapshot->at_ms));
  return Response::json(200, Json{{"id", id},
                                  {"sites", status::job_json(snapshot->jobs.front())["sites"]},
                                  {"busiest_sites", std::move(sites)},
                                  {"at_ms", snapshot->at_ms}});
}

Response Routes::control(const std::string& id, queue::JobAction action) {
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  auto before = (*lease)->jobs().job(id);
  if (!before) return from_error(before.error());
  if (before->cancelled()) return Response::error(409, fmt::format("job {} is cancelled", id));
  if (action == queue::JobAction::cancel && before->finished())
    return Response::error(409, fmt::format("job {} has finished: nothing to cancel", id));
  auto change = (*lease)->jobs().control(id, action);
  if (!change) return from_error(change.error());
  return Response::json(200, Json{{"id", id}, {"state", change->state}, {"moved", change->moved}});
}

Response Routes::pause(const Request&, const std::string& id) {
  return control(id, queue::JobAction::pause);
}
Response Routes::resume(const Request&, const std::string& id) {
  return control(id, queue::JobAction::resume);
}
Response Routes::cancel(const Request&, const std::string& id) {
  return control(id, queue::JobAction::cancel);
}

Response Routes::results(const Request& request, const std::string& id) {
  const std::string format = request.param("format", "jsonl");
  if (format != "jsonl" && format != "images")
    return Response::error(400, "format: jsonl (the default) or images");
  const std::string outcome = request.param("outcome");
  if (!outcome.empty() && outcome != "done" && outcome != "failed" && outcome != "filtered")
    return Response::error(400, "outcome: done, failed or filtered");
  return stream_results(id, format == "images", outcome);
}

Response Routes::stream_results(const std::string& id, bool images, const std::string& outcome) {
  // A slot among the streams allowed at once, given back when the stream's state goes.
  struct Slot {
    std::shared_ptr<std::atomic<int>> count;
    int taken;  // streams running with this one
    explicit Slot(std::shared_ptr<std::atomic<int>> c)
        : count(std::move(c)), taken(count->fetch_add(1) + 1) {}
    Slot(Slot&& other) noexcept : count(std::move(other.count)), taken(other.taken) {}
    ~Slot() {
      if (count) --*count;
    }
  };
  Slot slot(m_streams);
  if (slot.taken > m_options.max_streams) {
    Response busy = Response::error(
        503, fmt::format("{} result streams are running, the most this serve runs at once: try "
                         "again when one ends",
                         m_options.max_streams));
    busy.headers.emplace_back("Retry-After", "5");
    return busy;
  }
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  if (auto job = (*lease)->jobs().job(id); !job) return from_error(job.error());
  const std::optional<queue::Outcome> only = queue::outcome_of(outcome);
  // The stream holds its connection until the last page is written.
  struct State {
    Connections::Lease lease;
    queue::ResultReader reader;
    queue::ImagesMap map;
    std::size_t page;
    Slot slot;
  };
  auto state = std::make_shared<State>(
      State{std::move(*lease), queue::ResultReader(id, only, m_options.records_dir),
            queue::ImagesMap(), m_options.results_page, std::move(slot)});
  // Its first step drains what waits in Redis into the job's home: an error there (the home is
  // on another machine) is the answer, before any byte of the stream.
  {
    auto jobs = state->lease->jobs();
    if (auto drained = state->reader.next(jobs, [](const std::string&, const queue::Record&) {});
        !drained) {
      Error e = drained.error();
      if (e.kind == ErrorKind::invalid) e.kind = ErrorKind::other;  // not the request's fault
      return from_error(e);
    }
  }
  Response r;
  r.content_type = images ? "application/json" : "application/x-ndjson";
  r.stream = [state, images](const Writer& write) {
    if (state->reader.done()) {
      if (images && !write(state->map.close() + "\n")) return Chunk::failed;
      return Chunk::done;
    }
    std::string chunk;
    auto jobs = state->lease->jobs();
    auto page = state->reader.next(
        jobs,
        [&](const std::string& json, const queue::Record& record) {
          if (images) {
            chunk += state->map.entry(record);
          } else {
            // As Redis holds it, unless it holds raw control bytes: then written again.
            chunk += plain_text(json) ? json : json_text(Json::parse(json), -1);
            chunk += '\n';
          }
        },
        state->page);
    if (!page) return Chunk::failed;
    if (!chunk.empty() && !write(chunk)) return Chunk::failed;
    return Chunk::more;
  };
  return r;
}

// -- the fleet -----------------------------------------------------------------------------------

Response Routes::workers(const Request&, const std::string&) {
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  status::SnapshotRequest want;
  want.last = 0;
  auto snapshot = status::take_snapshot(**lease, want, nullptr);
  if (!snapshot) return from_error(snapshot.error());
  const status::Verdict verdict = status::judge(*snapshot, nullptr);
  // Written straight as text: at 10,000 workers, building it as a document first cost more than
  // reading the heartbeats.
  Response r;
  r.body.reserve(4096 + verdict.rows.size() * 300);
  JsonWriter out(r.body);
  out.begin_object().key("workers");
  status::write_workers(out, *snapshot, verdict);
  out.key("problems").begin_array();
  for (const auto& p : verdict.problems) out.value(p);
  out.end_array().member("at_ms", snapshot->at_ms).end_object();
  r.body += '\n';
  return r;
}

Response Routes::healthz(const Request&, const std::string&) {
  auto lease = m_redis.take();
  if (!lease) return from_error(lease.error());
  auto redis = (*lease)->fleet().replication();
  if (!redis) return from_error(redis.error());
  return Response::json(200, Json{{"redis", {{"server", redis->server}, {"role", redis->role}}}});
}

Response Routes::metrics(const Request&, const std::string&) {
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  RedisProbe redis;
  auto lease = m_redis.take();
  if (!lease) {
    r.body = metrics_text(nullptr, nullptr, redis);  // crawl_redis_up 0, for alerting
    return r;
  }
  const auto started = std::chrono::steady_clock::now();
  auto memory = (*lease)->fleet().used_memory();
  redis.round_trip_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!memory) {
    r.body = metrics_text(nullptr, nullptr, redis);
    return r;
  }
  redis.up = true;
  redis.used_memory_bytes = *memory;
  status::SnapshotRequest want;
  want.last = m_options.metrics_jobs;
  auto snapshot = status::take_snapshot(**lease, want, nullptr);
  if (!snapshot) {
    redis.up = false;
    r.body = metrics_text(nullptr, nullptr, redis);
    return r;
  }
  const status::Verdict verdict = status::judge(*snapshot, nullptr);
  r.body = metrics_text(&*snapshot, &verdict, redis);
  return r;
}

namespace {

// The dashboard's files, as built in.
Response asset(std::string_view type, std::string_view text) {
  Response r;
  r.content_type = std::string(type) + "; charset=utf-8";
  r.body = std::string(text);
  return r;
}

}  // namespace

Response Routes::page(const Request&, const std::string&) {
  return asset("text/html", web::index);
}

Response Routes::style(const Request&, const std::string&) {
  return asset("text/css", web::style);
}

Response Routes::script(const Request&, const std::string&) {
  return asset("text/javascript", web::app);
}

Response Routes::openapi(const Request&, const std::string&) {
  return Response::json(200, openapi_document(m_options.max_seeds));
}

}  // namespace crawl::service
