#pragma once
// The seam between fan-out and the machines: one Remote per host task. lib/ssh implements it
// with libssh (and a local one that runs the same steps on this machine); tests use a fake.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "config/inventory.hpp"
#include "deploy/plan.hpp"

namespace crawl::fanout {

using Clock = std::chrono::steady_clock;

// How a host task ended; everything but ok names a failure the operator can act on.
enum class Outcome { ok, unreachable, auth, host_key, timeout, step_failed, cancelled };
std::string_view to_string(Outcome outcome);

struct Failure {
  Outcome kind = Outcome::step_failed;
  std::string step;        // connect, auth, host-key, install, activate, verify, canary, stop
  std::string message;     // complete: what failed and why, with the command's stderr if any
  bool transient = false;  // a connection error worth another attempt (refused, reset)
};

template <class T>
using Expected = tl::expected<T, Failure>;

inline tl::unexpected<Failure> failure(Outcome kind, std::string step, std::string message,
                                       bool transient = false) {
  return tl::unexpected<Failure>(Failure{kind, std::move(step), std::move(message), transient});
}

struct ExecResult {
  // A host sends what it likes: what is kept of a command's output is bounded (a command's
  // stdout that the caller reads whole is a few KB; stderr goes into messages and reports).
  static constexpr std::size_t k_max_out = 16u << 20;
  static constexpr std::size_t k_max_err = 64u << 10;

  int status = -1;  // the command's exit status
  std::string out, err;
  std::uint64_t out_dropped = 0, err_dropped = 0;  // bytes past the bounds, not kept

  // Appends what arrived on stdout or stderr, within the bounds; the first bytes dropped from
  // stderr are said there.
  void take(bool is_err, std::string_view bytes) {
    std::string& to = is_err ? err : out;
    const std::size_t max = is_err ? k_max_err : k_max_out;
    const std::size_t n = std::min(bytes.size(), max - std::min(max, to.size()));
    to.append(bytes.substr(0, n));
    if (n < bytes.size()) {
      if (is_err && err_dropped == 0) err += " [stderr cut: more than 64 KiB]";
      (is_err ? err_dropped : out_dropped) += bytes.size() - n;
    }
  }
};

// Receives a command's stdout as it arrives, in chunks of any size, and an empty view at least
// every 250 ms while the command runs. Returning false ends the command.
using OutputSink = std::function<bool(std::string_view)>;

class Remote {
 public:
  virtual ~Remote() = default;
  // Connects and authenticates by `deadline`; a failure says unreachable, auth, host_key or
  // timeout.
  virtual Expected<void> connect(Clock::time_point deadline) = 0;
  // Runs `command` through the remote shell without a PTY, `input` on its stdin. A command still
  // running at `deadline`, or one whose exit status never arrives, is a failure, never success.
  Expected<ExecResult> exec(std::string_view command, std::string_view input,
                            Clock::time_point deadline) {
    const std::string_view parts[] = {input};
    return run(command, parts, deadline, nullptr);
  }
  // The same, with `input`'s parts one after the other on stdin: a small header and a large
  // body held once for every host. A command may exit without reading all of it; its exit status
  // then says how it went.
  Expected<ExecResult> exec(std::string_view command, std::span<const std::string_view> input,
                            Clock::time_point deadline) {
    return run(command, input, deadline, nullptr);
  }
  // Where this connected session went, for a host of its group to reach the same machine
  // (deploy --relay): the address after ssh config, the port, the login and the host key
  // verified at connect. None for a remote that is not an SSH session.
  virtual std::optional<deploy::SshEndpoint> endpoint() const { return std::nullopt; }
  // The same, with stdout handed to `sink` as it comes instead of kept (ExecResult::out stays
  // empty): for output too large to hold, or that never ends. A command ended by the sink fails
  // as `cancelled`.
  Expected<ExecResult> exec_stream(std::string_view command, std::string_view input,
                                   Clock::time_point deadline, const OutputSink& sink) {
    const std::string_view parts[] = {input};
    return run(command, parts, deadline, &sink);
  }

 protected:
  // exec and exec_stream: stdout to `sink` when there is one, else into ExecResult::out.
  virtual Expected<ExecResult> run(std::string_view command,
                                   std::span<const std::string_view> input,
                                   Clock::time_point deadline, const OutputSink* sink) = 0;
};

using RemoteFactory = std::function<std::unique_ptr<Remote>(const config::Host&)>;

}  // namespace crawl::fanout
