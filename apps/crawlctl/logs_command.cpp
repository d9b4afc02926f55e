// crawlctl logs: the workers' logs from every selected host, each line prefixed with its
// worker ("host/N"). -n: the last lines; -f: follow all of them, reconnecting to a host that
// drops; --outdir: one local file per worker, fetched incrementally (only new bytes).

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <regex.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/values.hpp"
#include "deploy/logs.hpp"
#include "deploy/plan.hpp"
#include "fleet.hpp"
#include "status/text.hpp"

namespace crawl::ctl {

using status::human_bytes;

namespace {

namespace fs = std::filesystem;
using fanout::Clock;

struct LogsOptions {
  FleetOptions fleet;
  int lines = 10;
  bool follow = false;
  std::string grep;
  std::string outdir;
  std::string poll = "500ms";
};

// Whole lines to stdout, one writer at a time: lines of two workers never interleave.
class Output {
 public:
  explicit Output(const regex_t* filter) : m_filter(filter) {}
  void lines(const std::string& prefix, const std::vector<std::string_view>& lines, bool filter) {
    std::string text;
    for (const auto& line : lines) {
      if (filter && m_filter) {
        const std::string copy(line);
        if (regexec(m_filter, copy.c_str(), 0, nullptr, 0) != 0) continue;
      }
      text += prefix;
      text += ' ';
      text += line;
      text += '\n';
    }
    if (text.empty()) return;
    std::lock_guard lock(m_lock);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  void note(const std::string& text) {
    std::lock_guard lock(m_lock);
    std::fflush(stdout);
    fmt::print(stderr, "{}\n", text);
  }

 private:
  const regex_t* m_filter;
  std::mutex m_lock;
};

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
class HostLogs {
 public:
  HostLogs(const config::Host& host, const LogsOptions& o, Output& out)
      : m_host(host), m_options(o), m_out(out) {
    if (!o.outdir.empty()) m_dir = fs::path(o.outdir) / host.name;
  }
  ~HostLogs() {
    for (auto& [i, w] : m_workers)
      if (w.file) std::fclose(w.file);
  }

  // --outdir: the cursors saved by the last run, for the files that still match them.
  Result<void> load() {
    if (m_dir.empty()) return {};
    std::error_code ec;
    fs::create_directories(m_dir, ec);
    if (ec) return fail("cannot create {}: {}", m_dir.string(), ec.message());
    std::ifstream in(m_dir / ".cursors");
    int index = 0;
    std::uint64_t inode = 0, offset = 0, local = 0;
    while (in >> index >> inode >> offset >> local) {
      const fs::path file = path(index);
      const auto size = fs::file_size(file, ec);
      if (ec || size < local) continue;  // the local copy lost bytes: fetch it all again
      if (size > local) fs::resize_file(file, local, ec);  // written after the last save
      if (ec) continue;
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

  // --outdir: cursors and local sizes, written atomically.
  void save() {
    if (m_dir.empty()) return;
    std::string text;
    for (auto& [i, w] : m_workers) {
      if (w.file) std::fflush(w.file);
      if (w.cursor.inode != 0)
        text += fmt::format("{} {} {} {}\n", i, w.cursor.inode, w.cursor.offset, w.local_bytes);
    }
    const fs::path tmp = m_dir / ".cursors.tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
    }
    std::error_code ec;
    fs::rename(tmp, m_dir / ".cursors", ec);
  }

 private:
  struct Worker {
    deploy::LogCursor cursor;
    std::string pending;         // a line not yet complete
    std::string tail;            // a T frame being received
    std::uint64_t received = 0;  // of the current D frame
    std::uint64_t local_bytes = 0;
    std::FILE* file = nullptr;
  };

  fs::path path(int index) const { return m_dir / fmt::format("w{}.log", index); }
  std::string prefix(int index) const { return deploy::worker_id(m_host, index); }

  void on_tail(const deploy::FrameHeader& f, std::string_view data, bool last) {
    Worker& w = m_workers[f.worker];
    w.tail.append(data);
    m_fetched += data.size();
    if (!last) return;
    std::string_view rest;
    auto lines = split_lines(w.tail, rest);
    if (lines.size() > static_cast<std::size_t>(m_options.lines))
      lines.erase(lines.begin(), lines.end() - m_options.lines);
    m_out.lines(prefix(f.worker), lines, false);  // the host applied --grep
    w.pending = std::string(rest);
    w.tail.clear();
    w.cursor = f.end;
  }

  void on_data(const deploy::FrameHeader& f, std::string_view data, bool last) {
    Worker& w = m_workers[f.worker];
    // The cursor moves with every byte received, so a connection lost mid-frame resumes
    // exactly where it stopped.
    w.received += data.size();
    w.cursor = {f.end.inode, f.end.offset - f.length + w.received};
    if (last) w.received = 0;
    m_fetched += data.size();
    if (!m_dir.empty()) {
      if (!w.file) {
        // A worker first seen now, or whose local copy did not match: from the start.
        w.file = std::fopen(path(f.worker).c_str(), w.local_bytes > 0 ? "ab" : "wb");
        if (!w.file) {
          m_out.note(fmt::format("{}: cannot write {}", prefix(f.worker), path(f.worker).string()));
          return;
        }
      }
      if (!data.empty()) std::fwrite(data.data(), 1, data.size(), w.file);
      w.local_bytes += data.size();
      if (last && m_options.follow) save();
      return;
    }
    w.pending.append(data);
    std::string_view rest;
    auto lines = split_lines(w.pending, rest);
    m_out.lines(prefix(f.worker), lines, true);
    w.pending = std::string(rest);
  }

  const config::Host& m_host;
  const LogsOptions& m_options;
  Output& m_out;
  fs::path m_dir;
  std::map<int, Worker> m_workers;
  std::uint64_t m_fetched = 0;
  bool m_pass_done = false;
};

deploy::LogRequest request_for(const LogsOptions& o, const HostLogs& logs, bool first) {
  deploy::LogRequest r;
  // First sight of a worker: its tail when printing, its whole log when saving; when following,
  // a worker that appears after the first pass is new, and sent whole.
  r.tail_lines = !o.outdir.empty() || !first ? -1 : o.lines;
  r.grep = o.outdir.empty() ? o.grep : "";
  r.follow = o.follow;
  r.poll = *config::parse_duration(o.poll);
  r.cursors = logs.cursors();
  return r;
}

// One pass over one connected host (no -f).
fanout::Expected<fanout::TaskResult> fetch_once(fanout::Remote& remote, const config::Host& host,
                                                const LogsOptions& o, Output& out,
                                                Clock::time_point deadline) {
  HostLogs logs(host, o, out);
  if (auto loaded = logs.load(); !loaded)
    return fanout::failure(fanout::Outcome::step_failed, "logs", loaded.error().message);
  const deploy::Step step = deploy::logs_step(host, request_for(o, logs, true));
  deploy::FrameParser parser(
      [&](const auto& f, std::string_view d, bool last) { logs.frame(f, d, last); });
  std::string error;
  auto r = remote.exec_stream(step.command, step.input, deadline, [&](std::string_view chunk) {
    if (!parser.feed(chunk)) {
      error = parser.error();
      return false;
    }
    return true;
  });
  logs.save();
  if (!error.empty())
    return fanout::failure(fanout::Outcome::step_failed, "logs", "unreadable output: " + error);
  if (!r) return tl::unexpected(r.error());
  if (r->status != 0)
    return fanout::failure(fanout::Outcome::step_failed, "logs",
                           fmt::format("exit status {}: {}", r->status, r->err));
  fanout::TaskResult result;
  result.bytes_fetched = logs.fetched();
  result.summary = fmt::format("{} log{}, {} new", logs.logs(), logs.logs() == 1 ? "" : "s",
                               human_bytes(static_cast<double>(logs.fetched())));
  return result;
}

// -f on one host until Ctrl-C: a connection that breaks, or stays silent past three
// keepalives, is reported and made again (with back-off), resuming at the cursors.
void follow_host(const config::Host& host, const LogsOptions& o, Output& out,
                 const fanout::RemoteFactory& factory, const std::atomic<bool>& stop) {
  using namespace std::chrono_literals;
  HostLogs logs(host, o, out);
  if (auto loaded = logs.load(); !loaded) {
    out.note(fmt::format("{}: {}", host.name, loaded.error().message));
    return;
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
                           fanout::to_string(connected.error().kind), backoff.count()));
      sleep(backoff + std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 500)(rng)));
      backoff = std::min<std::chrono::seconds>(backoff * 2, 30s);
      continue;
    }
    if (connected_once) out.note(fmt::format("{}: reconnected", host.name));
    connected_once = true;
    const deploy::Step step = deploy::logs_step(host, request_for(o, logs, !logs.pass_done()));
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
                                   } else if (Clock::now() - heard > 10s) {
                                     why = "no keepalive for 10s";
                                     return false;
                                   }
                                   return true;
                                 });
    logs.save();
    if (stop.load()) break;
    if (why.empty())
      why = r ? fmt::format("the command ended (exit status {}) {}", r->status, r->err)
              : r.error().message;
    out.note(fmt::format("{}: connection lost ({}); reconnecting in {}s", host.name, why,
                         backoff.count()));
    sleep(backoff);
    backoff = std::min<std::chrono::seconds>(backoff * 2, 30s);
  }
}

int run_logs(const LogsOptions& o) {
  auto fleet = load_fleet(o.fleet, "logs");
  if (!fleet) return k_exit_usage;
  if (auto poll = config::parse_duration(o.poll); !poll || poll->count() < 100) {
    fmt::print(stderr, "crawlctl logs: --poll: {}\n",
               poll ? "must be at least 100ms" : poll.error().message);
    return k_exit_usage;
  }
  if (o.lines < 0) {
    fmt::print(stderr, "crawlctl logs: -n must not be negative\n");
    return k_exit_usage;
  }
  regex_t filter{};
  const bool filtered = !o.grep.empty();
  if (filtered) {
    if (const int rc = regcomp(&filter, o.grep.c_str(), REG_EXTENDED | REG_NOSUB); rc != 0) {
      char message[256];
      regerror(rc, &filter, message, sizeof message);
      fmt::print(stderr, "crawlctl logs: --grep '{}': {}\n", o.grep, message);
      return k_exit_usage;
    }
  }
  struct FreeRegex {
    regex_t* r;
    ~FreeRegex() {
      if (r) regfree(r);
    }
  } free_filter{filtered ? &filter : nullptr};
  Output out(filtered ? &filter : nullptr);
  ssh::Context context;
  context.ssh_config = o.fleet.ssh_config;
  load_keys(fleet->hosts, context.keys);
  const auto factory = ssh::remote_factory(context);

  if (o.follow) {
    const auto* stop = interrupt_flag();
    std::vector<std::thread> threads;
    for (const auto& host : fleet->hosts)
      threads.emplace_back([&, &host = host] { follow_host(host, o, out, factory, *stop); });
    for (auto& t : threads) t.join();
    return k_exit_ok;
  }

  const auto start = Clock::now();
  const auto deadline = fleet->pool.deadline;
  auto reports = fanout::run(
      fleet->hosts, factory,
      [&](fanout::Remote& remote, const config::Host& host, const auto&) {
        return fetch_once(remote, host, o, out, deadline);
      },
      fleet->pool, nullptr);
  if (!o.outdir.empty() || o.fleet.json)
    return report(fleet->hosts, reports, o.fleet.json, "fetched logs from", Clock::now() - start);
  // Printing lines: only the hosts that failed are worth a word, on stderr.
  std::size_t ok = 0;
  for (const auto& r : reports) {
    if (r.outcome == fanout::Outcome::ok) {
      ++ok;
      continue;
    }
    out.note(fmt::format("crawlctl logs: {}: {}: {}{}", fleet->hosts[r.host].name,
                         fanout::to_string(r.outcome),
                         r.failure.step.empty() ? "" : r.failure.step + ": ", r.failure.message));
  }
  if (ok == reports.size()) return k_exit_ok;
  return ok == 0 ? k_exit_none_reached : k_exit_some_failed;
}

}  // namespace

void add_logs_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<LogsOptions>();
  CLI::App* sub =
      app.add_subcommand("logs", "Show, follow or save the workers' logs from every host");
  add_fleet_options(sub, o->fleet);
  sub->add_option("-n,--lines", o->lines, "Last lines per worker")->capture_default_str();
  sub->add_flag("-f,--follow", o->follow, "Keep printing new lines from all hosts until Ctrl-C");
  sub->add_option("--grep", o->grep, "Only lines matching this POSIX extended regex");
  sub->add_option(
      "--outdir", o->outdir,
      "Save each worker's whole log to DIR/HOST/wN.log; a later run fetches only new bytes");
  sub->add_option("--poll", o->poll, "With -f: how often hosts look for new lines")
      ->capture_default_str();
  sub->footer(
      "Lines are prefixed with their worker, HOST/N. Rotated logs (wN.1.log, ...) are read\n"
      "too, so nothing is skipped across a rotation. With -f, a host that drops is reported and\n"
      "reconnected; its lines resume where they stopped.\n"
      "Exit: 0 all hosts answered, 1 some failed, 3 none did, 2 bad input.\n\n"
      "Examples:\n"
      "  crawlctl logs -H hosts.yaml -n 20\n"
      "  crawlctl logs -H hosts.yaml -f --grep 'event=(redis_error|reaped)'\n"
      "  crawlctl logs -H hosts.yaml --limit eu --outdir ./logs");
  sub->callback([o, &run] {
    run = [o] {
      if (!o->outdir.empty() && !o->grep.empty()) {
        fmt::print(stderr,
                   "crawlctl logs: --grep and --outdir do not mix: --outdir saves whole logs\n");
        return k_exit_usage;
      }
      return run_logs(*o);
    };
  });
}

}  // namespace crawl::ctl
