// The routes of crawlctl serve without a socket: a request in, a response out. What needs no
// Redis is answered here with a connection pool that cannot connect (then 503).

#include <algorithm>
#include <cstdio>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/job_options.hpp"
#include "service/job_request.hpp"
#include "service/metrics.hpp"
#include "service/openapi.hpp"
#include "service/routes.hpp"

namespace crawl::service {
namespace {

struct Unreachable {
  int opened = 0;
  Connections connections{[this]() -> Result<queue::Queue> {
    ++opened;
    return fail(ErrorKind::connection, "redis://127.0.0.1:1/0: connection refused");
  }};
};

Request post(const std::string& path, const std::string& body,
             const std::string& type = "application/json") {
  Request r;
  r.method = "POST";
  r.path = path;
  r.body = body;
  r.headers["content-type"] = type;
  return r;
}

std::string error_of(const Response& r) {
  return nlohmann::json::parse(r.body).at("error").get<std::string>();
}

TEST(ServiceRoutes, UnknownRoutesMethodsAndBodiesAreRefusedBeforeRedis) {
  Unreachable redis;
  Routes routes(redis.connections, ServiceOptions{});
  Request get;
  get.method = "GET";
  get.path = "/nowhere";
  const Response not_found = routes.handle(get);
  EXPECT_EQ(not_found.status, 404);
  // Every response, an error too, carries the security headers.
  EXPECT_NE(std::find_if(not_found.headers.begin(), not_found.headers.end(),
                         [](const auto& h) { return h.first == "Content-Security-Policy"; }),
            not_found.headers.end());
  get.path = "/jobs/a%20b";  // not a job id
  EXPECT_EQ(routes.handle(get).status, 404);
  get.path = "/jobs/1/pause";
  const Response wrong_method = routes.handle(get);
  EXPECT_EQ(wrong_method.status, 405);
  ASSERT_FALSE(wrong_method.headers.empty());
  EXPECT_EQ(wrong_method.headers[0], (std::pair<std::string, std::string>{"Allow", "POST"}));
  Request head = get;
  head.method = "HEAD";
  head.path = "/";
  EXPECT_EQ(routes.handle(head).status, 200);  // HEAD is GET without the body
  EXPECT_EQ(routes.handle(post("/jobs", "{}", "text/plain")).status, 415);
  EXPECT_EQ(routes.handle(post("/jobs", "{\"urls\": [")).status, 400);
  EXPECT_EQ(routes.handle(post("/jobs", std::string(9u << 20, ' '))).status, 413);
  const Response bad = routes.handle(post("/", R"({"urls": ["http://a.example/", "mailto:x"]})"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(error_of(bad).find("urls[1]"), std::string::npos) << bad.body;
  EXPECT_EQ(redis.opened, 0);
  // Valid, and Redis cannot be reached: 503, and the next request is told at once.
  EXPECT_EQ(routes.handle(post("/jobs", R"({"urls": ["http://a.example/"]})")).status, 503);
  get.path = "/jobs/7";
  EXPECT_EQ(routes.handle(get).status, 503);
  EXPECT_EQ(redis.opened, 1);
}

TEST(ServiceRoutes, AccessNeedsItsHostNameItsTokenAndTheSameOrigin) {
  Unreachable redis;
  Routes routes(redis.connections, ServiceOptions{});
  routes.set_access(Access{{"127.0.0.1:8080", "localhost:8080"}, "0123456789abcdef0123"});
  Request r;
  r.method = "GET";
  r.path = "/jobs/7";
  r.headers["host"] = "evil.example:8080";
  EXPECT_EQ(routes.handle(r).status, 403);
  r.headers["host"] = "localhost:8080";
  const Response no_token = routes.handle(r);
  EXPECT_EQ(no_token.status, 401);
  r.headers["authorization"] = "Bearer 0123456789abcdef012";  // one character short
  EXPECT_EQ(routes.handle(r).status, 401);
  r.headers["authorization"] = "Bearer 0123456789abcdef0123";
  EXPECT_EQ(routes.handle(r).status, 503);  // through, to Redis
  r.path = "/";
  r.headers.erase("authorization");
  EXPECT_EQ(routes.handle(r).status, 200);  // the dashboard's page needs none
  Request p = post("/jobs/7/pause", "");
  p.headers["host"] = "localhost:8080";
  p.headers["authorization"] = "Bearer 0123456789abcdef0123";
  p.headers["origin"] = "http://evil.example";
  EXPECT_EQ(routes.handle(p).status, 403);
  p.headers["origin"] = "http://localhost:8080";
  p.headers["sec-fetch-site"] = "same-site";
  EXPECT_EQ(routes.handle(p).status, 403);
  p.headers["sec-fetch-site"] = "same-origin";
  EXPECT_EQ(routes.handle(p).status, 503);
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abd", "abc"));
  EXPECT_FALSE(same_secret("abcd", "abc"));
  EXPECT_FALSE(same_secret("", "abc"));
}

TEST(ServiceRoutes, AJobRequestTakesEveryOptionByItsFieldAndNamesWhatIsWrong) {
  JobRequest job;
  config::JobDefaults defaults;
  defaults.options.max_retries = 7;
  const auto body = nlohmann::json::parse(R"({
      "urls": ["http://a.example/", " http://b.example/x#frag "],
      "name": "n", "scope": "domain", "max_depth": 3, "delay_ms": "1500ms",
      "respect_robots": false, "deny": ["\\.pdf$"], "max_crawl_delay_ms": 60000})");
  ASSERT_TRUE(read_job_request(body, defaults, 10, job));
  EXPECT_EQ(job.options.scope, policy::Scope::domain);
  EXPECT_EQ(job.options.max_depth, 3);
  EXPECT_EQ(job.options.delay, std::chrono::milliseconds(1500));
  EXPECT_FALSE(job.options.respect_robots);
  EXPECT_EQ(job.options.deny, std::vector<std::string>{"\\.pdf$"});
  EXPECT_EQ(job.options.max_crawl_delay, std::chrono::minutes(1));
  EXPECT_EQ(job.options.max_retries, 7);  // the hosts file's, not given
  ASSERT_EQ(job.seeds.links.size(), 2U);
  EXPECT_EQ(job.seeds.links[1].url, "http://b.example/x");
  // Moving the request keeps its seeds' views valid (the URLs live in a deque).
  JobRequest moved = std::move(job);
  EXPECT_EQ(moved.seeds.links[0].url, "http://a.example/");

  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {R"({"urls": ["http://a.example/"], "max_depth": "3"})", "max_depth: expected a whole"},
           {R"({"urls": ["http://a.example/"], "max_depth": -1})", "max_depth: -1 is out of range"},
           {R"({"urls": ["http://a.example/"], "scope": "planet"})", "scope: must be host, domain"},
           {R"({"urls": ["http://a.example/"], "respect_robots": 0})", "respect_robots: expected"},
           {R"({"urls": ["http://a.example/"], "delay_ms": "soon"})", "delay_ms: 'soon'"},
           {R"({"urls": ["http://a.example/"], "delay_ms": "1000"})", "needs its unit"},
           {R"({"urls": ["http://a.example/"], "notify": "ftp://x/"})", "notify: 'ftp://x/'"},
           {R"({"urls": ["http://a.example/"], "allow": "x"})", "allow: expected a list"},
           {R"({"urls": ["http://a.example/"], "name": 5})", "name: expected a string"},
           {R"({"urls": "http://a.example/"})", "urls: expected a list"},
           {R"({"urls": ["http://a.example/", "", 3]})", "urls[1]: empty"},
           {R"([1])", "a JSON object"},
           {R"({"urls": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]})", "at most 10"},
       }) {
    JobRequest r;
    auto read = read_job_request(nlohmann::json::parse(text), defaults, 10, r);
    ASSERT_FALSE(read) << text;
    EXPECT_NE(read.error().message.find(says), std::string::npos) << read.error().message;
  }
}

TEST(ServiceRoutes, TheOpenApiDocumentListsEveryRouteAndEveryJobOption) {
  const auto doc = openapi_document(100);
  for (const auto& route : Routes::routes()) {
    std::string method(route.method);
    for (auto& c : method) c = static_cast<char>(std::tolower(c));
    EXPECT_TRUE(doc["paths"][std::string(route.path)].contains(method)) << route.path;
  }
  const auto& properties = doc["components"]["schemas"]["JobRequest"]["properties"];
  for (const auto& option : policy::job_options())
    EXPECT_TRUE(properties.contains(std::string(option.field))) << option.field;
}

}  // namespace
}  // namespace crawl::service

namespace crawl::service {
namespace {

// Names from anyone (a job's name, a host, an error reason) cannot break the metrics text:
// promtool, the Prometheus project's own checker, reads it, and the values come out as written.
TEST(ServiceMetrics, HostileNamesStayInsideTheirLabelsAndPromtoolPassesTheText) {
  status::Snapshot s;
  s.at_ms = 1'700'000'000'000;
  queue::JobInfo job;
  job.id = "7";
  job.name = "a \"quoted\" name\\ with a\nline break and \xff bad bytes";
  job.state = "running";
  job.stats = {{"submitted", 10},
               {"queued", 4},
               {"done", 6},
               {"failed:http_5\"03", 2},
               {"dropped:links", 3}};
  s.jobs.push_back(job);
  queue::WorkerInfo w;
  w.id = "h\"1/1";
  w.report.host = "h\"1\n";
  w.report.pages = 5;
  w.report.rate = 2.5;
  w.report.errors = {{"time\\out", 1}};
  w.heartbeat_age_ms = 1500;
  s.workers.push_back(w);
  const status::Verdict v = status::judge(s, nullptr);
  RedisProbe redis;
  redis.up = true;
  redis.round_trip_seconds = 0.00025;
  redis.used_memory_bytes = 1 << 20;
  const std::string text = metrics_text(&s, &v, redis);

  EXPECT_NE(text.find("crawl_job_info{job=\"7\",name=\"a \\\"quoted\\\" name\\\\ with a\\nline "
                      "break and \xef\xbf\xbd bad bytes\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("crawl_worker_pages_total{worker=\"h\\\"1/1\",host=\"h\\\"1\\n\"} 5\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("crawl_worker_pages_per_second{worker=\"h\\\"1/1\",host=\"h\\\"1\\n\"} 2.5\n"),
      std::string::npos);
  EXPECT_NE(text.find("crawl_worker_heartbeat_age_seconds{worker=\"h\\\"1/1\",host=\"h\\\"1\\n\"} "
                      "1.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("crawl_redis_round_trip_seconds 0.00025\n"), std::string::npos);
  EXPECT_NE(text.find("crawl_redis_used_memory_bytes 1048576\n"), std::string::npos);
  EXPECT_EQ(text.find("crawl_job_eta_seconds"), std::string::npos) << "a family with no sample";
  EXPECT_EQ(metrics_text(nullptr, nullptr, RedisProbe{}),
            "# HELP crawl_redis_up 1 when Redis answered this scrape\n"
            "# TYPE crawl_redis_up gauge\ncrawl_redis_up 0\n");

  const std::string path = ::testing::TempDir() + "crawl-metrics-test.txt";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string command = "promtool check metrics < '" + path + "' 2>&1";
  std::FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string said;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, p)) > 0;) said.append(buffer, n);
  EXPECT_EQ(pclose(p), 0) << said << "\n" << text;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace crawl::service
