#pragma once
// How a status snapshot is fetched: the jobs, workers and sites from Redis (returning the leases
// of workers found dead on the way) and, when asked, every host's own account of its workers
// over a Remote. What is made of it is view.hpp's.

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "fanout/pool.hpp"
#include "queue/queue.hpp"
#include "status/view.hpp"

namespace crawl::status {

struct SnapshotRequest {
  std::string job;           // "" = the latest jobs
  std::size_t last = 20;     // without a job: how many of the latest
  bool all = false;          // without a job: every job
  std::size_t sites = 0;     // with a job: its N busiest sites
  bool forget_dead = false;  // drop the dead workers' records (their leases are back already)
  bool fleet = true;         // the workers, Redis's replication and dead letters too (false: the
                             // jobs and sites alone, for a caller that shows nothing else)
};

// Every host's account of its workers; called once per snapshot when set.
using HostsProbe = std::function<std::vector<HostView>()>;

// A job that does not exist is a not_found error; a lost Redis connection a connection one.
Result<Snapshot> take_snapshot(queue::Queue& queue, const SnapshotRequest& request,
                               const HostsProbe& hosts);

// Asks each host (at most `pool.fanout` at once, by `pool.deadline`) which worker processes run
// there; a host that cannot be asked is a HostView with its outcome and message.
std::vector<HostView> probe_hosts(const std::vector<config::Host>& hosts,
                                  const fanout::RemoteFactory& factory,
                                  const fanout::PoolOptions& pool);

}  // namespace crawl::status
