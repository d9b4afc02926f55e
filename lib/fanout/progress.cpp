#include "fanout/progress.hpp"

#include <map>

#include <fmt/format.h>
#include <unistd.h>

#include "core/text.hpp"

namespace crawl::fanout {

ProgressPrinter::ProgressPrinter(const std::vector<config::Host>& hosts, bool quiet)
    : m_hosts(hosts),
      m_quiet(quiet),
      m_tty(isatty(STDERR_FILENO) == 1),
      m_state(hosts.size(), "waiting") {}

ProgressPrinter::~ProgressPrinter() {
  finish();
}

void ProgressPrinter::operator()(std::size_t host, std::string_view state) {
  m_state[host] = state;
  if (m_quiet) return;
  const double t = std::chrono::duration<double>(Clock::now() - m_start).count();
  if (!m_tty) {
    fmt::print(stderr, "[{:7.2f}s] {}: {}\n", t, m_hosts[host].name, state);
    return;
  }
  // A host that failed gets a line of its own at once; the last line, rewritten in place,
  // counts the hosts in each state.
  if (state == "unreachable" || state == "auth" || state == "host-key" || state == "timeout" ||
      state == "step-failed")
    fmt::print(stderr, "\r\033[K[{:6.1f}s] {}: {}\n", t, m_hosts[host].name, state);
  std::map<std::string, int> counts;
  std::size_t ended = 0;
  for (const auto& s : m_state) {
    ++counts[s];
    if (s == "ok" || s == "unreachable" || s == "auth" || s == "host-key" || s == "timeout" ||
        s == "step-failed" || s == "not-started")
      ++ended;
  }
  std::string line = fmt::format("[{:6.1f}s]", t);
  for (const auto& [s, n] : counts) line += fmt::format(" {} {}", s, n);
  // At the pace so far; a rollout's waits and the slowest hosts make it an estimate.
  if (ended > 0 && ended < m_state.size())
    line += ", ETA " + human_duration(t / static_cast<double>(ended) *
                                      static_cast<double>(m_state.size() - ended));
  fmt::print(stderr, "\r\033[K{}", line);
  m_line_open = true;
}

void ProgressPrinter::finish() {
  if (m_line_open) fmt::print(stderr, "\n");
  m_line_open = false;
}

}  // namespace crawl::fanout
