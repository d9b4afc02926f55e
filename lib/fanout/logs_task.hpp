#pragma once
// The per-host task of `crawlctl logs`: lib/deploy's logs script run over a Remote, its frames
// turned into whole lines prefixed with their worker ("host/N"), or (with an outdir) into one
// local file per worker that a later run extends with only the new bytes. Following, a host
// that drops is reconnected with back-off and resumes at its cursors.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "fanout/pool.hpp"

namespace crawl::fanout {

// Where the lines of every host go: whole lines to `out`, one writer at a time, so lines of two
// workers never interleave; notes (a host that dropped, a log rotated away unread) to `err`.
class LogPrinter {
 public:
  // `grep`: a POSIX extended regex the lines must match ("" = all); a bad one is an `invalid`
  // error that quotes it.
  static Result<std::unique_ptr<LogPrinter>> create(const std::string& grep, std::FILE* out,
                                                    std::FILE* err);
  ~LogPrinter();
  LogPrinter(const LogPrinter&) = delete;
  LogPrinter& operator=(const LogPrinter&) = delete;

  // Whether these lines still need the grep: a host applies it to the tail it sends.
  enum class Filter { applied_by_host, apply_here };
  void lines(const std::string& prefix, const std::vector<std::string_view>& lines, Filter filter);
  void note(const std::string& text);

 private:
  struct Regex;
  LogPrinter(std::unique_ptr<Regex> regex, std::FILE* out, std::FILE* err);
  std::unique_ptr<Regex> m_regex;
  std::FILE* m_out;
  std::FILE* m_err;
  std::mutex m_lock;
};

struct LogsTask {
  int lines = 10;       // the last lines per worker, when printing
  bool follow = false;  // keep printing until the stop flag
  std::string grep;     // sent to the hosts for the tail (the printer applies it to the rest)
  std::string outdir;   // "" = print; else save to OUTDIR/HOST/wN.log with cursors beside
  std::chrono::milliseconds poll{500};  // following: how often the hosts look for new bytes
};

// One pass over one connected host: the tail of each worker's log (or, with an outdir, every
// byte not yet saved). Summary: "2 logs, 1.2 MB new".
Expected<TaskResult> fetch_logs(Remote& remote, const config::Host& host, const LogsTask& task,
                                LogPrinter& out, Clock::time_point deadline);

// Follows one host until `stop`: a connection that breaks, or stays silent past three
// keepalives, is reported and made again (back-off 1 s doubling to 30 s, with jitter), resuming
// at the cursors. False when it stopped for the host before `stop`: its logs could not be
// loaded or written under the outdir.
bool follow_logs(const config::Host& host, const LogsTask& task, LogPrinter& out,
                 const RemoteFactory& factory, const std::atomic<bool>& stop);

}  // namespace crawl::fanout
