// crawlctl hosts: the resolved inventory, like `ansible-inventory --list`.

#include <memory>

#include <fmt/core.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "config/inventory.hpp"
#include "config/select.hpp"
#include "core/file.hpp"
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

nlohmann::ordered_json host_json(const config::Host& h) {
  return {{"name", h.name},
          {"address", h.address},
          {"port", h.port},
          {"user", h.user},
          {"workers", h.workers},
          {"remote_dir", h.remote_dir},
          {"group", h.group},
          {"labels", h.labels},
          {"transport", config::to_string(h.transport)},
          {"host_key_checking", config::to_string(h.host_key_checking)},
          {"identity_file", h.identity_file},
          {"password_env", h.password_env},
          {"password_file", h.password_file},
          {"install_command", h.install_command},
          {"known_hosts", h.known_hosts},
          {"connect_timeout_ms", h.connect_timeout.count()},
          {"command_timeout_ms", h.command_timeout.count()},
          {"line", h.line}};
}

nlohmann::ordered_json settings_json(const config::Inventory& inv) {
  const auto& w = inv.worker;
  return {{"redis",
           {{"url", redact_password(inv.redis.url)},
            {"password_env", inv.redis.password_env},
            {"password_file", inv.redis.password_file},
            {"key_prefix", inv.redis.key_prefix}}},
          {"worker",
           {{"concurrency", w.concurrency},
            {"parse_threads", w.parse_threads},
            {"user_agent", w.user_agent},
            {"robots_agent", w.robots_agent},
            {"max_body_bytes", w.max_body_bytes},
            {"body_memory_bytes", w.body_memory},
            {"connect_timeout_ms", w.connect_timeout.count()},
            {"timeout_ms", w.timeout.count()},
            {"low_speed_bytes", w.low_speed_bytes},
            {"low_speed_time_ms", w.low_speed_time.count()},
            {"max_redirects", w.max_redirects},
            {"heartbeat_interval_ms", w.heartbeat_interval.count()},
            {"heartbeat_ttl_ms", w.heartbeat_ttl.count()},
            {"log_max_bytes", w.log_max_bytes},
            {"log_keep", w.log_keep},
            {"log_level", w.log_debug ? "debug" : "info"},
            {"stats_interval_ms", w.stats_interval.count()}}}};
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
    fmt::print(stderr, "crawlctl hosts: {}\n", selected.error().message);
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
    fmt::print("{}\n", out.dump(2));
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
  fmt::print("{} hosts, {} workers (of {} hosts in {})\n", selected->size(), workers,
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
