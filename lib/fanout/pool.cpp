#include "fanout/pool.hpp"

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

namespace crawl::fanout {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::unreachable:
      return "unreachable";
    case Outcome::auth:
      return "auth";
    case Outcome::host_key:
      return "host-key";
    case Outcome::timeout:
      return "timeout";
    case Outcome::step_failed:
      return "step-failed";
    case Outcome::cancelled:
      return "not-started";
  }
  return "?";
}

namespace {

bool stopped(const PoolOptions& options) {
  return (options.cancel && options.cancel->load()) || Clock::now() >= options.deadline;
}

// Sleeps until `until` unless cancelled first; false when cancelled or past the deadline.
bool pause(const PoolOptions& options, Clock::time_point until) {
  while (Clock::now() < until) {
    if (stopped(options)) return false;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(20)));
  }
  return !stopped(options);
}

}  // namespace

std::vector<HostReport> run(const std::vector<config::Host>& hosts, const RemoteFactory& connect,
                            const Task& task, const PoolOptions& options,
                            const Progress& progress) {
  std::vector<HostReport> reports(hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) reports[i].host = i;
  std::atomic<std::size_t> next{0};
  std::mutex progress_lock;
  auto report_state = [&](std::size_t i, std::string_view state) {
    if (!progress) return;
    std::lock_guard lock(progress_lock);
    progress(i, state);
  };

  auto one_host = [&](std::size_t i, std::mt19937& rng) {
    const config::Host& host = hosts[i];
    HostReport& report = reports[i];
    const auto started = Clock::now();
    std::unique_ptr<Remote> remote;
    Failure last;
    for (int attempt = 1; attempt <= std::max(1, options.connect_attempts); ++attempt) {
      report.attempts = attempt;
      report_state(i, attempt == 1 ? "connecting" : "reconnecting");
      remote = connect(host);
      const auto deadline = std::min(options.deadline, Clock::now() + host.connect_timeout);
      auto connected = remote->connect(deadline);
      if (connected) {
        last = {};
        break;
      }
      last = connected.error();
      remote.reset();
      if (!last.transient || attempt == options.connect_attempts) break;
      std::uniform_int_distribution<long> jitter(options.retry_delay.count(),
                                                 2 * options.retry_delay.count());
      if (!pause(options, Clock::now() + std::chrono::milliseconds(jitter(rng)))) break;
    }
    if (!remote) {
      report.outcome = last.kind;
      report.failure = last;
    } else {
      auto result = task(*remote, host, [&](std::string_view state) { report_state(i, state); });
      if (result) {
        report.outcome = Outcome::ok;
        report.result = std::move(*result);
      } else {
        report.outcome = result.error().kind;
        report.failure = std::move(result.error());
      }
      remote.reset();  // disconnects
    }
    report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (options.on_done) options.on_done(host, report);
    report_state(i, to_string(report.outcome));
  };

  const std::size_t threads = std::min<std::size_t>(hosts.size(), std::max(1, options.fanout));
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(std::random_device{}() + t));
      for (;;) {
        if (stopped(options)) return;  // the hosts not started yet stay `cancelled`
        const std::size_t i = next.fetch_add(1);
        if (i >= hosts.size()) return;
        one_host(i, rng);
      }
    });
  for (auto& thread : pool) thread.join();
  for (auto& report : reports)
    if (report.outcome == Outcome::cancelled && report.failure.message.empty())
      report.failure = {Outcome::cancelled, "",
                        Clock::now() >= options.deadline ? "not started: the deadline passed"
                                                         : "not started: interrupted"};
  return reports;
}

}  // namespace crawl::fanout
