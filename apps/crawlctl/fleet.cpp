#include "fleet.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/select.hpp"
#include "config/values.hpp"
#include "core/file.hpp"
#include "status/text.hpp"

namespace crawl::ctl {

using status::Table;
namespace {

std::atomic<bool> g_interrupted{false};

void on_interrupt(int) {
  g_interrupted.store(true);
}

std::optional<std::string> ask_passphrase(const std::string& path) {
  if (const char* env = std::getenv("CRAWL_SSH_PASSPHRASE")) return std::string(env);
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (!tty) return std::nullopt;
  std::fprintf(tty, "Passphrase for %s: ", path.c_str());
  std::fflush(tty);
  termios old{};
  const int fd = fileno(tty);
  const bool can_hide = tcgetattr(fd, &old) == 0;
  if (can_hide) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  char buffer[1024] = {};
  const bool got = std::fgets(buffer, sizeof buffer, tty) != nullptr;
  if (can_hide) tcsetattr(fd, TCSAFLUSH, &old);
  std::fprintf(tty, "\n");
  std::fclose(tty);
  if (!got) return std::nullopt;
  std::string phrase = buffer;
  while (!phrase.empty() && (phrase.back() == '\n' || phrase.back() == '\r')) phrase.pop_back();
  return phrase;
}

}  // namespace

void add_fleet_options(CLI::App* app, FleetOptions& options) {
  options.hosts_file = default_hosts_file();
  app->add_option("-H,--hosts-file", options.hosts_file,
                  "Hosts file (default: $CRAWL_HOSTS or hosts.yaml)");
  app->add_option(
      "-l,--limit", options.limit,
      "Select hosts: names, globs, ranges, groups, label=value; '!x' excludes, '&x' intersects");
  app->add_option("--fanout", options.fanout, "Hosts worked on at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app->add_option("--deadline", options.deadline,
                  "The whole run ends by then; hosts not started are reported")
      ->capture_default_str();
  app->add_option(
      "--ssh-config", options.ssh_config,
      "ssh_config file read before hosts.yaml's settings (default ~/.ssh/config; 'none')");
  app->add_flag("--json", options.json, "Print the report as JSON");
}

std::optional<Fleet> load_fleet(const FleetOptions& options, const char* command) {
  auto inventory = config::load_inventory(options.hosts_file);
  if (!inventory) {
    print_inventory_error(command, inventory.error());
    return std::nullopt;
  }
  auto selected = config::select_hosts(*inventory, options.limit);
  if (!selected) {
    fmt::print(stderr, "crawlctl {}: {}\n", command, selected.error().message);
    return std::nullopt;
  }
  auto deadline = config::parse_duration(options.deadline);
  if (!deadline) {
    fmt::print(stderr, "crawlctl {}: --deadline: {}\n", command, deadline.error().message);
    return std::nullopt;
  }
  Fleet fleet;
  for (std::size_t i : *selected) fleet.hosts.push_back(inventory->hosts[i]);
  for (const auto& host : fleet.hosts)
    if (!host.password_file.empty()) warn_if_loose(host.password_file, "password_file");
  if (!inventory->redis.password_file.empty())
    warn_if_loose(inventory->redis.password_file, "redis.password_file");
  fleet.inventory = std::move(*inventory);
  fleet.pool.fanout = options.fanout;
  fleet.pool.deadline = fanout::Clock::now() + *deadline;
  fleet.pool.cancel = interrupt_flag();
  return fleet;
}

void load_keys(const std::vector<config::Host>& hosts, ssh::KeyRing& keys) {
  for (const auto& host : hosts)
    if (host.transport == config::Transport::ssh && !host.identity_file.empty())
      keys.load(host.identity_file, ask_passphrase);
}

const std::atomic<bool>* interrupt_flag() {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return true;
  }();
  (void)installed;
  return &g_interrupted;
}

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
  const double t = std::chrono::duration<double>(fanout::Clock::now() - m_start).count();
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
  for (const auto& s : m_state) ++counts[s];
  std::string line = fmt::format("[{:6.1f}s]", t);
  for (const auto& [s, n] : counts) line += fmt::format(" {} {}", s, n);
  fmt::print(stderr, "\r\033[K{}", line);
  m_line_open = true;
}

void ProgressPrinter::finish() {
  if (m_line_open) fmt::print(stderr, "\n");
  m_line_open = false;
}

int run_on_fleet(const Fleet& fleet, const FleetOptions& options, const fanout::Task& task,
                 std::string_view verb) {
  ssh::Context context;
  context.ssh_config = options.ssh_config;
  load_keys(fleet.hosts, context.keys);
  const auto start = fanout::Clock::now();
  ProgressPrinter progress(fleet.hosts, options.json);
  auto reports =
      fanout::run(fleet.hosts, ssh::remote_factory(context), task, fleet.pool,
                  [&progress](std::size_t host, std::string_view state) { progress(host, state); });
  progress.finish();
  return report(fleet.hosts, reports, options.json, verb, fanout::Clock::now() - start);
}

int report(const std::vector<config::Host>& hosts, const std::vector<fanout::HostReport>& reports,
           bool json, std::string_view verb, fanout::Clock::duration elapsed) {
  std::map<std::string, std::vector<std::string>> by_outcome;
  std::size_t ok = 0;
  for (const auto& r : reports) {
    by_outcome[std::string(fanout::to_string(r.outcome))].push_back(hosts[r.host].name);
    if (r.outcome == fanout::Outcome::ok) ++ok;
  }
  const double seconds = std::chrono::duration<double>(elapsed).count();
  if (json) {
    nlohmann::ordered_json out;
    auto& list = out["hosts"] = nlohmann::ordered_json::array();
    for (const auto& r : reports) {
      nlohmann::ordered_json h = {{"name", hosts[r.host].name},
                                  {"outcome", fanout::to_string(r.outcome)},
                                  {"elapsed_ms", r.elapsed.count()},
                                  {"attempts", r.attempts}};
      if (r.outcome == fanout::Outcome::ok) {
        h["summary"] = r.result.summary;
        h["bytes_uploaded"] = r.result.bytes_uploaded;
        h["bytes_fetched"] = r.result.bytes_fetched;
      } else {
        h["step"] = r.failure.step;
        h["message"] = r.failure.message;
      }
      list.push_back(std::move(h));
    }
    out["outcomes"] = by_outcome;
    out["elapsed_ms"] = static_cast<long long>(seconds * 1000);
    fmt::print("{}\n", out.dump(2));
  } else {
    Table table({"HOST", "OUTCOME", "TIME", "DETAIL"});
    for (const auto& r : reports) {
      std::string detail =
          r.outcome == fanout::Outcome::ok
              ? r.result.summary
              : (r.failure.step.empty() ? "" : r.failure.step + ": ") + r.failure.message;
      if (r.attempts > 1) detail += fmt::format(" ({} attempts)", r.attempts);
      // Multi-line reasons (a log tail) are indented under the table row.
      std::string first = detail.substr(0, detail.find('\n'));
      table.add({hosts[r.host].name, std::string(fanout::to_string(r.outcome)),
                 fmt::format("{:.1f}s", r.elapsed.count() / 1000.0), first});
    }
    table.print(stdout);
    for (const auto& r : reports)
      if (const auto nl = r.failure.message.find('\n');
          r.outcome != fanout::Outcome::ok && nl != std::string::npos) {
        fmt::print("\n{}:\n", hosts[r.host].name);
        std::string rest = r.failure.message.substr(nl + 1);
        std::size_t pos = 0;
        while (pos < rest.size()) {
          auto end = rest.find('\n', pos);
          if (end == std::string::npos) end = rest.size();
          fmt::print("  | {}\n", rest.substr(pos, end - pos));
          pos = end + 1;
        }
      }
    std::vector<std::string> parts;
    for (const auto& [outcome, names] : by_outcome)
      parts.push_back(fmt::format("{} {}", names.size(), outcome));
    fmt::print("\n{} {} host(s) in {:.1f}s: {}\n", verb, hosts.size(), seconds,
               fmt::join(parts, ", "));
    for (const auto& [outcome, names] : by_outcome)
      if (outcome != "ok") fmt::print("  {}: {}\n", outcome, fmt::join(names, " "));
  }
  if (ok == reports.size()) return k_exit_ok;
  return ok == 0 ? k_exit_none_reached : k_exit_some_failed;
}

}  // namespace crawl::ctl
