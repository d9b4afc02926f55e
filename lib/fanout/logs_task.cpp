#include "fanout/logs_task.hpp"

#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <regex.h>

#include "core/dir.hpp"
#include "core/output.hpp"
#include "core/text.hpp"
#include "deploy/logs.hpp"
#include "deploy/plan.hpp"

namespace crawl::fanout {

struct LogPrinter::Regex {
  regex_t compiled{};
  ~Regex() { regfree(&compiled); }
};

Result<std::unique_ptr<LogPrinter>> LogPrinter::create(const std::string& grep, std::FILE* out,
                                                       std::FILE* err) {
  std::unique_ptr<Regex> regex;
  if (!grep.empty()) {
    regex_t compiled{};
    if (const int rc = regcomp(&compiled, grep.c_str(), REG_EXTENDED | REG_NOSUB); rc != 0) {
      char message[256];
      regerror(rc, &compiled, message, sizeof message);
      return fail(ErrorKind::invalid, "--grep '{}': {}", grep, message);
    }
    regex = std::make_unique<Regex>();
    regex->compiled = compiled;
  }
  return std::unique_ptr<LogPrinter>(new LogPrinter(std::move(regex), out, err));
}

LogPrinter::LogPrinter(std::unique_ptr<Regex> regex, std::FILE* out, std::FILE* err)
    : m_regex(std::move(regex)), m_out(out), m_err(err) {}

LogPrinter::~LogPrinter() = default;

void LogPrinter::lines(const std::string& prefix, const std::vector<std::string_view>& lines,
                       Filter filter) {
  std::string text;
  for (const auto& line : lines) {
    if (filter == Filter::apply_here && m_regex) {
      const std::string copy(line);
      if (regexec(&m_regex->compiled, copy.c_str(), 0, nullptr, 0) != 0) continue;
    }
    text += prefix;
    text += ' ';
    text += line;
    text += '\n';
  }
  if (text.empty()) return;
  std::lock_guard lock(m_lock);
  write_shown(m_out, text);  // a remote log's bytes, never a terminal's commands
  std::fflush(m_out);
}

void LogPrinter::note(const std::string& text) {
  std::lock_guard lock(m_lock);
  std::fflush(m_out);
  crawl::print(m_err, "{}\n", text);
}

namespace {

// Complete lines of `text`, leaving a partial last line in `rest`.
std::vector<std::string_view> split_lines(std::string_view text, std::string_view& rest) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  for (auto nl = text.find('\n'); nl != std::string_view::npos; nl = text.find('\n', pos)) {
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  rest = text.substr(pos);
  return out;
}

// One host's workers' logs, as far as this run has them: cursors, partial lines, local files.
// Under --outdir every file is opened through lib/core/dir.hpp (never through a link planted
// there) and only while a frame is written: at most one open file per host. The first error
// writing there ends the host's task (it is not ok).
class HostLogs {
 public:
  // A line longer than this (a host that never sends a newline) is printed cut.
  static constexpr std::size_t k_max_line = 64u << 10;

  HostLogs(const config::Host& host, const LogsTask& o, LogPrinter& out)
      : m_host(host), m_options(o), m_out(out) {}

  // --outdir: the cursors saved by the last run, for the files that still match them.
  Result<void> load() {
    if (m_options.outdir.empty()) return {};
    auto top = OutputDir::open(m_options.outdir);
    if (!top) return fail(top.error());
    auto dir = top->subdir(m_host.name);
    if (!dir) return fail(dir.error());
    m_dir.emplace(std::move(*dir));
    auto text = m_dir->read(".cursors", 1u << 20);
    if (!text)
      return text.error().kind == ErrorKind::not_found ? Result<void>{} : fail(text.error());
    std::istringstream in(*text);
    int index = 0;
    std::uint64_t inode = 0, offset = 0, local = 0;
    while (in >> index >> inode >> offset >> local) {
      if (index < 0 || index > config::k_max_workers) continue;
      auto file = m_dir->append(name(index), false, false);
      if (!file && file.error().kind == ErrorKind::not_found) continue;  // fetched whole again
      if (!file) return fail(file.error());
      auto size = file->size();
      if (!size || *size < local) continue;  // the local copy lost bytes: fetch it all again
      if (*size > local)
        if (auto cut = file->truncate(local); !cut) return fail(cut.error());  // after the save
      Worker& w = m_workers[index];
      w.cursor = {inode, offset};
      w.local_bytes = local;
    }
    return {};
  }

  std::map<int, deploy::LogCursor> cursors() const {
    std::map<int, deploy::LogCursor> out;
    for (const auto& [i, w] : m_workers)
      if (w.cursor.inode != 0) out[i] = w.cursor;
    return out;
  }

  void frame(const deploy::FrameHeader& f, std::string_view data, bool last) {
    switch (f.kind) {
      case 'T':
        on_tail(f, data, last);
        break;
      case 'D':
        on_data(f, data, last);
        break;
      case 'G':
        m_out.note(fmt::format("{}/{}: part of the log was rotated away before it could be read",
                               m_host.name, f.worker));
        break;
      case 'E':
        m_out.note(fmt::format("{}: {}", m_host.name, f.text));
        break;
      case 'H':
        m_pass_done = true;
        break;
      default:
        break;
    }
  }

  std::uint64_t fetched() const { return m_fetched; }
  std::size_t logs() const { return m_workers.size(); }
  bool pass_done() const { return m_pass_done; }
  // Why the logs could not be written under --outdir; "" while they could.
  const std::string& error() const { return m_error; }

  // --outdir: cursors and local sizes, written atomically.
  void save() {
    if (!m_dir) return;
    std::string text;
    for (auto& [i, w] : m_workers)
      if (w.cursor.inode != 0)
        text += fmt::format("{} {} {} {}\n", i, w.cursor.inode, w.cursor.offset, w.local_bytes);
    if (auto saved = m_dir->replace(".cursors", text); !saved && m_error.empty())
      m_error = saved.error().message;
  }

 private:
  struct Worker {
    deploy::LogCursor cursor;
    std::string pending;         // a line not yet complete
    std::string tail;            // a T frame being received
    std::uint64_t received = 0;  // of the current D frame
    std::uint64_t local_bytes = 0;
    std::optional<OutputFile> file;  // open while a D frame is written
  };

  static std::string name(int index) { return fmt::format("w{}.log", index); }
  std::string prefix(int index) const { return deploy::worker_id(m_host, index); }

  // Prints the complete lines of `text` (what is left is kept for the next bytes), a line
  // longer than k_max_line cut there.
  void print_lines(Worker& w, int index, LogPrinter::Filter filter) {
    std::string_view rest;
    auto lines = split_lines(w.pending, rest);
    std::string cut;
    if (rest.size() > k_max_line) {
      cut = std::string(rest.substr(0, k_max_line)) + " [line cut]";
      lines.push_back(cut);
      rest = {};
    }
    m_out.lines(prefix(index), lines, filter);
    w.pending = std::string(rest);
  }

  void on_tail(const deploy::FrameHeader& f, std::string_view data, bool last) {
    Worker& w = m_workers[f.worker];
    w.tail.append(data);
    m_fetched += data.size();
    if (!last) return;
    std::string_view rest;
    auto lines = split_lines(w.tail, rest);
    if (lines.size() > static_cast<std::size_t>(m_options.lines))
      lines.erase(lines.begin(), lines.end() - m_options.lines);
    m_out.lines(prefix(f.worker), lines, LogPrinter::Filter::applied_by_host);
    w.pending = std::string(rest.substr(0, k_max_line));
    std::string().swap(w.tail);
    w.cursor = f.end;
  }

  void on_data(const deploy::FrameHeader& f, std::string_view data, bool last) {
    Worker& w = m_workers[f.worker];
    // The cursor moves with every byte received (and, under --outdir, written), so a connection
    // lost mid-frame resumes exactly where it stopped.
    auto advance = [&] {
      w.received += data.size();
      w.cursor = {f.end.inode, f.end.offset - f.length + w.received};
      if (last) w.received = 0;
      m_fetched += data.size();
    };
    if (m_dir) {
      if (!m_error.empty()) return;
      if (!w.file) {
        // A worker first seen now, or whose local copy did not match: from the start.
        auto file = m_dir->append(name(f.worker), w.local_bytes == 0);
        if (!file) {
          m_error = file.error().message;
          return;
        }
        w.file.emplace(std::move(*file));
      }
      if (auto written = w.file->write(data); !written) {
        m_error = written.error().message;
        w.file.reset();
        return;
      }
      advance();
      w.local_bytes += data.size();
      if (last) {
        w.file.reset();
        if (m_options.follow) save();
      }
      return;
    }
    advance();
    w.pending.append(data);
    print_lines(w, f.worker, LogPrinter::Filter::apply_here);
  }

  const config::Host& m_host;
  const LogsTask& m_options;
  LogPrinter& m_out;
  std::optional<OutputDir> m_dir;
  std::map<int, Worker> m_workers;
  std::uint64_t m_fetched = 0;
  bool m_pass_done = false;
  std::string m_error;
};

deploy::LogRequest request_for(const LogsTask& o, const HostLogs& logs) {
  deploy::LogRequest r;
  // First sight of a worker: its tail when printing, its whole log when saving; when following,
  // a worker that appears after the first pass is new, and sent whole.
  r.tail_lines = !o.outdir.empty() || logs.pass_done() ? -1 : o.lines;
  r.grep = o.outdir.empty() ? o.grep : "";
  r.follow = o.follow;
  r.poll = o.poll;
  r.cursors = logs.cursors();
  return r;
}

}  // namespace

Expected<TaskResult> fetch_logs(Remote& remote, const config::Host& host, const LogsTask& o,
                                LogPrinter& out, Clock::time_point deadline) {
  HostLogs logs(host, o, out);
  if (auto loaded = logs.load(); !loaded)
    return failure(Outcome::step_failed, "logs", loaded.error().message);
  const deploy::Step step = deploy::logs_step(host, request_for(o, logs));
  deploy::FrameParser parser(
      [&](const auto& f, std::string_view d, bool last) { logs.frame(f, d, last); });
  std::string error;
  auto r = remote.exec_stream(step.command, step.input, deadline, [&](std::string_view chunk) {
    if (!parser.feed(chunk)) {
      error = "unreadable output: " + parser.error();
      return false;
    }
    return logs.error().empty();
  });
  logs.save();
  if (error.empty()) error = logs.error();
  if (!error.empty()) return failure(Outcome::step_failed, "logs", error);
  if (!r) return tl::unexpected(r.error());
  if (r->status != 0)
    return failure(Outcome::step_failed, "logs",
                   fmt::format("exit status {}: {}", r->status, r->err));
  TaskResult result;
  result.bytes_fetched = logs.fetched();
  result.summary = fmt::format("{} log{}, {} new", logs.logs(), logs.logs() == 1 ? "" : "s",
                               human_bytes(static_cast<double>(logs.fetched())));
  return result;
}

bool follow_logs(const config::Host& host, const LogsTask& o, LogPrinter& out,
                 const RemoteFactory& factory, const std::atomic<bool>& stop) {
  using namespace std::chrono_literals;
  HostLogs logs(host, o, out);
  if (auto loaded = logs.load(); !loaded) {
    out.note(fmt::format("{}: {}", host.name, loaded.error().message));
    return false;
  }
  std::mt19937 rng(std::random_device{}());
  auto backoff = 1s;
  bool connected_once = false;
  auto sleep = [&](std::chrono::milliseconds d) {
    for (auto until = Clock::now() + d; Clock::now() < until && !stop.load();)
      std::this_thread::sleep_for(50ms);
  };
  while (!stop.load()) {
    auto remote = factory(host);
    auto connected = remote->connect(Clock::now() + host.connect_timeout);
    if (!connected) {
      out.note(fmt::format("{}: {} ({}); trying again in {}s", host.name, connected.error().message,
                           to_string(connected.error().kind), backoff.count()));
      sleep(backoff + std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 500)(rng)));
      backoff = std::min<std::chrono::seconds>(backoff * 2, 30s);
      continue;
    }
    if (connected_once) out.note(fmt::format("{}: reconnected", host.name));
    connected_once = true;
    const deploy::Step step = deploy::logs_step(host, request_for(o, logs));
    deploy::FrameParser parser(
        [&](const auto& f, std::string_view d, bool last) { logs.frame(f, d, last); });
    auto heard = Clock::now();
    std::string why;
    auto r = remote->exec_stream(step.command, step.input, Clock::time_point::max(),
                                 [&](std::string_view chunk) {
                                   if (stop.load()) return false;
                                   if (!chunk.empty()) {
                                     heard = Clock::now();
                                     backoff = 1s;
                                     if (!parser.feed(chunk)) {
                                       why = "unreadable output: " + parser.error();
                                       return false;
                                     }
                                     if (!logs.error().empty()) return false;
                                   } else if (Clock::now() - heard > 10s) {
                                     why = "no keepalive for 10s";
                                     return false;
                                   }
                                   return true;
                                 });
    logs.save();
    if (stop.load()) break;
    if (!logs.error().empty()) {
      // Writing here failed (a full disk, a file refused): following cannot go on for this host.
      out.note(fmt::format("{}: {}; no longer followed", host.name, logs.error()));
      return false;
    }
    if (why.empty())
      why = r ? fmt::format("the command ended (exit status {}) {}", r->status, r->err)
              : r.error().message;
    out.note(fmt::format("{}: connection lost ({}); reconnecting in {}s", host.name, why,
                         backoff.count()));
    sleep(backoff);
    backoff = std::min<std::chrono::seconds>(backoff * 2, 30s);
  }
  return true;
}

}  // namespace crawl::fanout
