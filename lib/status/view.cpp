#include "status/view.hpp"

#include <algorithm>
#include <ctime>
#include <unordered_map>

#include <fmt/core.h>
#include <fmt/format.h>

#include "core/text.hpp"
#include "deploy/plan.hpp"
#include "policy/job_options.hpp"
#include "status/text.hpp"

namespace crawl::status {

namespace {

using Liveness = queue::WorkerInfo::Liveness;

std::string errors_text(const queue::WorkerInfo& w) {
  // The most frequent first; among equals, the last by name first.
  std::vector<std::pair<std::uint64_t, const std::string*>> kinds;
  for (const auto& [reason, n] : w.report.errors) kinds.emplace_back(n, &reason);
  std::sort(kinds.begin(), kinds.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second > *b.second;
  });
  std::string out;
  for (std::size_t i = 0; i < kinds.size() && i < 3; ++i)
    out += fmt::format("{}{}:{}", out.empty() ? "" : " ", *kinds[i].second, kinds[i].first);
  if (kinds.size() > 3) out += fmt::format(" +{}", kinds.size() - 3);
  return out.empty() ? "-" : out;
}

std::string utc(std::int64_t ms) {
  return utc_text(ms, "%Y-%m-%dT%H:%M:%SZ");
}

std::string process_text(const WorkerRow& r) {
  if (!r.host_problem.empty()) return "host unreachable";
  if (!r.process) return "no process";
  const auto& p = *r.process;
  switch (p.state) {
    case deploy::WorkerProcess::State::running:
      return fmt::format("running pid {}", p.pid);
    case deploy::WorkerProcess::State::exited:
      return fmt::format("NOT RUNNING (pid {} gone)", p.pid);
    case deploy::WorkerProcess::State::none:
      return "NOT RUNNING";
  }
  return "?";
}

std::string log_text(const WorkerRow& r) {
  if (!r.process || r.process->log_bytes < 0) return "-";
  std::string out = human_bytes(static_cast<double>(r.process->log_bytes));
  if (r.host_now > 0 && r.process->log_mtime > 0)
    out += ", written " +
           human_duration(
               static_cast<double>(std::max<std::int64_t>(0, r.host_now - r.process->log_mtime))) +
           " ago";
  if (r.log_growth >= 0) out += fmt::format(", +{}/s", human_bytes(r.log_growth));
  return out;
}

// "12 sites with queued URLs: 3 ready, 8 waiting for their delay, 1 for a slot (2 backing off)"
std::string sites_text(const queue::JobInfo::Sites& s) {
  if (s.queued == 0) return "no site has queued URLs";
  std::string out =
      fmt::format("{} site{} with queued URLs: {} ready, {} waiting for their delay, {} for a slot",
                  s.queued, s.queued == 1 ? "" : "s", s.ready, s.waiting, s.for_slot);
  if (s.backing_off > 0) out += fmt::format(" ({} of them backing off)", s.backing_off);
  return out;
}

// "1,200 records waiting to be drained home: its claims wait until they are (crawlctl drain)"
std::string records_text(const queue::JobInfo& j) {
  const bool held = j.records_held();
  return fmt::format("{} record{} waiting in Redis to be drained home{}", j.records_waiting,
                     j.records_waiting == 1 ? "" : "s",
                     held ? ": at its records_backlog, its claims wait until they are (crawlctl "
                            "drain, wait, results or serve drain them)"
                          : "");
}

std::string when_text(std::int64_t at_ms, std::int64_t now_ms) {
  return at_ms <= now_ms ? "now"
                         : "in " + human_duration(static_cast<double>(at_ms - now_ms) / 1000.0);
}

}  // namespace

std::string site_next_text(const queue::SiteInfo& site, std::int64_t now_ms) {
  if (site.gone_until_ms > now_ms)
    return "given up for " +
           human_duration(static_cast<double>(site.gone_until_ms - now_ms) / 1000.0);
  if (site.for_slot) return "when a request ends";
  if (site.due_ms == 0) return "-";
  return when_text(site.due_ms, now_ms);
}

nlohmann::ordered_json site_json(const queue::SiteInfo& site, std::int64_t now_ms) {
  nlohmann::ordered_json out{
      {"site", site.site},
      {"queued", site.queued},
      {"in_flight", site.busy},
      {"waiting_for_slot", site.for_slot},
      {"next_ms", site.for_slot || site.due_ms == 0 ? nlohmann::ordered_json(nullptr)
                                                    : nlohmann::ordered_json(site.due_ms)},
      {"last_request_ms", site.last_ms},
      {"failures_in_a_row", site.failures},
      {"crawl_delay_ms", site.crawl_delay_ms}};
  if (site.backoff_until_ms > now_ms) {
    out["backoff_until_ms"] = site.backoff_until_ms;
    out["backoff_reason"] = site.backoff_reason;
  }
  if (site.gone_until_ms > now_ms) out["given_up_until_ms"] = site.gone_until_ms;
  return out;
}

std::string job_state(const queue::JobInfo& job) {
  if (!job.problem.empty() && !job.cancelled()) return "broken";
  if (job.cancelled()) return job.stat(queue::Counter::in_flight) > 0 ? "cancelling" : "cancelled";
  if (job.submitting) return "submitting";
  if (job.finished()) return "finished";
  if (job.state == "paused") return "paused";
  return job.stat(queue::Counter::in_flight) > 0 ? "in progress" : "queued";
}

std::optional<double> eta_seconds(const queue::JobInfo& job) {
  if (job.finished() || job.state != "running" || job.rate() <= 0) return std::nullopt;
  return static_cast<double>(job.stat(queue::Counter::queued) +
                             job.stat(queue::Counter::in_flight)) /
         job.rate();
}

Verdict judge(const Snapshot& s, const Snapshot* previous) {
  Verdict v;
  // One row per worker Redis knows, then per worker the hosts know; sorted by id at the end. The
  // index by id is built only when the hosts were asked (10,000 map nodes otherwise for nothing).
  std::vector<WorkerRow>& rows = v.rows;
  rows.reserve(s.workers.size());
  for (const auto& w : s.workers) {
    WorkerRow& r = rows.emplace_back();
    r.id = w.id;
    r.host = w.report.host;
    r.beat = &w;
  }
  std::unordered_map<std::string, std::size_t> index;
  if (!s.hosts.empty())
    for (std::size_t i = 0; i < rows.size(); ++i) index.emplace(rows[i].id, i);
  for (const auto& h : s.hosts) {
    auto row = [&](int index_on_host) -> WorkerRow& {
      std::string id = deploy::worker_id(h.name, index_on_host);
      auto [at, fresh] = index.try_emplace(id, rows.size());
      if (fresh) rows.emplace_back().id = std::move(id);
      WorkerRow& r = rows[at->second];
      r.host = h.name;
      return r;
    };
    if (h.outcome != fanout::Outcome::ok) {
      for (int i = 1; i <= h.expected; ++i) row(i);
      for (auto& r : rows)
        if (r.host == h.name)
          r.host_problem =
              h.message.empty() ? std::string(fanout::to_string(h.outcome)) : h.message;
      continue;
    }
    for (int i = 1; i <= h.expected; ++i) row(i);
    for (const auto& p : h.inspection.workers) {
      // Files of a worker no longer configured (and not running) are history, not a worker.
      const bool known = p.index <= h.expected ||
                         p.state == deploy::WorkerProcess::State::running ||
                         index.count(deploy::worker_id(h.name, p.index));
      if (!known) continue;
      WorkerRow& r = row(p.index);
      r.process = p;
      r.host_now = h.inspection.now;
    }
  }
  std::sort(rows.begin(), rows.end(),
            [](const WorkerRow& a, const WorkerRow& b) { return a.id < b.id; });
  // Log growth: bytes per second since the previous snapshot, by the snapshots' clock.
  if (previous && s.at_ms > previous->at_ms) {
    std::map<std::string, std::int64_t> before;
    for (const auto& h : previous->hosts)
      for (const auto& p : h.inspection.workers)
        before[deploy::worker_id(h.name, p.index)] = p.log_bytes;
    for (auto& r : rows)
      if (r.process && r.process->log_bytes >= 0)
        if (auto it = before.find(r.id);
            it != before.end() && it->second >= 0 && r.process->log_bytes >= it->second)
          r.log_growth = static_cast<double>(r.process->log_bytes - it->second) * 1000.0 /
                         static_cast<double>(s.at_ms - previous->at_ms);
  }

  bool any_alive = false;
  for (auto& r : rows) {
    const bool process_down =
        s.with_hosts && r.host_problem.empty() &&
        (!r.process || r.process->state != deploy::WorkerProcess::State::running);
    if (r.beat && r.beat->liveness == Liveness::alive) {
      if (process_down && r.process) {
        r.state = "dead";
        r.problem = true;
        r.why = fmt::format("its heartbeat is {} old but its process is {}",
                            human_duration(r.beat->heartbeat_age_ms / 1000.0), process_text(r));
      } else {
        r.state = r.beat->report.state;
        any_alive = true;
      }
    } else if (r.beat) {
      r.state = "dead";
      r.problem = true;
      r.why = r.beat->heartbeat_age_ms >= 0
                  ? fmt::format("last heartbeat {} ago",
                                human_duration(r.beat->heartbeat_age_ms / 1000.0))
                  : "no heartbeat within its TTL";
      if (auto it = s.returned.find(r.id); it != s.returned.end())
        r.why += fmt::format("; {} leased URLs returned to the frontier now", it->second);
      if (s.with_hosts && r.host_problem.empty()) r.why += "; process: " + process_text(r);
    } else if (!r.host_problem.empty()) {
      r.state = "unreachable";
      r.problem = true;
      r.why = "no heartbeat, and its host cannot be asked: " + r.host_problem;
    } else if (r.process && r.process->state == deploy::WorkerProcess::State::running) {
      r.state = "starting";  // runs, has not reached Redis yet
      r.why = "running but no heartbeat yet";
    } else {
      r.state = "missing";
      r.problem = true;
      r.why = "no heartbeat and " + process_text(r);
    }
    if (r.problem) {
      v.workers_missing = true;
      v.problems.push_back(fmt::format("worker {} is {}: {}", r.id, r.state, r.why));
    }
  }
  for (const auto& j : s.jobs) {
    if (j.missing)
      v.problems.push_back(
          fmt::format("job {} is broken: {}; workers move its queued URLs to the dead letters",
                      j.id, j.problem));
    else if (!j.problem.empty() && !j.cancelled())
      v.problems.push_back(
          fmt::format("job {} is broken: {}; its {} queued URLs wait until it is fixed (then "
                      "crawlctl resume {}) or cancelled",
                      j.id, j.problem, j.stat(queue::Counter::queued), j.id));
    if (j.submitting && !j.submitter_alive && !j.cancelled())
      v.problems.push_back(
          fmt::format("job {} was left submitting: its submit stopped before all its seeds were "
                      "queued ({} URLs admitted so far); add the rest with crawlctl submit --job "
                      "{} -f FILE (seeds already queued are skipped)",
                      j.id, j.stat(queue::Counter::submitted), j.id));
    if (j.problem.empty() && j.records_held())
      v.problems.push_back(fmt::format(
          "job {} holds {} records in Redis, its records_backlog: its claims wait until they are "
          "drained home (crawlctl drain {}, or wait, results or serve, on the machine that keeps "
          "them{})",
          j.id, j.records_waiting, j.id,
          j.records_home.empty() ? "" : ": " + j.records_home.substr(0, j.records_home.find(':'))));
    if (const long long failed = j.stat(queue::Counter::failed); failed > 0) {
      v.jobs_failed = true;
      v.problems.push_back(
          fmt::format("job {} has {} failed URL{}", j.id, failed, failed == 1 ? "" : "s"));
    }
    if (!any_alive && j.state == "running" && j.stat(queue::Counter::queued) > 0) {
      v.workers_missing = true;
      v.problems.push_back(fmt::format("job {} has {} URLs queued and no worker is alive", j.id,
                                       j.stat(queue::Counter::queued)));
    }
  }
  if (s.dead_letters > 0)
    v.problems.push_back(fmt::format(
        "{} frontier entr{} could not be read or belonged to no job, and {} moved to "
        "the dead letters (crawl:deadletter; the workers' logs say when)",
        s.dead_letters, s.dead_letters == 1 ? "y" : "ies", s.dead_letters == 1 ? "was" : "were"));
  return v;
}

std::string redact_url(const std::string& url) {
  const auto authority = url.find("://");
  if (authority == std::string::npos) return url;
  const auto path = url.find_first_of("/?#", authority + 3);
  if (path == std::string::npos || url.size() == path + 1) return url;
  return url.substr(0, path) + "/...";
}

nlohmann::ordered_json options_json(const policy::JobOptions& options) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& option : policy::job_options()) {
    using Kind = policy::OptionRule::Kind;
    auto& v = out[std::string(option.field)];
    switch (option.rule.kind) {
      case Kind::boolean:
        v = policy::option_integer(options, option) != 0;
        break;
      case Kind::choice:
        v = policy::option_text(options, option);
        break;
      case Kind::url:
        v = redact_url(policy::option_text(options, option));
        break;
      case Kind::patterns:
        v = options.*std::get<std::vector<std::string> policy::JobOptions::*>(option.member);
        break;
      default:
        v = policy::option_integer(options, option);
    }
  }
  return out;
}

nlohmann::ordered_json job_json(const queue::JobInfo& j) {
  nlohmann::ordered_json out{{"id", j.id},
                             {"name", j.name},
                             {"state", job_state(j)},
                             {"finished", j.finished()},
                             {"created_ms", j.created_ms},
                             {"pages_per_second", j.rate()}};
  if (!j.problem.empty()) out["problem"] = j.problem;
  if (j.submitting) out["submit_interrupted"] = !j.submitter_alive;
  const auto eta = eta_seconds(j);
  out["eta_seconds"] = eta ? nlohmann::ordered_json(*eta) : nlohmann::ordered_json(nullptr);
  out["counters"] = j.stats;
  if (j.problem.empty()) out["options"] = options_json(j.options);
  out["sites"] = {{"queued", j.sites.queued},
                  {"ready", j.sites.ready},
                  {"waiting", j.sites.waiting},
                  {"waiting_for_slot", j.sites.for_slot},
                  {"backing_off", j.sites.backing_off}};
  out["records"] = {{"waiting", j.records_waiting}, {"home", j.records_home}};
  return out;
}

void write_workers(JsonWriter& out, const Snapshot& s, const Verdict& v) {
  out.begin_array();
  for (const auto& r : v.rows) {
    out.begin_object()
        .member("id", r.id)
        .member("host", r.host)
        .member("state", r.state)
        .member("problem", r.problem);
    if (r.problem) out.member("why", r.why);
    if (r.beat) {
      const auto& b = *r.beat;
      out.member("alive", b.liveness == Liveness::alive)
          .member("heartbeat_age_ms", b.heartbeat_age_ms)
          .member("pid", b.report.pid)
          .member("deploy", b.report.deploy)
          .member("pages", b.report.pages)
          .member("failed", b.report.failed)
          .member("pages_per_second", b.report.rate)
          .member("in_flight", b.report.in_flight)
          .key("errors")
          .begin_object();
      for (const auto& [reason, n] : b.report.errors) out.member(reason, n);
      out.end_object().member("rss_bytes", b.report.rss_bytes);
      if (auto it = s.returned.find(r.id); it != s.returned.end())
        out.member("leases_returned", it->second);
    } else {
      out.member("alive", false);
    }
    if (s.with_hosts) {
      out.key("process").begin_object();
      if (!r.host_problem.empty()) {
        out.member("state", "unknown").member("error", r.host_problem);
      } else if (r.process) {
        out.member("state", deploy::to_string(r.process->state))
            .member("pid", r.process->pid)
            .member("log_bytes", r.process->log_bytes);
        if (r.process->log_mtime > 0)
          out.member("log_age_seconds", r.host_now - r.process->log_mtime);
        if (r.log_growth >= 0) out.member("log_bytes_per_second", r.log_growth);
      } else {
        out.member("state", "none");
      }
      out.end_object();
    }
    out.end_object();
  }
  out.end_array();
}

std::string to_json(const Snapshot& s, const Verdict& v, const std::string& job, int indent) {
  std::string text;
  text.reserve(512 + v.rows.size() * (indent < 0 ? 300 : 450));
  JsonWriter out(text, indent);
  write_json(out, s, v, job);
  return text;
}

void write_json(JsonWriter& out, const Snapshot& s, const Verdict& v, const std::string& job) {
  out.begin_object();
  if (!job.empty()) {
    const nlohmann::ordered_json one = job_json(s.jobs.front());
    for (const auto& [name, value] : one.items()) out.member(name, value);
    if (s.with_sites) {
      out.key("busiest_sites").begin_array();
      for (const auto& site : s.sites) out.value(site_json(site, s.at_ms));
      out.end_array();
    }
  } else {
    out.key("jobs").begin_array();
    for (const auto& j : s.jobs) out.value(job_json(j));
    out.end_array();
  }
  out.member("at_ms", s.at_ms);
  if (!s.redis.server.empty())
    out.key("redis")
        .begin_object()
        .member("server", s.redis.server)
        .member("url", s.redis.url)
        .member("role", s.redis.role)
        .member("replicas", s.redis.replicas)
        .member("replicas_in_sync", s.redis.in_sync)
        .end_object();
  out.member("dead_letters", s.dead_letters).key("workers");
  write_workers(out, s, v);
  if (s.with_hosts) {
    out.key("hosts").begin_array();
    for (const auto& h : s.hosts) {
      out.begin_object().member("name", h.name).member("outcome", fanout::to_string(h.outcome));
      if (!h.message.empty()) out.member("message", h.message);
      out.end_object();
    }
    out.end_array();
  }
  out.key("problems").begin_array();
  for (const auto& p : v.problems) out.value(p);
  out.end_array().end_object();
}

std::string redis_text(const queue::Replication& r) {
  if (r.server.empty() || (!r.via_sentinels && r.replicas == 0)) return "";
  return fmt::format("redis: {} {}{}, {} of {} replica{} in sync",
                     r.role == "master" ? "primary" : r.role, r.server,
                     r.via_sentinels ? " (named by the Sentinels)" : "", r.in_sync, r.replicas,
                     r.replicas == 1 ? "" : "s");
}

std::string render(const Snapshot& s, const Verdict& v, const std::string& job) {
  std::string text;
  if (s.jobs.empty()) {
    text += "no jobs\n";
  } else {
    Table jobs({"JOB", "STATE", "SUBMITTED", "QUEUED", "IN FLIGHT", "DONE", "FAILED", "FILTERED",
                "PAGES/S", "ETA", "NAME"});
    for (const auto& j : s.jobs) {
      const auto eta = eta_seconds(j);
      jobs.add({j.id, job_state(j), std::to_string(j.stat(queue::Counter::submitted)),
                std::to_string(j.stat(queue::Counter::queued)),
                std::to_string(j.stat(queue::Counter::in_flight)),
                std::to_string(j.stat(queue::Counter::done)),
                std::to_string(j.stat(queue::Counter::failed)),
                std::to_string(j.stat(queue::Counter::filtered)), fmt::format("{:.1f}", j.rate()),
                eta ? human_duration(*eta) : "-", j.name});
    }
    text += jobs.render();
    if (!job.empty()) {
      const auto& j = s.jobs[0];
      if (!j.finished() && !j.cancelled()) text += "  " + sites_text(j.sites) + "\n";
      if (j.records_waiting > 0) text += "  " + records_text(j) + "\n";
      // The reasons behind the failed, filtered and cancelled counts.
      for (const auto& [name, value] : j.stats)
        if (name.find(':') != std::string::npos || name == "cancelled" || name == "retries" ||
            name == "bytes")
          text += fmt::format("  {:<24} {}\n", escape_control(name), value);
      if (s.with_sites) {
        text += "\n";
        if (s.sites.empty()) {
          text += "no site has queued URLs\n";
        } else {
          Table sites({"SITE", "QUEUED", "IN FLIGHT", "NEXT", "LAST REQUEST", "BACKING OFF",
                       "FAILURES", "CRAWL-DELAY"});
          for (const auto& site : s.sites)
            sites.add({site.site, std::to_string(site.queued), std::to_string(site.busy),
                       site_next_text(site, s.at_ms),
                       site.last_ms > 0 ? human_duration(static_cast<double>(std::max<std::int64_t>(
                                                             0, s.at_ms - site.last_ms)) /
                                                         1000.0) +
                                              " ago"
                                        : "-",
                       site.backoff_until_ms > s.at_ms
                           ? fmt::format(
                                 "{} ({})",
                                 human_duration(
                                     static_cast<double>(site.backoff_until_ms - s.at_ms) / 1000.0),
                                 site.backoff_reason.empty() ? "?" : site.backoff_reason)
                           : "-",
                       std::to_string(site.failures),
                       site.crawl_delay_ms > 0
                           ? human_duration(static_cast<double>(site.crawl_delay_ms) / 1000.0)
                           : "-"});
          text += sites.render();
        }
      }
    }
  }
  text += "\n";
  if (v.rows.empty()) {
    text += "no workers\n";
  } else {
    std::vector<std::string> header{"WORKER",    "STATE",  "PAGES", "PAGES/S",
                                    "IN FLIGHT", "ERRORS", "RSS",   "HEARTBEAT"};
    if (s.with_hosts) header.insert(header.end(), {"PROCESS", "LOG"});
    Table workers(header);
    std::map<std::string, int> counts;
    std::vector<std::string> row;  // one row's cells, their room kept from row to row
    row.reserve(header.size());
    for (const auto& r : v.rows) {
      ++counts[r.state];
      row.clear();
      row.push_back(r.id);
      row.push_back(!r.problem             ? r.state
                    : r.state == "dead"    ? "DEAD"
                    : r.state == "missing" ? "MISSING"
                                           : "UNREACHABLE");
      if (r.beat) {
        const auto& b = *r.beat;
        const bool alive = b.liveness == Liveness::alive;
        row.push_back(std::to_string(b.report.pages));
        row.push_back(alive ? fmt::format("{:.2f}", b.report.rate) : "-");
        row.push_back(alive ? std::to_string(b.report.in_flight) : "-");
        row.push_back(errors_text(b));
        row.push_back(human_bytes(static_cast<double>(b.report.rss_bytes)));
        row.push_back(b.heartbeat_age_ms >= 0 ? human_duration(b.heartbeat_age_ms / 1000.0) + " ago"
                                              : "-");
      } else {
        row.insert(row.end(), {"-", "-", "-", "-", "-", "never"});
      }
      if (s.with_hosts) {
        row.push_back(process_text(r));
        row.push_back(log_text(r));
      }
      workers.add(row);
    }
    workers.render_to(text);
    std::vector<std::string> parts;
    for (const auto& [state, n] : counts) parts.push_back(fmt::format("{} {}", n, state));
    text += fmt::format("\n{} worker{}: {}\n", v.rows.size(), v.rows.size() == 1 ? "" : "s",
                        fmt::join(parts, ", "));
  }
  for (const auto& h : s.hosts)
    if (h.outcome != fanout::Outcome::ok)
      text += fmt::format("host {} could not be asked ({}): {}\n", h.name,
                          fanout::to_string(h.outcome), escape_control(h.message));
  if (const std::string r = redis_text(s.redis); !r.empty()) text += r + "\n";
  // Each on one line, whatever the values from Redis or a host it quotes hold.
  for (const auto& p : v.problems) text += "! " + escape_control(p) + "\n";
  return text;
}

std::string render_lines(const Snapshot& s, const Verdict& v) {
  const std::string at = utc(s.at_ms);
  std::string text;
  for (const auto& j : s.jobs) {
    const auto eta = eta_seconds(j);
    text += fmt::format(
        "{} job {} {}: {} submitted, {} queued, {} in flight, {} done, {} failed, {} filtered, "
        "{:.1f} pages/s{}{}\n",
        at, j.id, job_state(j), j.stat(queue::Counter::submitted), j.stat(queue::Counter::queued),
        j.stat(queue::Counter::in_flight), j.stat(queue::Counter::done),
        j.stat(queue::Counter::failed), j.stat(queue::Counter::filtered), j.rate(),
        eta ? ", ETA " + human_duration(*eta) : "",
        j.sites.queued == 0
            ? ""
            : fmt::format("; sites: {} ready, {} waiting, {} for a slot, {} backing off",
                          j.sites.ready, j.sites.waiting, j.sites.for_slot, j.sites.backing_off));
  }
  std::map<std::string, std::vector<std::string>> by_state;
  for (const auto& r : v.rows) by_state[r.state].push_back(r.id);
  std::vector<std::string> parts;
  for (const auto& [state, ids] : by_state)
    parts.push_back(state == "running" || state == "draining" || state == "starting"
                        ? fmt::format("{} {}", ids.size(), state)
                        : fmt::format("{} {} ({})", ids.size(), state, fmt::join(ids, " ")));
  text += fmt::format("{} workers: {}\n", at,
                      parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, ", ")));
  if (const std::string r = redis_text(s.redis); !r.empty()) text += at + " " + r + "\n";
  return text;
}

}  // namespace crawl::status
