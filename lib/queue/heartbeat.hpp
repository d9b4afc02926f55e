#pragma once
// A worker's heartbeat hash (P:worker:{id}, docs/redis-data-model.md): what it says of itself
// every heartbeat_interval. The worker writes it and status and the fleet tasks read it through
// this one codec, so the field names and their forms live here only.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crawl::queue {

struct Heartbeat {
  std::string host;  // the machine's name, as the hosts file has it
  long pid = 0;
  std::string state = "running";  // running, draining; dead once reaped
  std::int64_t started_ms = 0;    // the worker's clock
  std::string deploy;             // the deploy that started it ("" for one started by hand)
  std::int64_t last_ms = 0;       // this heartbeat, by the worker's clock
  std::int64_t ttl_ms = 0;        // how long it stands (set by Fleet::heartbeat)
  std::uint64_t in_flight = 0;    // leases held
  std::uint64_t transfers = 0;    // requests under way in libcurl
  std::uint64_t body_memory = 0;  // bytes of bodies held
  std::uint64_t pages = 0, failed = 0, filtered = 0, retries = 0, bytes = 0;  // since its start
  double rate = 0;                              // pages per second over the last minute
  std::map<std::string, std::uint64_t> errors;  // failures and retries by reason
  std::uint64_t rss_bytes = 0;
  int concurrency = 0;  // its task slots
};

// The hash's fields read on their own (Fleet::heartbeats).
inline constexpr std::string_view k_heartbeat_pid = "pid";
inline constexpr std::string_view k_heartbeat_deploy = "deploy";
inline constexpr std::string_view k_heartbeat_last_ms = "last_ms";

// Field name -> value, as HSET takes them.
std::vector<std::pair<std::string, std::string>> heartbeat_fields(const Heartbeat& beat);
// The hash as HGETALL returns it; a field missing or out of form reads as its default.
Heartbeat parse_heartbeat(const std::map<std::string, std::string>& fields);

}  // namespace crawl::queue
