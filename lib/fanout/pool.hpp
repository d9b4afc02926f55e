#pragma once
// Runs one task per host on a bounded pool of threads: at most `fanout` hosts at once, a
// connection per host with retries of transient errors (with jitter), an overall deadline, and
// a cancel flag (Ctrl-C) that stops starting new hosts while the started ones finish.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fanout/remote.hpp"

namespace crawl::fanout {

// What a task reports for its host when it succeeds.
struct TaskResult {
  std::string summary;  // one line, e.g. "2 workers started, 5.1 MB uploaded"
  std::uint64_t bytes_uploaded = 0;
  std::uint64_t bytes_fetched = 0;  // brought home (logs)
};

struct HostReport {
  std::size_t host = 0;                  // index into the hosts given to run()
  Outcome outcome = Outcome::cancelled;  // cancelled = never started (Ctrl-C or the deadline)
  Failure failure;                       // when outcome != ok
  TaskResult result;                     // when outcome == ok
  int attempts = 0;                      // connection attempts made
  std::chrono::milliseconds elapsed{0};
};

// Called with the host index and a short state ("connecting", "uploading", ...) whenever a host
// task changes state; calls are serialised, so the callback needs no lock of its own.
using Progress = std::function<void(std::size_t host, std::string_view state)>;

// The work on one connected host. `state` reports progress.
using Task = std::function<Expected<TaskResult>(
    Remote& remote, const config::Host& host, const std::function<void(std::string_view)>& state)>;

struct PoolOptions {
  int fanout = 64;
  Clock::time_point deadline = Clock::time_point::max();
  int connect_attempts = 3;                    // for transient connection errors
  std::chrono::milliseconds retry_delay{300};  // before a retry, randomised up to twice this
  const std::atomic<bool>* cancel = nullptr;
  // Called from the host's thread once its report is final: its task ended, or it could not be
  // connected. Not called for hosts never started.
  std::function<void(const config::Host& host, const HostReport& report)> on_done;
};

// Runs `task` on every host; returns one report per host, in the hosts' order.
std::vector<HostReport> run(const std::vector<config::Host>& hosts, const RemoteFactory& connect,
                            const Task& task, const PoolOptions& options, const Progress& progress);

}  // namespace crawl::fanout
