#pragma once
// What a crawl records about one URL: its terminal state and what was found. Stored as JSON in
// the job's results hash, keyed by URL, so a re-crawl overwrites instead of duplicating.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crawl::queue {

enum class Outcome { done, failed, filtered };
std::string_view to_string(Outcome outcome);

struct Record {
  std::string url;
  Outcome outcome = Outcome::done;
  std::string reason;     // failed: http_404, timeout, ...; filtered: offsite, robots, ...
  int status = 0;         // last HTTP status, 0 when none arrived
  std::string final_url;  // after redirects
  std::string title;
  std::string content_type;   // without parameters
  std::uint64_t bytes = 0;    // body bytes received
  bool truncated = false;     // body longer than max_body, cut there
  std::int64_t fetch_ms = 0;  // time of all hops
  int depth = 0;
  int links = 0;                    // links found on the page (before dedup)
  std::uint64_t links_dropped = 0;  // links and images past the job's max_links_per_page, not kept
  std::string parse_cut;  // "memory", "size", "elements" or "nesting": links and images only from
                          // the part parsed
  bool noindex = false;   // <meta name="robots" content="noindex">: the site asks not to index it
  std::vector<std::string> images;
  std::string error;  // human-readable detail for failures
  std::string worker;
  std::int64_t at_ms = 0;  // when the outcome was recorded

  bool operator==(const Record&) const = default;
};

std::string to_json(const Record& record);
// nullopt for text that is not such a record: not JSON, no url or outcome, or a field of the
// wrong type (records come from Redis, where anyone with access may have written them).
std::optional<Record> record_from_json(std::string_view json);

}  // namespace crawl::queue
