#include "status/snapshot.hpp"

#include "fanout/host_tasks.hpp"

namespace crawl::status {

Result<Snapshot> take_snapshot(queue::Queue& queue, const SnapshotRequest& request,
                               const HostsProbe& hosts) {
  Snapshot s;
  std::vector<std::string> ids{request.job};
  if (request.job.empty()) {
    auto all = queue.jobs().ids();
    if (!all) return fail(all.error());
    ids = *all;
    if (!request.all && ids.size() > request.last)
      ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(request.last));
  }
  auto jobs = queue.jobs().jobs(ids, &s.at_ms);
  if (!jobs) return fail(jobs.error());
  if (!request.job.empty() && jobs->front().missing)
    return fail(ErrorKind::not_found, "no job '{}'", request.job);
  s.jobs = std::move(*jobs);
  if (request.sites > 0) {
    auto sites = queue.sites().busiest(request.job, request.sites);
    if (!sites) return fail(sites.error());
    s.sites = std::move(*sites);
    s.with_sites = true;
  }
  if (!request.fleet) return s;
  auto replication = queue.fleet().replication();
  if (!replication) return fail(replication.error());
  s.redis = std::move(*replication);
  auto dead = queue.frontier().dead_letters();
  if (!dead) return fail(dead.error());
  s.dead_letters = *dead;
  if (request.forget_dead)
    if (auto n = queue.fleet().forget_dead(); !n) return fail(n.error());
  auto workers = queue.fleet().workers(&s.at_ms);
  if (!workers) return fail(workers.error());
  s.workers = std::move(*workers);
  // A worker silent past its TTL is dead: its leases go back now, not at the next sweep.
  for (auto& w : s.workers)
    if (w.liveness == queue::WorkerInfo::Liveness::expired) {
      auto n = queue.frontier().reap(w.id, queue::Reap::if_dead);
      if (!n) return fail(n.error());
      if (*n >= 0) {
        w.liveness = queue::WorkerInfo::Liveness::dead;
        s.returned[w.id] = *n;
      }
    }
  if (hosts) {
    s.hosts = hosts();
    s.with_hosts = true;
  }
  return s;
}

std::vector<HostView> probe_hosts(const std::vector<config::Host>& hosts,
                                  const fanout::RemoteFactory& factory,
                                  const fanout::PoolOptions& pool) {
  std::vector<deploy::Inspection> found(hosts.size());
  auto reports = fanout::run(
      hosts, factory,
      [&](fanout::Remote& remote, const config::Host& host,
          const auto&) -> fanout::Expected<fanout::TaskResult> {
        auto inspection = fanout::inspect_host(remote, host, pool.deadline);
        if (!inspection) return tl::unexpected(inspection.error());
        found[static_cast<std::size_t>(&host - hosts.data())] = std::move(*inspection);
        return fanout::TaskResult{};
      },
      pool, nullptr);
  std::vector<HostView> out;
  for (const auto& r : reports) {
    HostView h;
    h.name = hosts[r.host].name;
    h.expected = hosts[r.host].workers;
    h.outcome = r.outcome;
    h.message = r.outcome == fanout::Outcome::ok ? "" : r.failure.message;
    h.inspection = std::move(found[r.host]);
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace crawl::status
