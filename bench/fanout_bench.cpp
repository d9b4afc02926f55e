// A fleet of thousands from one controller: crawlctl's fan-out (the pool, the deploy host task
// with its plan and report, the progress printer) over simulated hosts that answer after a
// round-trip time, without SSH. It reports wall time, controller CPU, peak memory and peak
// threads, per host.
//
//   build/bench/fanout_bench --hosts 10000 --fanout 1000 --rtt 40ms
//
// Each host is an unchanged one: connect (5 round trips, as SSH's handshake and authentication
// take), one activate command (1 round trip) that reports its worker kept. The simulated host is
// a fake at our own seam (fanout::Remote); the real SSH cost per host is measured by
// bench/deploy.py.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include "config/values.hpp"
#include "fanout/host_tasks.hpp"
#include "fanout/pool.hpp"
#include "fanout/progress.hpp"

namespace {

using namespace crawl;
using fanout::Clock;

class DistantHost final : public fanout::Remote {
 public:
  explicit DistantHost(std::chrono::milliseconds rtt) : m_rtt(rtt) {}
  fanout::Expected<void> connect(Clock::time_point) override {
    std::this_thread::sleep_for(5 * m_rtt);
    return {};
  }

 protected:
  fanout::Expected<fanout::ExecResult> run(std::string_view, std::span<const std::string_view>,
                                           Clock::time_point, const fanout::OutputSink*) override {
    std::this_thread::sleep_for(m_rtt);
    return fanout::ExecResult{0, "os=Linux\narch=x86_64\nsha256=same\nkept=1\n", ""};
  }

 private:
  std::chrono::milliseconds m_rtt;
};

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  return -1;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  int hosts = 10'000, fanout_n = 1000;
  std::string rtt_text = "40ms";
  bool progress = false;
  CLI::App app("crawlctl's fan-out over thousands of simulated hosts");
  app.add_option("--hosts", hosts, "Simulated hosts")->capture_default_str();
  app.add_option("--fanout", fanout_n, "Hosts worked on at once")->capture_default_str();
  app.add_option("--rtt", rtt_text, "Round-trip time of every host")->capture_default_str();
  app.add_flag("--progress", progress, "Print the progress on stderr (else it is only kept)");
  CLI11_PARSE(app, argc, argv);
  auto rtt = config::parse_duration(rtt_text);
  if (!rtt) {
    std::fprintf(stderr, "--rtt: %s\n", rtt.error().message.c_str());
    return 2;
  }

  std::vector<config::Host> fleet;
  for (int i = 0; i < hosts; ++i) {
    config::Host h;
    h.name = "crawl" + std::to_string(i) + ".example.net";
    h.address = h.name;
    h.workers = 1;
    fleet.push_back(h);
  }
  fanout::DeployTask task;
  task.release.binary_sha256 = "same";
  task.release.arch = "x86_64";
  task.release.config = "redis:\n  url: redis://10.0.0.5:6379/0\n";
  fanout::PoolOptions pool;
  pool.fanout = fanout_n;

  const long rss_before = status_kb("VmRSS:");
  std::atomic<bool> done{false};
  std::atomic<long> peak_threads{0};
  std::thread sampler([&] {
    while (!done.load()) {
      peak_threads = std::max(peak_threads.load(), status_kb("Threads:"));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  fanout::ProgressPrinter printer(fleet, !progress);
  auto reports = fanout::run(
      fleet, [&](const config::Host&) { return std::make_unique<DistantHost>(*rtt); },
      [&task](fanout::Remote& remote, const config::Host& host, const auto& state) {
        return fanout::deploy_host(remote, host, task, state);
      },
      pool, [&](std::size_t host, std::string_view state) { printer(host, state); });
  printer.finish();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  done = true;
  sampler.join();
  std::size_t ok = 0;
  for (const auto& r : reports) ok += r.outcome == fanout::Outcome::ok;
  const double ideal = static_cast<double>((hosts + fanout_n - 1) / fanout_n) * 6 *
                       static_cast<double>(rtt->count()) / 1000.0;
  std::printf(
      "%d hosts, fanout %d, rtt %s: %zu ok in %.2f s (6 round trips per host in waves of %d: "
      "%.2f s at best)\n"
      "controller CPU %.3f s = %.1f us per host; peak RSS %ld KB (%ld KB before, %.2f KB per "
      "host); peak threads %ld\n",
      hosts, fanout_n, rtt_text.c_str(), ok, wall, fanout_n, ideal, cpu, cpu / hosts * 1e6,
      status_kb("VmHWM:"), rss_before,
      static_cast<double>(status_kb("VmHWM:") - rss_before) / hosts, peak_threads.load());
  return ok == reports.size() ? 0 : 1;
}
