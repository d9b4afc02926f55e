#include "worker/job_registry.hpp"

#include <set>
#include <vector>

#include <spdlog/spdlog.h>

namespace crawl::worker {

std::shared_ptr<const JobContext> JobRegistry::context(const queue::Entry& entry,
                                                       RedisSession& redis) {
  std::shared_ptr<const JobContext> ctx = read(entry.job, redis);
  if (ctx && ctx->filter && entry.depth == 0 &&
      ctx->filter->judge(entry.url, 0) == policy::Drop::offsite) {
    m_jobs.erase(entry.job);
    ctx = read(entry.job, redis);
  }
  return ctx;
}

std::shared_ptr<const JobContext> JobRegistry::read(const std::string& id, RedisSession& redis) {
  if (auto it = m_jobs.find(id); it != m_jobs.end()) return it->second;
  queue::Queue* queue = redis.queue();
  if (!queue) return nullptr;  // the connection dropped earlier in this batch
  auto info = queue->jobs().job(id);
  if (!redis.ok(info, "load_job")) return nullptr;
  auto seeds = queue->jobs().seed_authorities(id);
  if (!redis.ok(seeds, "load_job")) return nullptr;
  auto ctx = std::make_shared<JobContext>();
  if (!info->problem.empty()) {
    ctx->broken = info->problem;
  } else if (auto filter = policy::LinkFilter::create(info->options, *seeds)) {
    ctx->filter = std::make_shared<const policy::LinkFilter>(std::move(*filter));
  } else {
    ctx->broken = filter.error().message;
  }
  if (!ctx->broken.empty())
    spdlog::error(
        "event=bad_job job={} error=\"{}\" note=\"its URLs wait until the job is fixed or "
        "cancelled\"",
        id, ctx->broken);
  ctx->info = std::move(*info);
  m_jobs[id] = ctx;
  return ctx;
}

void JobRegistry::refresh(RedisSession& redis, Tasks& tasks, std::int64_t now) {
  queue::Queue* queue = redis.queue();
  if (!queue) return;
  if (tasks.empty()) {
    m_jobs.clear();
    m_state.clear();
    return;
  }
  const std::set<std::string> used = tasks.jobs();
  for (auto it = m_jobs.begin(); it != m_jobs.end();) {
    if (!used.count(it->first)) {
      m_state.erase(it->first);
      it = m_jobs.erase(it);
    } else {
      ++it;
    }
  }
  // The jobs of the tasks held (whose context may have been dropped for a newer one).
  const std::vector<std::string> ids(used.begin(), used.end());
  if (ids.empty()) return;
  auto states = queue->jobs().states(ids);
  if (!redis.ok(states, "job_state")) return;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (auto it = m_jobs.find(ids[i]);
        it != m_jobs.end() && it->second->info.seeds_version != (*states)[i].seeds_version)
      m_jobs.erase(it);
    const std::string& state = (*states)[i].state;
    std::string& known = m_state[ids[i]];
    if (state == known) continue;
    known = state;
    if (state == "cancelled" || state == "gone") {
      const std::size_t dropped = tasks.cancel_job(ids[i], now);
      spdlog::info("event=job_{} job={} dropped={}", state, ids[i], dropped);
    } else if (state == "paused") {
      tasks.release_unstarted(ids[i], now);
      spdlog::info("event=job_paused job={}", ids[i]);
    }
  }
}

}  // namespace crawl::worker
