// The failover benchmark: a crawl of the test site by W workers through Redis Sentinel (a
// primary, two replicas, three Sentinels on loopback), with the primary kill -9'd once a fifth
// of the pages are recorded. Measured, per run:
//   promoted   time from the kill to a replica saying it is the primary (ROLE)
//   recording  time from the kill to the first page recorded on the new primary
//   switches   +switch-master lines in the Sentinels' logs: 3 for one promotion seen by all three
//   requests   requests the site served for the whole crawl (its access log), against a run
//              of the same crawl without a failover: the difference is what the failover cost
//              in fetches made again (lost claims and records, leases reaped)
// Runs: one without a failover, then `runs` with it under asynchronous replication and `runs`
// with redis.wait_replicas 1. Every run must end with the results equal to the manifest; one
// that does not prints what differs, the status, the workers' Redis events and the Sentinels'
// logs.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "crawl_checks.hpp"
#include "crawl_cluster.hpp"
#include "queue/redis.hpp"
#include "redis_sentinel_set.hpp"

using namespace crawl::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int pages = 2000;
  int workers = 4;
  int runs = 3;
  int down_after_ms = 1000;
};

long long done_on(int port) {
  crawl::queue::RedisUrl url;
  url.host = "127.0.0.1";
  url.port = port;
  url.display = "127.0.0.1:" + std::to_string(port);
  auto redis = crawl::queue::Redis::connect(url, 200ms);
  if (!redis) return -1;
  auto r = redis->command({"HGET", "crawl:job:1:stats", "done"});
  return r && r->type == crawl::queue::Reply::Type::string ? std::stoll(r->str) : -1;
}

std::size_t lines(const std::string& path) {
  const std::string text = read_text(path);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

struct Run {
  bool ok = false;
  int switches = 0;  // +switch-master events the Sentinels logged (one failover: one each)
  double promoted_ms = -1, recording_ms = -1;
  std::size_t requests = 0;
};

Run run_once(const Options& o, bool fail_over, int wait_replicas) {
  SentinelSetOptions so;
  so.down_after = std::chrono::milliseconds(o.down_after_ms);
  RedisSentinelSet set(so);
  ServerOptions server;
  server.access_log = true;
  CrawlCluster cluster(test_site_options(o.pages), 16, server, set.url());
  if (wait_replicas > 0) {
    std::string config = read_text(cluster.config_path());
    const std::string at = "redis:\n";
    config.insert(config.find(at) + at.size(),
                  "  wait_replicas: " + std::to_string(wait_replicas) + "\n");
    write_text(cluster.config_path(), config, 0600);
  }
  for (int i = 0; i < o.workers; ++i) cluster.start_worker("w" + std::to_string(i + 1));
  const std::string job = cluster.submit_root();
  Run run;
  if (fail_over) {
    if (!wait_until([&] { return cluster.counters(job)["done"] >= o.pages / 5; }, 120s)) return run;
    const auto killed = Clock::now();
    set.server(0).kill_hard();
    long long at_promotion = -1;
    int promoted = -1;
    while (Clock::now() - killed < 60s) {
      if (promoted < 0) {
        promoted = set.primary();
        if (promoted == 0) promoted = -1;
        if (promoted > 0) {
          run.promoted_ms =
              std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
          at_promotion = done_on(set.server(static_cast<std::size_t>(promoted)).port());
        }
      } else {
        const long long now = done_on(set.server(static_cast<std::size_t>(promoted)).port());
        if (now > at_promotion) {
          run.recording_ms =
              std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
          break;
        }
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  if (!cluster.wait_finished(job, 300s)) return run;
  const auto problems = compare_with_manifest(cluster.results(job), cluster.site().manifest());
  run.ok = problems.empty();
  for (std::size_t i = 0; i < problems.size() && i < 10; ++i)
    std::fprintf(stderr, "  %s\n", problems[i].c_str());
  const auto counters = cluster.counters(job);
  if (!run.ok) {
    std::fprintf(stderr, "the server that says it is the primary: %d; crawlctl status:\n%s\n",
                 set.primary(), cluster.crawlctl({"status", job}).out.c_str());
    for (int i = 0; i < o.workers; ++i) {
      const std::string log = read_text(cluster.worker_log("w" + std::to_string(i + 1)));
      std::size_t at = 0;
      while ((at = log.find("event=redis_", at)) != std::string::npos) {
        const std::size_t end = log.find('\n', at);
        std::fprintf(stderr, "  w%d %s\n", i + 1, log.substr(at, end - at).substr(0, 300).c_str());
        at = end;
      }
    }
    for (std::size_t i = 0; i < set.size(); ++i)
      std::fprintf(stderr, "server %zu port %d\n", i, set.server(i).port());
    std::fprintf(stderr, "%s\n", set.sentinel_logs().c_str());
  }
  for (const char* c : {"submitted", "queued", "in_flight", "done", "failed", "filtered"})
    if (!run.ok) std::fprintf(stderr, "  %s=%lld\n", c, counters.count(c) ? counters.at(c) : -1);
  run.requests = lines(cluster.site().access_log());
  const std::string logs = set.sentinel_logs();
  for (std::size_t at = logs.find("+switch-master"); at != std::string::npos;
       at = logs.find("+switch-master", at + 1))
    ++run.switches;
  // More than one promotion (one +switch-master per Sentinel each): what the Sentinels said.
  if (run.ok && run.switches > static_cast<int>(set.sentinel_ports().size()))
    std::fprintf(stderr, "more than one promotion:\n%s\n", logs.c_str());
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("Redis failover during a crawl: recovery time and fetches made again");
  app.add_option("--pages", o.pages, "Pages of the test site")->capture_default_str();
  app.add_option("--workers", o.workers, "crawlworker processes")->capture_default_str();
  app.add_option("--runs", o.runs, "Failover runs per setting")->capture_default_str();
  app.add_option("--down-after", o.down_after_ms, "Sentinel down-after-milliseconds")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const Run base = run_once(o, false, 0);
  std::printf("without a failover: %zu requests, results %s\n", base.requests,
              base.ok ? "exact" : "WRONG");
  for (const int wait : {0, 1}) {
    for (int i = 0; i < o.runs; ++i) {
      const Run r = run_once(o, true, wait);
      std::printf(
          "failover, wait_replicas %d, run %d: promoted after %.0f ms, first page recorded on the "
          "new primary after %.0f ms, %zu requests (%+lld against no failover), results %s, "
          "%d +switch-master logged by the Sentinels\n",
          wait, i + 1, r.promoted_ms, r.recording_ms, r.requests,
          static_cast<long long>(r.requests) - static_cast<long long>(base.requests),
          r.ok ? "exact" : "WRONG", r.switches);
      std::fflush(stdout);
    }
  }
  return 0;
}
