#include "crawl_cluster.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace crawl::testing {

CommandResult run_program(const std::string& program, const std::vector<std::string>& args,
                          const TempDir& scratch, std::chrono::milliseconds timeout) {
  static int counter = 0;
  const std::string base = scratch / ("cmd" + std::to_string(++counter));
  std::vector<std::string> argv{"sh", "-c", "exec \"$0\" \"$@\" 2>\"$CRAWL_STDERR\"", program};
  argv.insert(argv.end(), args.begin(), args.end());
  // What crawlctl keeps between runs (the fleet commands' reports) stays in the test's scratch.
  const int rc =
      run_command({argv,
                   base + ".out",
                   {"CRAWL_STDERR=" + base + ".err", "XDG_STATE_HOME=" + (scratch / "state")}},
                  timeout);
  return {rc, read_text(base + ".out"), read_text(base + ".err")};
}

std::vector<std::string> compare_with_manifest(const std::string& jsonl, const Manifest& m) {
  std::vector<std::string> problems;
  std::map<std::string, nlohmann::json> records;
  std::size_t start = 0;
  while (start < jsonl.size()) {
    const std::size_t end = jsonl.find('\n', start);
    const std::string line = jsonl.substr(start, end - start);
    start = end == std::string::npos ? jsonl.size() : end + 1;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      problems.push_back("unparsable record: " + line);
      continue;
    }
    const std::string url = j.value("url", "");
    if (!records.emplace(url, j).second) problems.push_back("two records for " + url);
  }
  for (const ManifestEntry& e : m.entries) {
    auto it = records.find(e.url);
    if (it == records.end()) {
      problems.push_back("no record for " + e.url + " (expected " + e.expect + ":" + e.reason +
                         ")");
      continue;
    }
    const nlohmann::json& r = it->second;
    auto differ = [&](const std::string& field, const auto& want, const auto& got) {
      if (!(want == got))
        problems.push_back(e.url + ": " + field + " is " + nlohmann::json(got).dump() +
                           ", manifest says " + nlohmann::json(want).dump());
    };
    differ("outcome", e.expect, r.value("outcome", ""));
    differ("reason", e.reason, r.value("reason", ""));
    if (e.expect == "filtered") continue;
    differ("status", e.status, r.value("status", -1));
    differ("final_url", e.final_url, r.value("final_url", ""));
    if (e.expect != "done") continue;
    differ("content_type", e.content_type, r.value("content_type", ""));
    differ("truncated", e.truncated, r.value("truncated", false));
    differ("title", e.title, r.value("title", ""));
    differ("canonical", e.canonical, r.value("canonical", ""));
    if (!e.encoding.empty()) differ("encoding", e.encoding, r.value("encoding", ""));
    if (!e.encoding_from.empty())
      differ("encoding_from", e.encoding_from, r.value("encoding_from", ""));
    std::vector<std::string> images = r.value("images", std::vector<std::string>{});
    std::sort(images.begin(), images.end());
    differ("images", e.images, images);
    records.erase(it);
  }
  for (const ManifestEntry& e : m.entries) records.erase(e.url);
  for (const auto& [url, r] : records)
    problems.push_back("record for a URL the manifest lacks: " + url);
  return problems;
}

CrawlCluster::CrawlCluster(SiteOptions site, int concurrency, ServerOptions server,
                           std::string redis_url)
    : m_site(std::move(site), server),
      m_redis_url(redis_url.empty() ? m_redis.url() : std::move(redis_url)) {
  const SiteOptions& o = m_site.manifest().options;
  m_config = m_dir / "worker.yaml";
  write_text(m_config,
             "redis:\n  url: " + m_redis_url +
                 "\n"
                 "worker:\n"
                 "  concurrency: " +
                 std::to_string(concurrency) +
                 "\n"
                 "  parse_threads: 1\n"
                 "  robots_agent: " +
                 o.robots_agent +
                 "\n"
                 "  max_body: " +
                 std::to_string(o.body_cap) +
                 "\n"
                 "  max_redirects: " +
                 std::to_string(o.max_redirects) +
                 "\n"
                 "  connect_timeout: 2s\n"
                 "  timeout: 3s\n"
                 "  low_speed_bytes: 100\n"
                 "  low_speed_time: 2s\n"
                 "  heartbeat_interval: 250ms\n"
                 "  heartbeat_ttl: 1500ms\n"
                 "  warc_dir: " +
                 warc_dir() + "\n",
             0600);
}

CrawlCluster::~CrawlCluster() {
  for (auto& w : m_workers) w.stop(15s);
}

std::size_t CrawlCluster::start_worker(const std::string& id) {
  m_workers.emplace_back(
      SpawnOptions{{CRAWLWORKER, "--config", m_config, "--id", id, "--drain-timeout", "5s"},
                   worker_log(id),
                   {}});
  return m_workers.size() - 1;
}

CommandResult CrawlCluster::crawlctl(const std::vector<std::string>& args) {
  std::vector<std::string> full = args;
  full.push_back("--redis");
  full.push_back(m_redis_url);
  return run_program(CRAWLCTL, full, m_dir);
}

std::string CrawlCluster::redis_cli(const std::vector<std::string>& args) {
  std::vector<std::string> full{"-p", std::to_string(m_redis.port())};
  full.insert(full.end(), args.begin(), args.end());
  return run_program("redis-cli", full, m_dir).out;
}

std::string CrawlCluster::submit_root(const std::vector<std::string>& extra) {
  std::vector<std::string> args{"submit", m_site.root_url(), "--retries", "1", "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  // The test site is ours: fast settings, unless the test asks for its own.
  auto given = [&](const char* flag) {
    return std::find(extra.begin(), extra.end(), flag) != extra.end();
  };
  if (!given("--delay")) args.insert(args.end(), {"--delay", "0"});
  if (!given("--host-concurrency")) args.insert(args.end(), {"--host-concurrency", "16"});
  CommandResult r = crawlctl(args);
  if (r.rc != 0) throw std::runtime_error("submit failed: " + r.err);
  std::string id = r.out;
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

std::map<std::string, long long> CrawlCluster::counters(const std::string& job) {
  CommandResult r = crawlctl({"status", job, "--json"});
  // 4 and 8 are verdicts (a worker missing, failed URLs), not errors.
  if (r.rc != 0 && r.rc != 4 && r.rc != 8 && r.rc != 12)
    throw std::runtime_error("status failed: " + r.err);
  return nlohmann::json::parse(r.out)["counters"].get<std::map<std::string, long long>>();
}

bool CrawlCluster::wait_finished(const std::string& job, std::chrono::milliseconds timeout) {
  // The operator's way: crawlctl wait, which exits 0 when the job is finished.
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  CommandResult r = run_program(CRAWLCTL,
                                {"wait", job, "--quiet", "--interval", "100ms", "--timeout",
                                 std::to_string(seconds) + "s", "--redis", m_redis_url},
                                m_dir, timeout + 10s);
  return r.rc == 0;
}

std::string CrawlCluster::results(const std::string& job) {
  CommandResult r = crawlctl({"results", job});
  if (r.rc != 0) throw std::runtime_error("results failed: " + r.err);
  return r.out;
}

}  // namespace crawl::testing
