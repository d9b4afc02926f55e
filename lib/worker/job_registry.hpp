#pragma once
// The jobs a worker's tasks belong to: each read from Redis once (its options, its scope) for
// the tasks that come, and kept only while a task uses it; and job control, read at each
// heartbeat: a cancelled job's tasks end, a paused job's tasks not yet fetching go back.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "queue/entry.hpp"
#include "worker/session.hpp"
#include "worker/tasks.hpp"

namespace crawl::worker {

class JobRegistry {
 public:
  // The context for a leased entry's job, read from Redis the first time (nullptr when it cannot
  // be read now: the entry goes back). A seed outside the scope known here was added to the job
  // since (submit --job): the job is read again, so the new seed's links are judged by the
  // wider scope.
  std::shared_ptr<const JobContext> context(const queue::Entry& entry, RedisSession& redis);

  // Job control (see above). Jobs no task uses are forgotten, to be read again when one of their
  // URLs comes; a job whose seeds changed is read again for its next URL (tasks under way keep
  // the rules they started with).
  void refresh(RedisSession& redis, Tasks& tasks, std::int64_t now_ms);

 private:
  std::shared_ptr<const JobContext> read(const std::string& id, RedisSession& redis);

  std::map<std::string, std::shared_ptr<const JobContext>> m_jobs;
  std::map<std::string, std::string> m_state;  // as last read: running, paused, cancelled
};

}  // namespace crawl::worker
