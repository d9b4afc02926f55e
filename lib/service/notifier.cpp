#include "service/notifier.hpp"

#include <algorithm>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "core/output.hpp"
#include "core/text.hpp"
#include "status/snapshot.hpp"
#include "status/view.hpp"

namespace crawl::service {

Notifier::Notifier(Connections& redis, NotifyOptions options)
    : m_redis(redis), m_options(std::move(options)) {}

void Notifier::run(const std::function<bool()>& stopped) {
  using Clock = std::chrono::steady_clock;
  auto next = Clock::now();
  while (!stopped()) {
    if (Clock::now() >= next) {
      pass(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
               .count());
      next = Clock::now() + m_options.every;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string Notifier::post(const std::string& url, const std::string& body) const {
  // scheme://authority and the rest, as httplib takes them.
  const auto authority_at = url.find("://") + 3;
  const auto path_at = url.find('/', authority_at);
  const std::string origin = url.substr(0, path_at);
  const std::string path = path_at == std::string::npos ? "/" : url.substr(path_at);
  httplib::Client client(origin);
  if (!client.is_valid()) return "not a URL httplib can reach";
  client.set_connection_timeout(m_options.timeout);
  client.set_read_timeout(m_options.timeout);
  client.set_write_timeout(m_options.timeout);
  auto answer = client.Post(path, body, "application/json");
  if (!answer) return httplib::to_string(answer.error());
  if (answer->status < 200 || answer->status > 299) return "HTTP " + std::to_string(answer->status);
  return "";
}

void Notifier::pass(std::int64_t now, const std::function<bool()>& stopped) {
  auto lease = m_redis.take();
  if (!lease) return;  // Redis away: the next pass tries again
  status::SnapshotRequest want;
  want.last = m_options.jobs;
  want.fleet = false;  // the workers are read only when a job could have stalled
  auto snapshot = status::take_snapshot(**lease, want, nullptr);
  if (!snapshot) return;
  const bool could_stall =
      std::any_of(snapshot->jobs.begin(), snapshot->jobs.end(), [](const queue::JobInfo& j) {
        return !j.options.notify.empty() && j.state == "running" &&
               j.stat(queue::Counter::queued) > 0;
      });
  if (could_stall) {
    auto workers = (*lease)->fleet().workers();
    if (!workers) return;
    const bool alive =
        std::any_of(workers->begin(), workers->end(), [](const queue::WorkerInfo& w) {
          return w.liveness == queue::WorkerInfo::Liveness::alive;
        });
    if (alive)
      m_no_worker_since = -1;
    else if (m_no_worker_since < 0)
      m_no_worker_since = now;
  } else {
    m_no_worker_since = -1;
  }
  const bool stalled_fleet =
      m_no_worker_since >= 0 && now - m_no_worker_since >= m_options.stall_after.count();

  for (const auto& job : snapshot->jobs) {
    if (stopped()) return;
    if (job.options.notify.empty() || !job.problem.empty()) continue;
    const char* event = nullptr;
    if (job.cancelled())
      event = "cancelled";
    else if (job.finished())
      event = "finished";
    else if (stalled_fleet && job.state == "running" && job.stat(queue::Counter::queued) > 0)
      event = "stalled";
    if (event == nullptr) continue;
    const std::string key = job.id + " " + event;
    if (m_unrecorded.count(key) > 0) {
      // Sent: only the record is missing (Redis failed to take it). Not sent again.
      auto recorded = (*lease)->jobs().notification(job.id, event, queue::Jobs::Notice::sent,
                                                    m_options.owner, m_options.lease);
      if (recorded) m_unrecorded.erase(key);
      continue;
    }
    Retry& retry = m_retries[key];
    if (now < retry.next_ms) {
      // Waiting to try again: the claim is renewed, so no other sender takes it meanwhile.
      (void)(*lease)->jobs().notification(job.id, event, queue::Jobs::Notice::claim,
                                          m_options.owner, m_options.lease);
      continue;
    }
    auto claimed = (*lease)->jobs().notification(job.id, event, queue::Jobs::Notice::claim,
                                                 m_options.owner, m_options.lease);
    if (!claimed || !*claimed) {
      if (claimed) m_retries.erase(key);  // sent already, or another sender holds it
      continue;
    }
    nlohmann::ordered_json body = status::job_json(job);
    body["event"] = event;
    body["at_ms"] = snapshot->at_ms;
    const std::string problem = post(job.options.notify, json_text(body, -1));
    if (problem.empty()) {
      (void)(*lease)->jobs().notification(job.id, event, queue::Jobs::Notice::sent, m_options.owner,
                                          m_options.lease);
      spdlog::info("event=notified job={} what={} url=\"{}\"", job.id, event,
                   escape_control(job.options.notify));
      m_retries.erase(key);
      continue;
    }
    ++retry.attempts;
    if (retry.attempts >= m_options.attempts) {
      (void)(*lease)->jobs().notification(job.id, event, queue::Jobs::Notice::failed,
                                          m_options.owner, m_options.lease);
      spdlog::warn("event=notify_given_up job={} what={} attempts={} error=\"{}\"", job.id, event,
                   retry.attempts, escape_control(problem));
      m_retries.erase(key);
      continue;
    }
    const auto wait = std::min<std::int64_t>(m_options.max_retry.count(),
                                             m_options.first_retry.count() << (retry.attempts - 1));
    retry.next_ms = now + wait;
    spdlog::warn("event=notify_failed job={} what={} attempt={} retry_in_ms={} error=\"{}\"",
                 job.id, event, retry.attempts, wait, escape_control(problem));
  }
}

}  // namespace crawl::service
