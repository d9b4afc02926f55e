// The many-sites benchmark: how close a polite crawl of S sites comes to its politeness bound,
// and how soon a second job gets its first fetch. In one run, on loopback:
//   1. unthrottled: S sites x P pages with --delay 0 --host-concurrency 64 (the fleet's own
//      rate on these sites);
//   2. polite: the same shape on fresh sites with --delay D (host_concurrency 1); midway a
//      second job of J idle sites is submitted, and the time from its submit to the first
//      request at one of its sites is measured at the servers.
// Requests are counted at the servers (robots.txt included: it takes the site's slot like a
// page), over the span from the first request to the last. The bound is min(what the delay
// allows, S x (P + 2) requests in (P + 1) x D, about S / D; the unthrottled rate). Servers, Redis
// and workers are started here and stopped at exit.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "crawl_cluster.hpp"
#include "http_server.hpp"

using namespace crawl::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int sites = 200;
  int pages = 10;
  int delay_ms = 1000;
  int workers = 2;
  int concurrency = 32;
  int latency_ms = 20;
  int second_sites = 20;
  int second_pages = 2;
};

using Sites = std::vector<std::unique_ptr<HttpServer>>;
Sites make_sites(int n, int pages, std::chrono::milliseconds latency) {
  Sites s;
  for (int i = 0; i < n; ++i) s.push_back(link_site(pages, latency));
  return s;
}

struct Span {
  std::size_t requests = 0;
  Clock::time_point first = Clock::time_point::max(), last = Clock::time_point::min();
  int max_in_flight = 0;
  std::vector<double> gaps_ms;
  std::vector<double> site_first_ms, site_span_ms;  // each site's first request, and its span
  double seconds() const { return std::chrono::duration<double>(last - first).count(); }
  double rate() const { return seconds() > 0 ? static_cast<double>(requests - 1) / seconds() : 0; }
};
Span span(const Sites& sites) {
  Span s;
  for (const auto& site : sites) {
    std::vector<Clock::time_point> starts;
    for (const auto& hit : site->hits()) {
      ++s.requests;
      s.first = std::min(s.first, hit.start);
      s.last = std::max(s.last, hit.start);
      starts.push_back(hit.start);
    }
    std::sort(starts.begin(), starts.end());
    if (!starts.empty()) {
      s.site_first_ms.push_back(
          std::chrono::duration<double, std::milli>(starts.front().time_since_epoch()).count());
      s.site_span_ms.push_back(
          std::chrono::duration<double, std::milli>(starts.back() - starts.front()).count());
    }
    for (std::size_t i = 1; i < starts.size(); ++i)
      s.gaps_ms.push_back(
          std::chrono::duration<double, std::milli>(starts[i] - starts[i - 1]).count());
    s.max_in_flight = std::max(s.max_in_flight, site->max_in_flight());
  }
  std::sort(s.gaps_ms.begin(), s.gaps_ms.end());
  return s;
}

// "min 990, p1 998, median 1012, p90 1050, max 1200 ms" of a site's gaps between request starts.
std::string gaps_text(const Span& s) {
  if (s.gaps_ms.empty()) return "no gaps";
  auto at = [&](double q) {
    return s.gaps_ms[static_cast<std::size_t>(q * static_cast<double>(s.gaps_ms.size() - 1))];
  };
  char out[160];
  std::snprintf(
      out, sizeof out,
      "gaps between a site's requests: min %.0f, p1 %.0f, median %.0f, p90 %.0f, max %.0f ms",
      s.gaps_ms.front(), at(0.01), at(0.5), at(0.9), s.gaps_ms.back());
  return out;
}

std::string submit(CrawlCluster& cluster, const Sites& sites, std::vector<std::string> flags) {
  std::vector<std::string> args{"submit", "--quiet"};
  for (const auto& site : sites) args.push_back(site->url("/"));
  args.insert(args.end(), flags.begin(), flags.end());
  CommandResult r = cluster.crawlctl(args);
  if (r.rc != 0) throw std::runtime_error("submit failed: " + r.err);
  return r.out.substr(0, r.out.find('\n'));
}

SiteOptions unused_site() {
  SiteOptions o;
  o.pages = 20;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sites_bench: a polite crawl of many sites against its politeness bound"};
  Options o;
  app.add_option("--sites", o.sites, "Sites of the first job");
  app.add_option("--pages", o.pages, "Pages linked from each site's root");
  app.add_option("--delay-ms", o.delay_ms, "The polite run's --delay");
  app.add_option("--workers", o.workers, "crawlworker processes");
  app.add_option("--concurrency", o.concurrency, "Requests in flight per worker");
  app.add_option("--latency-ms", o.latency_ms, "Each site's answer time");
  app.add_option("--second-sites", o.second_sites, "Idle sites of the job submitted midway");
  app.add_option("--second-pages", o.second_pages, "Pages linked from each of their roots");
  CLI11_PARSE(app, argc, argv);
  const auto latency = std::chrono::milliseconds(o.latency_ms);
  const long long per_site = o.pages + 2;  // robots.txt, the root, its pages

  CrawlCluster cluster(unused_site(), o.concurrency);
  for (int i = 1; i <= o.workers; ++i) cluster.start_worker("w" + std::to_string(i));
  std::printf(
      "%d sites x %d pages (+ root and robots.txt), %d ms answers; %d workers x %d requests\n",
      o.sites, o.pages, o.latency_ms, o.workers, o.concurrency);

  // 1. Unthrottled.
  Sites fast = make_sites(o.sites, o.pages, latency);
  const std::string fast_job = submit(cluster, fast, {"--delay", "0", "--host-concurrency", "64"});
  if (!cluster.wait_finished(fast_job, 600s))
    throw std::runtime_error("the unthrottled job did not finish");
  const Span f = span(fast);
  std::printf(
      "unthrottled (--delay 0 --host-concurrency 64): %zu requests in %.2f s = %.0f requests/s; "
      "most in flight at one site %d\n",
      f.requests, f.seconds(), f.rate(), f.max_in_flight);

  // 2. Polite, with a second job midway.
  Sites polite = make_sites(o.sites, o.pages, latency);
  Sites second = make_sites(o.second_sites, o.second_pages, latency);
  const std::string delay = std::to_string(o.delay_ms) + "ms";
  const std::string job = submit(cluster, polite, {"--delay", delay});
  const auto bound_time = std::chrono::milliseconds(o.delay_ms * (per_site - 1));
  std::this_thread::sleep_for(bound_time / 2);
  const auto second_submit = Clock::now();
  const std::string job2 = submit(cluster, second, {"--delay", delay});
  if (!cluster.wait_finished(job2, 600s)) throw std::runtime_error("the second job did not finish");
  const auto second_done = Clock::now();
  if (!cluster.wait_finished(job, 600s)) throw std::runtime_error("the polite job did not finish");
  const Span p = span(polite), s = span(second);
  // At most one request per delay at each site: the crawl takes at least (per_site - 1) delays,
  // so its rate is at most S * per_site / ((per_site - 1) * d) (S / d for a long crawl).
  const double delay_bound = o.sites * 1000.0 * static_cast<double>(per_site) /
                             (static_cast<double>(per_site - 1) * o.delay_ms);
  const double bound = std::min(delay_bound, f.rate());
  auto since_submit = [&](Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(t - second_submit).count();
  };
  std::printf(
      "polite (--delay %s, host_concurrency 1): %zu requests in %.2f s = %.1f requests/s; "
      "most in flight at one site %d\n",
      delay.c_str(), p.requests, p.seconds(), p.rate(), p.max_in_flight);
  std::printf("  %s\n", gaps_text(p).c_str());
  {
    auto [lo, hi] = std::minmax_element(p.site_first_ms.begin(), p.site_first_ms.end());
    auto [slo, shi] = std::minmax_element(p.site_span_ms.begin(), p.site_span_ms.end());
    std::printf(
        "  sites' first requests within %.0f ms of each other; a site's span %.0f to %.0f ms "
        "(bound %lld)\n",
        *hi - *lo, *slo, *shi, static_cast<long long>(o.delay_ms) * (per_site - 1));
  }
  std::printf(
      "bound min(the delay's %.1f, unthrottled %.0f) = %.1f requests/s; polite / bound = %.1f%%\n",
      delay_bound, f.rate(), bound, p.rate() / bound * 100);
  std::printf(
      "second job (%d idle sites x %d pages, submitted %.1f s in): first request %.0f ms after its "
      "submit; finished %.0f ms after it (its own bound: %lld ms from its first request)\n",
      o.second_sites, o.second_pages, std::chrono::duration<double>(bound_time / 2).count(),
      since_submit(s.first), since_submit(second_done),
      static_cast<long long>(o.delay_ms) * (o.second_pages + 1));
  return 0;
}
