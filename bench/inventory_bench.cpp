// Parsing and expanding a 10,000-host hosts.yaml: written out host by host (the worst case for
// the YAML parser) and written as ranges (how an operator writes a big fleet).

#include <string>

#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include "config/inventory.hpp"

namespace {

std::string explicit_hosts(int n) {
  std::string yaml = "defaults:\n  user: crawl\n  workers: 4\ngroups:\n";
  for (int g = 0; g < 10; ++g) {
    yaml += "  dc" + std::to_string(g) + ":\n    labels: {region: r" + std::to_string(g) +
            "}\n    hosts:\n";
    for (int i = 0; i < n / 10; ++i) {
      const int id = g * (n / 10) + i;
      yaml += "      crawl" + std::to_string(id) + ".dc" + std::to_string(g) + ".example.org:\n";
      yaml += "        address: 10." + std::to_string(g) + "." + std::to_string(i / 250) + "." +
              std::to_string(i % 250) + "\n";
      yaml += "        port: 22\n";
    }
  }
  return yaml;
}

std::string ranged_hosts(int n) {
  std::string yaml = "defaults:\n  user: crawl\n  workers: 4\ngroups:\n";
  for (int g = 0; g < 10; ++g)
    yaml += "  dc" + std::to_string(g) + ":\n    hosts:\n      crawl[0001-" +
            std::to_string(n / 10) + "].dc" + std::to_string(g) + ".example.org:\n";
  return yaml;
}

void parse(benchmark::State& state, const std::string& yaml) {
  for (auto _ : state) {
    auto inventory = crawl::config::parse_inventory(yaml, "bench.yaml");
    if (!inventory || inventory->hosts.size() != 10000) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(inventory);
  }
  state.counters["bytes"] = static_cast<double>(yaml.size());
  state.counters["hosts/s"] =
      benchmark::Counter(10000, benchmark::Counter::kIsIterationInvariantRate);
}

// yaml-cpp's own node loader on the same text: what parsing alone costs the obvious way.
void yaml_load(benchmark::State& state, const std::string& yaml) {
  for (auto _ : state) benchmark::DoNotOptimize(YAML::Load(yaml));
}

const std::string k_explicit = explicit_hosts(10000);
const std::string k_ranged = ranged_hosts(10000);

BENCHMARK_CAPTURE(parse, explicit_10000_hosts, k_explicit)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(parse, ranged_10000_hosts, k_ranged)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(yaml_load, yaml_cpp_load_explicit, k_explicit)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
