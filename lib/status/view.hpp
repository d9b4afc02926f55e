#pragma once
// What `crawlctl status` shows, apart from how it is fetched: one snapshot of jobs, workers
// and (with --hosts) hosts; the judgement of it (which workers are dead or missing, which jobs
// failed URLs); and its renderings as a table, as plain lines for --watch without a terminal,
// and as JSON. Pure: unit-tested without Redis or SSH.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_writer.hpp"
#include "deploy/plan.hpp"
#include "fanout/remote.hpp"
#include "queue/queue.hpp"

namespace crawl::status {

// Exit status bits of `crawlctl status` (README.md).
inline constexpr int k_exit_workers_missing = 4;
inline constexpr int k_exit_jobs_failed = 8;

// What one host said about its workers (status --hosts).
struct HostView {
  std::string name;
  int expected = 0;  // workers the hosts file gives it
  fanout::Outcome outcome = fanout::Outcome::ok;
  std::string message;  // why it could not be asked
  deploy::Inspection inspection;
};

struct Snapshot {
  std::int64_t at_ms = 0;  // the Redis server's clock
  std::vector<queue::JobInfo> jobs;
  std::vector<queue::WorkerInfo> workers;
  std::map<std::string, long long> returned;  // leases this status run returned, by worker
  bool with_hosts = false;
  std::vector<HostView> hosts;
  long long dead_letters = 0;  // frontier entries ever found unreadable (P:deadletters)
  // With --sites: the named job's busiest sites (most queued first).
  bool with_sites = false;
  std::vector<queue::SiteInfo> sites;
  queue::Replication redis;  // the server this snapshot was read from
};

struct WorkerRow {
  std::string id, host;
  const queue::WorkerInfo* beat = nullptr;  // its heartbeat, if Redis has one (in the snapshot)
  std::optional<deploy::WorkerProcess> process;  // with --hosts, if the host has its files
  std::string host_problem;                      // with --hosts: the host could not be asked
  std::int64_t host_now = 0;                     // the host's clock (s), for log ages
  std::string state;       // running, draining, starting, dead, missing, unreachable
  bool problem = false;    // dead, missing, or unreachable without a live heartbeat
  std::string why;         // for a problem: what was seen
  double log_growth = -1;  // bytes/s since the previous snapshot; -1 unknown
};

struct Verdict {
  std::vector<WorkerRow> rows;  // sorted by worker id
  bool workers_missing = false;
  bool jobs_failed = false;
  std::vector<std::string> problems;  // one sentence each
};

// The job's display state: broken (its options cannot be read), cancelled, submitting (seeds
// are still being added, or the submit was cut short), finished, paused, in progress or queued.
std::string job_state(const queue::JobInfo& job);
// Seconds until queued and in-flight URLs are done at the last minute's rate; nullopt when
// the job is not running or has no rate yet. URLs discovered later are not counted.
std::optional<double> eta_seconds(const queue::JobInfo& job);

Verdict judge(const Snapshot& now, const Snapshot* previous);
// `status --json`: the job (or the jobs), Redis, the workers, the hosts and the problems, as JSON
// text (indent < 0: on one line). Written straight as text, not built as a document first: at
// 10,000 workers that was most of the command's time.
std::string to_json(const Snapshot& s, const Verdict& v, const std::string& job, int indent = 2);
// The same, written through `out` (to a stream as it goes, say).
void write_json(JsonWriter& out, const Snapshot& s, const Verdict& v, const std::string& job);
// Its parts: one job (state, counters, rate, ETA, sites), the workers' table.
nlohmann::ordered_json job_json(const queue::JobInfo& job);
// A job's options by their fields (policy/job_options.hpp): numbers (durations in ms), booleans,
// the scope's name, patterns as lists. The shape POST /jobs takes.
// The notify URL is shown as its origin only ("https://hooks.example/..."): webhook URLs carry
// their secret in the path or the query.
nlohmann::ordered_json options_json(const policy::JobOptions& options);
std::string redact_url(const std::string& url);
// The workers' table as a JSON array, written where `out` stands.
void write_workers(JsonWriter& out, const Snapshot& s, const Verdict& v);
std::string render(const Snapshot& s, const Verdict& v, const std::string& job);
// "redis: primary 10.0.0.5:6379 (named by the Sentinels), 2 of 2 replicas in sync"; "" for a
// lone server reached without Sentinels.
std::string redis_text(const queue::Replication& redis);
std::string render_lines(const Snapshot& s, const Verdict& v);
// One site as status --sites shows it: when it may next be fetched, and why not before.
std::string site_next_text(const queue::SiteInfo& site, std::int64_t now_ms);
nlohmann::ordered_json site_json(const queue::SiteInfo& site, std::int64_t now_ms);

}  // namespace crawl::status
