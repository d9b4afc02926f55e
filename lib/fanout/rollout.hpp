#pragma once
// Rolling runs over the fleet: the hosts in waves (a canary wave first, then batches), each wave
// run by the pool; the rollout stops when the failures pass a threshold or a canary fails, and
// the hosts it did not reach are reported untouched, with why.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "fanout/pool.hpp"

namespace crawl::fanout {

// A number of hosts, or a share of them: "10" or "25%".
struct Share {
  std::size_t count = 0;
  double percent = -1;  // >= 0: a share
  // Of `total` hosts; a share rounds up, so a batch of "1%" of 10 hosts is 1 ...
  std::size_t of(std::size_t total) const;
  // ... and a limit rounds down: "10%" of 15 hosts tolerates 1 failure, not 2.
  std::size_t at_most(std::size_t total) const;
  std::string text() const;
};
// `what` names the option in errors; `minimum` is the least count accepted (1 for a batch).
Result<Share> parse_share(std::string_view text, std::string_view what, std::size_t minimum);

struct RolloutOptions {
  std::optional<Share> batch;     // hosts per wave; none: all in one wave
  std::optional<Share> max_fail;  // failures tolerated (a share of all hosts); none: no limit
  std::size_t canary = 0;         // the first N hosts form a wave of their own, all to succeed
  std::chrono::milliseconds canary_wait{0};  // and are then watched this long (CanaryCheck)
  bool enabled() const { return batch || max_fail || canary > 0; }
};

// --batch and --max-fail as given ("" = not given) and --canary; the canary wait is the caller's.
Result<RolloutOptions> parse_rollout(std::string_view batch, std::string_view max_fail,
                                     std::size_t canary);

// --canary-wait as given, for a canary watched by its heartbeats (`verify`: not --no-verify),
// sent every `heartbeat_interval`: at least three of them, and ending before `deadline`.
Result<std::chrono::milliseconds> parse_canary_wait(std::string_view text, bool verify,
                                                    std::chrono::milliseconds heartbeat_interval,
                                                    Clock::time_point deadline);

// The waves, in the hosts' order: the canary hosts first, then batches of the rest.
std::vector<std::vector<std::size_t>> plan_waves(std::size_t hosts, const RolloutOptions& options);

// After a canary wave that succeeded: watches the canary hosts for the canary wait and returns a
// failure for each one that is not well at its end (by index into the hosts), none when all are.
using CanaryCheck =
    std::function<std::vector<std::pair<std::size_t, Failure>>(const std::vector<std::size_t>&)>;

// Runs `task` wave after wave (each through fanout::run with `options`). Stops after a wave
// that takes the failures past max_fail, or a canary wave with a failure (or whose check finds
// one); the hosts of the waves not run are reported `cancelled` with the reason, and `say` is
// told each wave's start and the stop.
std::vector<HostReport> run_rollout(const std::vector<config::Host>& hosts,
                                    const RemoteFactory& connect, const Task& task,
                                    const PoolOptions& options, const Progress& progress,
                                    const RolloutOptions& rollout, const CanaryCheck& check,
                                    const std::function<void(const std::string&)>& say);

}  // namespace crawl::fanout
