// crawlctl hosts: the resolved inventory, like `ansible-inventory --list`.

#include <memory>

#include <fmt/core.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "config/inventory.hpp"
#include "config/schema.hpp"
#include "config/select.hpp"
#include "core/file.hpp"
#include "core/output.hpp"
#include "core/redact.hpp"
#include "status/text.hpp"

namespace crawl::ctl {

using status::Table;

namespace {

struct HostsOptions {
  std::string hosts_file = default_hosts_file();
  std::string limit;
  bool json = false;
};

// A setting as `hosts --json` shows it: numbers as numbers (durations in ms), a choice by name,
// a Redis URL with its password hidden.
nlohmann::ordered_json json_value(const config::Rule& rule, const config::Value& value) {
  if (const auto* labels = std::get_if<config::Labels>(&value)) return *labels;
  if (const auto* list = std::get_if<config::Strings>(&value)) return *list;
  if (const auto* text = std::get_if<std::string>(&value))
    return rule.kind == config::Rule::Kind::redis_url ? redact_password(*text) : *text;
  const std::int64_t n = std::get<std::int64_t>(value);
  if (rule.kind == config::Rule::Kind::choice) return rule.choices.at(static_cast<std::size_t>(n));
  return n;
}

template <class S>
nlohmann::ordered_json section_json(const S& settings,
                                    const std::vector<config::Field<S>>& fields) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& field : fields) {
    const auto value = config::value_of(settings, field);
    out[std::string(field.json)] = value ? json_value(field.rule, *value) : nullptr;
  }
  return out;
}

nlohmann::ordered_json host_json(const config::Host& h) {
  nlohmann::ordered_json out = {{"name", h.name}, {"address", h.address}, {"group", h.group}};
  out.update(section_json(h, config::host_fields()));
  out["line"] = h.line;
  return out;
}

nlohmann::ordered_json settings_json(const config::Inventory& inv) {
  return {{"redis", section_json(inv.redis, config::redis_fields())},
          {"worker", section_json(inv.worker, config::worker_fields())},
          {"job", section_json(inv.job, config::job_fields())}};
}

std::string labels_text(const config::Host& h) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : h.labels) parts.push_back(key + "=" + value);
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, ","));
}

int run_hosts(const HostsOptions& options) {
  auto inventory = config::load_inventory(options.hosts_file);
  if (!inventory) {
    print_inventory_error("hosts", inventory.error());
    return k_exit_usage;
  }
  auto selected = config::select_hosts(*inventory, options.limit);
  if (!selected) {
    crawl::print(stderr, "crawlctl hosts: {}\n", selected.error().message);
    return k_exit_usage;
  }

  if (options.json) {
    nlohmann::ordered_json out = {{"source", inventory->source}};
    auto& hosts = out["hosts"] = nlohmann::ordered_json::array();
    nlohmann::ordered_json groups = nlohmann::ordered_json::object();
    for (std::size_t i : *selected) {
      const auto& h = inventory->hosts[i];
      hosts.push_back(host_json(h));
      if (!h.group.empty()) groups[h.group].push_back(h.name);
    }
    out["groups"] = std::move(groups);
    out.update(settings_json(*inventory));
    crawl::print("{}\n", json_text(out));
    return k_exit_ok;
  }

  Table table(
      {"NAME", "ADDRESS", "PORT", "USER", "WORKERS", "GROUP", "TRANSPORT", "LABELS", "REMOTE_DIR"});
  int workers = 0;
  for (std::size_t i : *selected) {
    const auto& h = inventory->hosts[i];
    workers += h.workers;
    table.add({h.name, h.address, std::to_string(h.port), h.user.empty() ? "-" : h.user,
               std::to_string(h.workers), h.group.empty() ? "-" : h.group,
               std::string(config::to_string(h.transport)), labels_text(h), h.remote_dir});
  }
  table.print(stdout);
  crawl::print("{} hosts, {} workers (of {} hosts in {})\n", selected->size(), workers,
               inventory->hosts.size(), inventory->source);
  return k_exit_ok;
}

}  // namespace

void add_hosts_command(CLI::App& app, Action& run) {
  auto options = std::make_shared<HostsOptions>();
  CLI::App* sub = app.add_subcommand("hosts", "Print the resolved inventory of a hosts file");
  sub->add_option("-H,--hosts-file", options->hosts_file,
                  "Hosts file (default: $CRAWL_HOSTS or hosts.yaml)");
  sub->add_option("-l,--limit", options->limit,
                  "Select hosts: names, globs, ranges, groups, label=value; '!x' excludes, '&x' "
                  "intersects, comma-separated");
  sub->add_flag("--json", options->json, "Print JSON for scripts");
  sub->footer(
      "Examples:\n"
      "  crawlctl hosts -H hosts.yaml\n"
      "  crawlctl hosts -H hosts.yaml --limit 'eu,!crawl03.eu' --json\n"
      "  crawlctl hosts -H hosts.yaml --limit 'region=us*'");
  sub->callback([options, &run] { run = [options] { return run_hosts(*options); }; });
}

}  // namespace crawl::ctl
