#include "fanout/progress.hpp"

#include <map>

#include <fmt/format.h>
#include <unistd.h>

#include "core/output.hpp"
#include "core/text.hpp"

namespace crawl::fanout {

ProgressPrinter::ProgressPrinter(const std::vector<config::Host>& hosts, bool quiet)
    : m_hosts(hosts),
      m_quiet(quiet),
      m_tty(isatty(STDERR_FILENO) == 1),
      m_state(hosts.size(), "waiting") {
  if (!hosts.empty()) m_counts["waiting"] = hosts.size();
}

ProgressPrinter::~ProgressPrinter() {
  finish();
}

namespace {

// A host's task has ended when its state is an outcome's name (the pool reports it last).
bool ended(std::string_view state) {
  for (const Outcome o : {Outcome::ok, Outcome::unreachable, Outcome::auth, Outcome::host_key,
                          Outcome::timeout, Outcome::step_failed, Outcome::cancelled})
    if (to_string(o) == state) return true;
  return false;
}

}  // namespace

void ProgressPrinter::operator()(std::size_t host, std::string_view state) {
  // The counts follow each change, so a change costs the same with 10 hosts or 10,000.
  std::string& was = m_state[host];
  if (auto it = m_counts.find(was); it != m_counts.end() && --it->second == 0) m_counts.erase(it);
  if (ended(was)) --m_ended;
  was = state;
  ++m_counts[was];
  if (ended(was)) ++m_ended;
  if (m_quiet) return;
  const auto now = Clock::now();
  const double t = std::chrono::duration<double>(now - m_start).count();
  if (!m_tty) {
    crawl::print(stderr, "[{:7.2f}s] {}: {}\n", t, m_hosts[host].name, state);
    return;
  }
  // One line, rewritten in place at most 10 times a second: the hosts in each state, and the
  // time left at the pace so far (a rollout's waits and the slowest hosts make it an estimate).
  // The failures are listed by the report at the end.
  if (now < m_next_draw && m_ended < m_state.size()) {
    m_stale = true;
    return;
  }
  m_next_draw = now + std::chrono::milliseconds(100);
  draw();
}

void ProgressPrinter::draw() {
  const double t = std::chrono::duration<double>(Clock::now() - m_start).count();
  std::string line = fmt::format("[{:6.1f}s]", t);
  for (const auto& [s, n] : m_counts) line += fmt::format(" {} {}", s, n);
  if (m_ended > 0 && m_ended < m_state.size())
    line += ", ETA " + human_duration(t / static_cast<double>(m_ended) *
                                      static_cast<double>(m_state.size() - m_ended));
  write_control(stderr, "\r\033[K");
  crawl::print(stderr, "{}", line);
  m_line_open = true;
  m_stale = false;
}

void ProgressPrinter::finish() {
  if (m_stale && !m_quiet && m_tty) draw();  // the last changes, throttled away
  if (m_line_open) crawl::print(stderr, "\n");
  m_line_open = false;
}

}  // namespace crawl::fanout
