#pragma once
// The live progress of a fleet run on stderr: on a terminal one line rewritten in place, the
// hosts counted by state with an ETA (the failures are for the report at the end); else a line
// per state change, for logs.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/inventory.hpp"
#include "fanout/remote.hpp"

namespace crawl::fanout {

// Prints state changes: in place on a terminal, else one line per change (stderr).
class ProgressPrinter {
 public:
  ProgressPrinter(const std::vector<config::Host>& hosts, bool quiet);
  ~ProgressPrinter();
  void operator()(std::size_t host, std::string_view state);
  void finish();

 private:
  const std::vector<config::Host>& m_hosts;
  bool m_quiet, m_tty;
  Clock::time_point m_start = Clock::now();
  std::vector<std::string> m_state;
  std::map<std::string, std::size_t> m_counts;  // hosts by state
  std::size_t m_ended = 0;                      // hosts whose task has ended, one way or another
  Clock::time_point m_next_draw{};
  bool m_line_open = false;
  bool m_stale = false;  // a change not drawn yet (throttled)
  void draw();
};

}  // namespace crawl::fanout
