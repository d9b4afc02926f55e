#pragma once
// A worker's heartbeat (P:worker:{id}, docs/redis-data-model.md): what it says of itself every
// heartbeat_interval, one string value of "name=value" lines. The worker writes it and status
// and the fleet tasks read it through this one codec, so the field names and their forms live
// here only. One value per worker, not a hash, so that reading 10,000 of them is 10,000 strings
// in one pipeline rather than 10,000 arrays of 40 (docs/performance.md, "The HTTP service").

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace crawl::queue {

struct Heartbeat {
  std::string host;  // the machine's name, as the hosts file has it
  std::int64_t pid = 0;
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

// The value written to P:worker:{id}: "host=h1\npid=4242\n...\nerror.timeout=3\n". Text is
// percent-encoded where it holds '%', '=' or a line break.
std::string encode_heartbeat(const Heartbeat& beat);
// A value encode_heartbeat wrote. A field missing or out of form reads as its default; a line
// of a field this version does not know is skipped (a newer worker's).
Heartbeat decode_heartbeat(std::string_view value);
// The hash a worker of the version before wrote (HGETALL's fields), so that a fleet in the middle
// of a rolling deploy is shown whole.
Heartbeat parse_heartbeat_hash(const std::map<std::string, std::string>& fields);

}  // namespace crawl::queue
