#pragma once
// GET /metrics: the crawl in the Prometheus text format (0.0.4), written straight as text from
// one status snapshot, the one `crawlctl status` judges. Names and labels as
// Prometheus' conventions say: a crawl_ prefix, base units (seconds, bytes), _total for
// counters, one family per quantity with its breakdown in labels. docs/api.md lists them. Pure.

#include <string>

#include "status/view.hpp"

namespace crawl::service {

// What one scrape measured of Redis itself.
struct RedisProbe {
  bool up = false;
  double round_trip_seconds = 0;     // of a command that costs Redis next to nothing
  long long used_memory_bytes = -1;  // -1: unknown
};

// `snapshot` and `verdict` are null when Redis could not be read: then only crawl_redis_up 0.
std::string metrics_text(const status::Snapshot* snapshot, const status::Verdict* verdict,
                         const RedisProbe& redis);

}  // namespace crawl::service
