#pragma once
// A fake fleet for the fan-out's unit tests: hosts whose connections fail as scripted and whose
// commands answer as the test says, recording what was asked of them. Header only; the real
// remotes (libssh, local) are tested against sshd in tests/integration.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fanout/pool.hpp"

namespace crawl::fanout::fakes {

// n hosts h1..hn of 2 workers each.
inline std::vector<config::Host> hosts(int n) {
  std::vector<config::Host> out;
  for (int i = 1; i <= n; ++i) {
    config::Host h;
    h.name = "h" + std::to_string(i);
    h.address = h.name;
    h.workers = 2;
    out.push_back(h);
  }
  return out;
}

// A host as fan-out sees it: scripted connection failures and command results, and a record
// of what was asked of it.
struct FakeHost {
  std::vector<Failure> connect_failures;  // consumed one per attempt
  std::function<ExecResult(const std::string& command)> exec;
  std::vector<std::string> commands;
  std::vector<std::string> inputs;  // each command's stdin, whole
  int connects = 0;
  std::optional<deploy::SshEndpoint> endpoint;  // what the session says it reached (none: local)
};

class FakeRemote : public Remote {
 public:
  FakeRemote(FakeHost& host, std::mutex& lock) : m_host(host), m_lock(lock) {}
  Expected<void> connect(Clock::time_point) override {
    std::lock_guard l(m_lock);
    ++m_host.connects;
    if (m_host.connect_failures.empty()) return {};
    Failure f = m_host.connect_failures.front();
    m_host.connect_failures.erase(m_host.connect_failures.begin());
    return tl::unexpected(f);
  }
  Expected<ExecResult> run(std::string_view command, std::span<const std::string_view> input,
                           Clock::time_point, const OutputSink* sink) override {
    std::lock_guard l(m_lock);
    m_host.commands.emplace_back(command);
    std::string whole;
    for (const std::string_view part : input) whole += part;
    m_host.inputs.push_back(std::move(whole));
    if (!m_host.exec) return ExecResult{0, "", ""};
    Expected<ExecResult> r = m_host.exec(std::string(command));
    if (r && sink) {
      if (!(*sink)(r->out)) return failure(Outcome::cancelled, "", "ended by the reader");
      r->out.clear();
    }
    return r;
  }
  std::optional<deploy::SshEndpoint> endpoint() const override { return m_host.endpoint; }

 private:
  FakeHost& m_host;
  std::mutex& m_lock;
};

struct FakeFleet {
  std::map<std::string, FakeHost> hosts;
  std::mutex lock;
  // Called from the pool's threads: the map is changed under the lock.
  RemoteFactory factory() {
    return [this](const config::Host& h) {
      std::lock_guard l(lock);
      return std::make_unique<FakeRemote>(hosts[h.name], lock);
    };
  }
};

}  // namespace crawl::fanout::fakes
