#include "config/schema.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "config/values.hpp"

namespace crawl::config {

namespace {

using Kind = Rule::Kind;

constexpr std::size_t k_max_agent_bytes = 512;  // user_agent, robots_agent: a request header

Rule integer(long long low, long long high) {
  Rule r;
  r.kind = Kind::integer;
  r.low = low;
  r.high = high;
  return r;
}

Rule size(long long low) {
  Rule r;
  r.kind = Kind::size;
  r.low = low;
  return r;
}

Rule duration(long long low_ms) {
  Rule r;
  r.kind = Kind::duration;
  r.low = low_ms;
  return r;
}

Rule of(Kind kind, std::string (*check)(std::string_view) = nullptr, std::size_t max_bytes = 0) {
  Rule r;
  r.kind = kind;
  r.check = check;
  r.max_bytes = max_bytes;
  return r;
}

Rule choice(std::vector<std::string_view> names) {
  Rule r;
  r.kind = Kind::choice;
  r.choices = std::move(names);
  return r;
}

}  // namespace

const std::vector<Field<Host>>& host_fields() {
  static const std::vector<Field<Host>> fields{
      {"port", "port", integer(1, 65535), &Host::port},
      {"user", "user", of(Kind::text, check_user_name), &Host::user},
      {"identity_file", "identity_file", of(Kind::text), &Host::identity_file},
      {"password_env", "password_env", of(Kind::env_name), &Host::password_env},
      {"password_file", "password_file", of(Kind::text), &Host::password_file},
      {"workers", "workers", integer(0, k_max_workers), &Host::workers},
      {"remote_dir", "remote_dir", of(Kind::text), &Host::remote_dir},
      {"transport", "transport", choice({"ssh", "local"}), &Host::transport},
      {"host_key_checking", "host_key_checking", choice({"strict", "accept-new"}),
       &Host::host_key_checking},
      {"install_command", "install_command", of(Kind::text), &Host::install_command},
      {"sudo_password_env", "sudo_password_env", of(Kind::env_name), &Host::sudo_password_env},
      {"sudo_password_file", "sudo_password_file", of(Kind::text), &Host::sudo_password_file},
      {"known_hosts", "known_hosts", of(Kind::text), &Host::known_hosts},
      {"relay_address", "relay_address", of(Kind::text, check_address), &Host::relay_address},
      {"relay_port", "relay_port", integer(1, 65535), &Host::relay_port},
      {"connect_timeout", "connect_timeout_ms", duration(100), &Host::connect_timeout},
      {"command_timeout", "command_timeout_ms", duration(100), &Host::command_timeout},
      {"labels", "labels", of(Kind::labels), &Host::labels},
  };
  return fields;
}

const std::vector<Field<RedisSettings>>& redis_fields() {
  static const std::vector<Field<RedisSettings>> fields{
      {"url", "url", of(Kind::redis_url, check_redis_url), &RedisSettings::url},
      {"password_env", "password_env", of(Kind::env_name), &RedisSettings::password_env},
      {"password_file", "password_file", of(Kind::text), &RedisSettings::password_file},
      {"key_prefix", "key_prefix", of(Kind::line, check_key_prefix), &RedisSettings::key_prefix},
      {"sentinels", "sentinels", of(Kind::addresses, check_host_port), &RedisSettings::sentinels},
      {"master_name", "master_name", of(Kind::line, check_master_name),
       &RedisSettings::master_name},
      {"sentinel_password_env", "sentinel_password_env", of(Kind::env_name),
       &RedisSettings::sentinel_password_env},
      {"sentinel_password_file", "sentinel_password_file", of(Kind::text),
       &RedisSettings::sentinel_password_file},
      {"wait_replicas", "wait_replicas", integer(0, 16), &RedisSettings::wait_replicas},
      {"wait_timeout", "wait_timeout_ms", duration(10), &RedisSettings::wait_timeout},
  };
  return fields;
}

const std::vector<Field<WorkerSettings>>& worker_fields() {
  using W = WorkerSettings;
  static const std::vector<Field<W>> fields{
      {"concurrency", "concurrency", integer(1, 4096), &W::concurrency},
      {"parse_threads", "parse_threads", integer(0, 256), &W::parse_threads},
      {"user_agent", "user_agent", of(Kind::line, nullptr, k_max_agent_bytes), &W::user_agent},
      {"robots_agent", "robots_agent", of(Kind::line, nullptr, k_max_agent_bytes),
       &W::robots_agent},
      {"max_body", "max_body_bytes", size(1024), &W::max_body_bytes},
      {"body_memory", "body_memory_bytes", size(1 << 20), &W::body_memory},
      {"connect_timeout", "connect_timeout_ms", duration(100), &W::connect_timeout},
      {"timeout", "timeout_ms", duration(100), &W::timeout},
      {"low_speed_bytes", "low_speed_bytes", size(0), &W::low_speed_bytes},
      {"low_speed_time", "low_speed_time_ms", duration(1000), &W::low_speed_time},
      {"max_redirects", "max_redirects", integer(0, 50), &W::max_redirects},
      {"heartbeat_interval", "heartbeat_interval_ms", duration(100), &W::heartbeat_interval},
      {"heartbeat_ttl", "heartbeat_ttl_ms", duration(300), &W::heartbeat_ttl},
      {"log_max_size", "log_max_bytes", size(4096), &W::log_max_bytes},
      {"log_keep", "log_keep", integer(0, 100), &W::log_keep},
      {"log_level", "log_level", choice({"info", "debug"}), &W::log_debug},
      {"stats_interval", "stats_interval_ms", duration(0), &W::stats_interval},
      {"warc_dir", "warc_dir", of(Kind::text), &W::warc_dir},
      {"warc_max_size", "warc_max_bytes", size(1 << 20), &W::warc_max_bytes},
  };
  return fields;
}

const std::vector<Field<JobDefaults>>& job_fields() {
  static const std::vector<Field<JobDefaults>> fields = [] {
    std::vector<Field<JobDefaults>> out;
    for (const auto& option : policy::job_options()) {
      if (option.key.empty()) continue;
      Rule rule;
      switch (option.rule.kind) {
        case policy::OptionRule::Kind::integer:
          rule = integer(option.rule.low, option.rule.high);
          break;
        case policy::OptionRule::Kind::duration:
          rule = duration(option.rule.low);
          rule.high = option.rule.high;
          break;
        default:  // a hosts-file key is given only to options of the kinds above
          std::abort();
      }
      out.push_back({option.key, option.field, rule, JobOptionMember{&option}});
    }
    return out;
  }();
  return fields;
}

std::string yaml_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "\"";
}

std::string yaml_value(const Rule& rule, const Value& value) {
  if (const auto* labels = std::get_if<Labels>(&value)) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : *labels) parts.push_back(yaml_quote(k) + ": " + yaml_quote(v));
    return fmt::format("{{{}}}", fmt::join(parts, ", "));
  }
  if (const auto* text = std::get_if<std::string>(&value)) return yaml_quote(*text);
  if (const auto* list = std::get_if<Strings>(&value)) {
    std::vector<std::string> parts;
    for (const auto& item : *list) parts.push_back(yaml_quote(item));
    return fmt::format("[{}]", fmt::join(parts, ", "));
  }
  const std::int64_t n = std::get<std::int64_t>(value);
  switch (rule.kind) {
    case Kind::duration:
      return fmt::format("{}ms", n);
    case Kind::choice:
      return std::string(rule.choices.at(static_cast<std::size_t>(n)));
    default:
      return std::to_string(n);
  }
}

}  // namespace crawl::config
