#include "queue/heartbeat.hpp"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace crawl::queue {

namespace {

template <class T>
T number(const std::map<std::string, std::string>& fields, const char* name) {
  T out{};
  if (auto it = fields.find(name); it != fields.end())
    if (auto [end, ec] =
            std::from_chars(it->second.data(), it->second.data() + it->second.size(), out);
        ec != std::errc() || end != it->second.data() + it->second.size())
      out = T{};
  return out;
}

std::string text(const std::map<std::string, std::string>& fields, std::string_view name) {
  auto it = fields.find(std::string(name));
  return it == fields.end() ? std::string() : it->second;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> heartbeat_fields(const Heartbeat& b) {
  auto n = [](auto v) { return std::to_string(v); };
  return {{"host", b.host},
          {std::string(k_heartbeat_pid), n(b.pid)},
          {"state", b.state},
          {"started_ms", n(b.started_ms)},
          {std::string(k_heartbeat_deploy), b.deploy},
          {std::string(k_heartbeat_last_ms), n(b.last_ms)},
          {"ttl_ms", n(b.ttl_ms)},
          {"in_flight", n(b.in_flight)},
          {"transfers", n(b.transfers)},
          {"body_memory", n(b.body_memory)},
          {"pages", n(b.pages)},
          {"failed", n(b.failed)},
          {"filtered", n(b.filtered)},
          {"retries", n(b.retries)},
          {"bytes", n(b.bytes)},
          {"rate", fmt::format("{:.2f}", b.rate)},
          {"errors", nlohmann::json(b.errors).dump()},
          {"rss_bytes", n(b.rss_bytes)},
          {"concurrency", n(b.concurrency)}};
}

Heartbeat parse_heartbeat(const std::map<std::string, std::string>& f) {
  Heartbeat b;
  b.host = text(f, "host");
  b.pid = number<long>(f, "pid");
  if (auto state = text(f, "state"); !state.empty()) b.state = state;
  b.started_ms = number<std::int64_t>(f, "started_ms");
  b.deploy = text(f, k_heartbeat_deploy);
  b.last_ms = number<std::int64_t>(f, k_heartbeat_last_ms.data());
  b.ttl_ms = number<std::int64_t>(f, "ttl_ms");
  b.in_flight = number<std::uint64_t>(f, "in_flight");
  b.transfers = number<std::uint64_t>(f, "transfers");
  b.body_memory = number<std::uint64_t>(f, "body_memory");
  b.pages = number<std::uint64_t>(f, "pages");
  b.failed = number<std::uint64_t>(f, "failed");
  b.filtered = number<std::uint64_t>(f, "filtered");
  b.retries = number<std::uint64_t>(f, "retries");
  b.bytes = number<std::uint64_t>(f, "bytes");
  b.rate = number<double>(f, "rate");
  b.rss_bytes = number<std::uint64_t>(f, "rss_bytes");
  b.concurrency = number<int>(f, "concurrency");
  const auto errors = nlohmann::json::parse(text(f, "errors"), nullptr, false);
  if (errors.is_object())
    for (auto it = errors.begin(); it != errors.end(); ++it)
      if (it->is_number_unsigned()) b.errors[it.key()] = it->get<std::uint64_t>();
  return b;
}

}  // namespace crawl::queue
