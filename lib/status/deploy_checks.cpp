#include "status/deploy_checks.hpp"

#include <algorithm>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "core/output.hpp"
#include "core/text.hpp"
#include "deploy/plan.hpp"
#include "queue/queue.hpp"

namespace crawl::status {

fanout::VerifyWorkers heartbeat_check(const queue::RedisUrl& url,
                                      const config::Inventory& inventory,
                                      fanout::Clock::time_point deadline,
                                      const std::atomic<bool>* cancel) {
  const auto patience =
      std::max(std::chrono::milliseconds(10'000), 3 * inventory.worker.heartbeat_interval);
  const std::string prefix = inventory.redis.key_prefix;
  return
      [url, patience, prefix, deadline, cancel](const std::vector<fanout::ExpectedWorker>& workers)
          -> fanout::Expected<std::vector<std::string>> {
        auto redis = queue::Redis::connect(url, std::chrono::seconds(5));
        if (!redis)
          return fanout::failure(fanout::Outcome::step_failed, "verify",
                                 "cannot check heartbeats: " + redis.error().message);
        queue::Queue queue(std::move(*redis), queue::Keys{prefix});
        std::vector<std::string> ids;
        for (const auto& w : workers) ids.push_back(w.id);
        const auto until = std::min(deadline, fanout::Clock::now() + patience);
        for (;;) {
          auto beats = queue.fleet().heartbeats(ids);
          if (!beats)
            return fanout::failure(fanout::Outcome::step_failed, "verify",
                                   "cannot check heartbeats: " + beats.error().message);
          std::vector<std::string> silent;
          for (std::size_t i = 0; i < workers.size(); ++i)
            if (!(*beats)[i].alive ||
                (!workers[i].deploy_id.empty() && (*beats)[i].deploy != workers[i].deploy_id))
              silent.push_back(workers[i].id);
          if (silent.empty() || fanout::Clock::now() >= until || (cancel && cancel->load()))
            return silent;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      };
}

fanout::CanaryCheck canary_check(const queue::RedisUrl& url, const config::Inventory& inventory,
                                 std::vector<config::Host> hosts, std::chrono::milliseconds wait,
                                 fanout::Clock::time_point deadline,
                                 const std::atomic<bool>* cancel) {
  const std::string prefix = inventory.redis.key_prefix;
  const auto slack = 2 * inventory.worker.heartbeat_interval;
  return [url, prefix, slack, hosts, wait, deadline,
          cancel](const std::vector<std::size_t>& canaries) {
    std::vector<std::pair<std::size_t, fanout::Failure>> failures;
    auto fail_all = [&](const std::string& why) {
      for (const std::size_t i : canaries)
        failures.push_back({i, {fanout::Outcome::step_failed, "canary", why, false}});
      return failures;
    };
    std::vector<std::string> ids;
    std::vector<std::size_t> owner;
    for (const std::size_t i : canaries)
      for (int w = 1; w <= hosts[i].workers; ++w) {
        ids.push_back(deploy::worker_id(hosts[i], w));
        owner.push_back(i);
      }
    auto look = [&]() -> Result<std::vector<queue::Fleet::Presence>> {
      auto redis = queue::Redis::connect(url, std::chrono::seconds(5));
      if (!redis) return fail(redis.error());
      queue::Queue queue(std::move(*redis), queue::Keys{prefix});
      return queue.fleet().heartbeats(ids);
    };
    auto before = look();
    if (!before) return fail_all("cannot check heartbeats: " + before.error().message);
    crawl::print(stderr, "canary: watching {} worker(s) on {} host(s) for {}\n", ids.size(),
                 canaries.size(), human_duration(wait.count() / 1000.0));
    const auto until = fanout::Clock::now() + wait;
    if (until > deadline) return fail_all("the canary wait would pass the run's --deadline");
    while (fanout::Clock::now() < until) {
      if (cancel && cancel->load()) return fail_all("interrupted during the canary wait");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto after = look();
    if (!after) return fail_all("cannot check heartbeats: " + after.error().message);
    std::map<std::size_t, std::vector<std::string>> unwell;
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto& b = (*before)[k];
      const auto& a = (*after)[k];
      std::string why;
      if (!a.alive)
        why = "no heartbeat";
      else if (a.pid != b.pid)
        why = fmt::format("restarted (pid {} -> {})", b.pid, a.pid);
      else if (a.last_ms - b.last_ms < (wait - slack).count())
        why = fmt::format("last heartbeat {} before the end of the wait",
                          human_duration((wait.count() - (a.last_ms - b.last_ms)) / 1000.0));
      if (!why.empty()) unwell[owner[k]].push_back(ids[k] + ": " + why);
    }
    for (auto& [i, lines] : unwell)
      failures.push_back(
          {i,
           {fanout::Outcome::step_failed, "canary",
            fmt::format("after {} of canary wait: {}", human_duration(wait.count() / 1000.0),
                        fmt::join(lines, "; ")),
            false}});
    return failures;
  };
}

}  // namespace crawl::status
