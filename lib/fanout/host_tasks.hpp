#pragma once
// The per-host tasks of `crawlctl deploy`, `crawlctl stop` and `status --hosts`: deploy's steps
// (lib/deploy) run over a Remote, each under the host's command_timeout and the run's deadline.
// (`crawlctl logs` has its own, in logs_task.hpp.)

#include <functional>
#include <string>
#include <vector>

#include "deploy/plan.hpp"
#include "deploy/sudo.hpp"
#include "fanout/pool.hpp"
#include "fanout/relay.hpp"

namespace crawl::fanout {

// A worker deploy expects to heartbeat: its id, and the deploy id it was started with ("" = a
// worker kept running, whichever deploy started it).
struct ExpectedWorker {
  std::string id;
  std::string deploy_id;
};

// Checks that these workers heartbeat, waiting as long as it judges right; returns the ids that
// never did, or a failure when it cannot tell (Redis unreachable).
using VerifyWorkers =
    std::function<Expected<std::vector<std::string>>(const std::vector<ExpectedWorker>& workers)>;

struct DeployTask {
  deploy::Release release;
  deploy::Options options;
  Clock::time_point deadline = Clock::time_point::max();
  std::string deploy_id;  // this run's id, which the workers it starts report in heartbeats
  VerifyWorkers verify;   // unset = do not check heartbeats
  const deploy::SudoPasswords* sudo = nullptr;  // for install_command's sudo; none = no password
  Relays* relays = nullptr;  // deploy --relay: the groups' relays; none = no relay
};

// Activate without the binary (it probes first; an unchanged host is done), then when it says
// so [install], activate with the binary on stdin; verify. The summary says what changed, e.g.
// "2 started, 1 kept, binary sent (0.6 MB compressed)". With relays, a relay tells task.relays
// once it has the binary, and a host of its group that needs it waits for that and gets it from
// the relay ("binary relayed by eu-1"), or from crawlctl when the relay could not pass it on,
// saying why.
Expected<TaskResult> deploy_host(Remote& remote, const config::Host& host, const DeployTask& task,
                                 const std::function<void(std::string_view)>& state);

// Stops every worker on the host (SIGTERM, grace, SIGKILL). Summary: "2 stopped, 0 killed".
Expected<TaskResult> stop_host(Remote& remote, const config::Host& host,
                               std::chrono::milliseconds grace, Clock::time_point deadline,
                               const std::function<void(std::string_view)>& state);

// Asks the host which worker processes run there and what their logs hold (one exec).
Expected<deploy::Inspection> inspect_host(Remote& remote, const config::Host& host,
                                          Clock::time_point deadline);

}  // namespace crawl::fanout
