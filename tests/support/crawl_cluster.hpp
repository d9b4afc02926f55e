#pragma once
// A crawl on loopback for tests: redis-server, the test site, crawlworker processes and the
// crawlctl commands an operator runs, with the results compared against the site's manifest.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"
#include "redis_server.hpp"
#include "test_site.hpp"

namespace crawl::testing {

struct CommandResult {
  int rc = 0;
  std::string out, err;
};

// Runs `program` with `args`, stdout and stderr captured apart.
CommandResult run_program(const std::string& program, const std::vector<std::string>& args,
                          const TempDir& scratch, std::chrono::milliseconds timeout = 120s);

// Every difference between a job's result records (JSON Lines) and the manifest, one per
// line; empty when they agree exactly (each URL once, same outcome, reason, status, final URL,
// content type, truncation, title and images).
std::vector<std::string> compare_with_manifest(const std::string& jsonl, const Manifest& manifest);

class CrawlCluster {
 public:
  // The worker config: short timeouts so the slow and trickling pages fail fast. With
  // `redis_url` (e.g. a RedisSentinelSet's), workers and commands use that Redis instead of the
  // cluster's own.
  CrawlCluster(SiteOptions site = {}, int concurrency = 16, ServerOptions server = {},
               std::string redis_url = "");
  ~CrawlCluster();

  RedisServer& redis() { return m_redis; }
  const std::string& redis_url() const { return m_redis_url; }
  TestSite& site() { return m_site; }
  const std::string& config_path() const { return m_config; }
  std::string warc_dir() const { return m_dir / "warc"; }  // the workers' worker.warc_dir

  // Starts worker "w<n>" (its log in the scratch dir) and returns its index.
  std::size_t start_worker(const std::string& id);
  Process& worker(std::size_t i) { return m_workers.at(i); }
  std::string worker_log(const std::string& id) const { return m_dir / (id + ".log"); }

  CommandResult crawlctl(const std::vector<std::string>& args);
  // A command to the cluster's Redis through redis-cli; returns what it printed.
  std::string redis_cli(const std::vector<std::string>& args);
  // Submits the test site's root (a site of ours: --delay 0 --host-concurrency 16 unless `extra`
  // says otherwise); returns the job id.
  std::string submit_root(const std::vector<std::string>& extra = {});
  std::map<std::string, long long> counters(const std::string& job);
  // Polls status until the job is finished or `timeout` passes.
  bool wait_finished(const std::string& job, std::chrono::milliseconds timeout = 120s);
  std::string results(const std::string& job);

 private:
  RedisServer m_redis{RedisOptions{.append_only = true, .password = "", .extra_config = ""}};
  TestSite m_site;
  std::string m_redis_url;
  TempDir m_dir{"cluster"};
  std::string m_config;
  std::vector<Process> m_workers;
};

}  // namespace crawl::testing
