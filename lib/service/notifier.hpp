#pragma once
// Notifications of `crawlctl serve`: a job created with a `notify` URL has a JSON summary POSTed
// there when it finishes, is cancelled, or stalls (URLs queued and no worker alive for a
// minute): once per job and event, whichever serve process sends it and across restarts (the
// claim and the record of it are in the job's hash: Jobs::notification), retried with back-off
// when the receiver fails, given up (and recorded so) after its attempts. At least once: a
// sender that dies between its POST and its record leaves the claim to lapse, and another one
// sends again; the job id and event tell a receiver it has seen it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "service/connections.hpp"

namespace crawl::service {

struct NotifyOptions {
  std::chrono::milliseconds every{2000};  // jobs looked at this often
  std::chrono::milliseconds stall_after{60'000};
  std::chrono::milliseconds lease{60'000};      // a claim stands this long unless renewed
  std::chrono::milliseconds first_retry{1000};  // then doubling, up to max_retry
  std::chrono::milliseconds max_retry{300'000};
  int attempts = 8;
  std::chrono::seconds timeout{5};  // per step of a POST (connect, send, answer)
  std::size_t jobs = 200;           // the latest jobs looked at
  std::string owner;                // this sender's name in claims: host:pid
};

class Notifier {
 public:
  Notifier(Connections& redis, NotifyOptions options);
  // Looks at the jobs every `every` until `stopped` says so.
  void run(const std::function<bool()>& stopped);
  // One look, at `now` (steady clock ms); it ends early once `stopped` says so.
  void pass(
      std::int64_t now_ms, const std::function<bool()>& stopped = [] { return false; });

 private:
  // POSTs `body` to `url`: "" when the receiver took it (2xx), else what went wrong.
  std::string post(const std::string& url, const std::string& body) const;

  Connections& m_redis;
  NotifyOptions m_options;
  std::int64_t m_no_worker_since = -1;  // since when no worker is alive; -1: one is
  struct Retry {
    int attempts = 0;
    std::int64_t next_ms = 0;
  };
  std::map<std::string, Retry> m_retries;  // "job event"
  std::set<std::string> m_unrecorded;      // sent, but Redis did not take the record yet
};

}  // namespace crawl::service
