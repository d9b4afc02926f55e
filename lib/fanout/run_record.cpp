#include "fanout/run_record.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <unistd.h>

#include "core/dir.hpp"
#include "core/file.hpp"

namespace crawl::fanout {

std::map<std::string, std::vector<std::string>> hosts_by_outcome(
    const std::vector<config::Host>& hosts, const std::vector<HostReport>& reports) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& r : reports)
    out[std::string(to_string(r.outcome))].push_back(hosts[r.host].name);
  return out;
}

nlohmann::ordered_json report_json(const std::vector<config::Host>& hosts,
                                   const std::vector<HostReport>& reports,
                                   Clock::duration elapsed) {
  nlohmann::ordered_json out;
  auto& list = out["hosts"] = nlohmann::ordered_json::array();
  for (const auto& r : reports) {
    nlohmann::ordered_json h = {{"name", hosts[r.host].name},
                                {"outcome", to_string(r.outcome)},
                                {"elapsed_ms", r.elapsed.count()},
                                {"attempts", r.attempts}};
    if (r.outcome == Outcome::ok) {
      h["summary"] = r.result.summary;
      h["bytes_uploaded"] = r.result.bytes_uploaded;
      h["bytes_fetched"] = r.result.bytes_fetched;
    } else {
      h["step"] = r.failure.step;
      h["message"] = r.failure.message;
    }
    list.push_back(std::move(h));
  }
  out["outcomes"] = hosts_by_outcome(hosts, reports);
  out["elapsed_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  return out;
}

std::string run_record_path(const std::string& hosts_file, std::string_view command) {
  std::string dir;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state == '/')
    dir = std::string(state) + "/crawlctl";
  else
    dir = expand_home("~/.local/state/crawlctl");
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(hosts_file, ec).lexically_normal().string();
  if (ec) absolute = hosts_file;
  // The path as one file name: '%' and '/' escaped, as systemd names units after paths.
  std::string name;
  for (const char c : absolute) {
    if (c == '%')
      name += "%25";
    else if (c == '/')
      name += "%2F";
    else
      name += c;
  }
  return fmt::format("{}/{}.{}.json", dir, name, command);
}

Result<void> write_run_record(const std::string& path, std::string_view command,
                              const nlohmann::ordered_json& report) {
  nlohmann::ordered_json record;
  record["command"] = command;
  record["at_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  for (const auto& [key, value] : report.items()) record[key] = value;
  // A new file, created exclusively under a random name and renamed over the record: nothing
  // planted in the directory is written through.
  const std::filesystem::path p(path);
  auto dir = OutputDir::open(p.parent_path().empty() ? "." : p.parent_path().string());
  if (!dir) return fail(dir.error());
  return dir->replace(p.filename().string(),
                      record.dump(2, ' ', true, nlohmann::json::error_handler_t::replace) + "\n");
}

Result<RunRecord> read_run_record(const std::string& path) {
  if (!std::filesystem::exists(path)) return fail(ErrorKind::not_found, "{} does not exist", path);
  auto text = read_file(path, 64 << 20);
  if (!text) return fail(text.error());
  const auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("hosts") ||
      !json["hosts"].is_array())
    return fail(ErrorKind::invalid, "{}: not a report crawlctl wrote", path);
  RunRecord record;
  record.command = json.value("command", "");
  record.at_ms = json.value("at_ms", std::int64_t{0});
  for (const auto& h : json["hosts"]) {
    if (!h.is_object() || !h.contains("name") || !h["name"].is_string()) continue;
    ++record.hosts;
    if (h.value("outcome", "") != "ok") record.failed.push_back(h["name"].get<std::string>());
  }
  return record;
}

config::Group failed_group(const config::Inventory& inventory, const RunRecord& record,
                           std::vector<std::string>& gone) {
  config::Group group{"@failed", {}, 0};
  for (const auto& name : record.failed) {
    if (const config::Host* h = inventory.find_host(name))
      group.hosts.push_back(static_cast<std::size_t>(h - inventory.hosts.data()));
    else
      gone.push_back(name);
  }
  return group;
}

}  // namespace crawl::fanout
