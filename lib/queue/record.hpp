#pragma once
// What a crawl records about one URL: its terminal state and what was found. Stored as JSON in
// the job's results hash, keyed by URL, so a re-crawl overwrites instead of duplicating.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crawl::queue {

enum class Outcome { done, failed, filtered };
std::string_view to_string(Outcome outcome);
// The outcome to_string names `text`, if any.
std::optional<Outcome> outcome_of(std::string_view text);

struct Record {
  std::string url;
  Outcome outcome = Outcome::done;
  std::string reason;     // failed: http_404, timeout, ...; filtered: offsite, robots, ...
  int status = 0;         // last HTTP status, 0 when none arrived
  std::string final_url;  // after redirects
  std::string title;
  std::string content_type;   // without parameters
  std::string encoding;       // a page parsed: the encoding it was read in (the WHATWG name)
  std::string encoding_from;  // how that was found: bom, header, meta, detected or default
  std::uint64_t bytes = 0;    // body bytes received
  bool truncated = false;     // body longer than max_body, cut there
  std::int64_t fetch_ms = 0;  // time of all hops
  int depth = 0;
  int links = 0;                     // links found on the page (before dedup)
  std::uint64_t links_dropped = 0;   // links past the page's limits (html::Limits), not admitted
  std::uint64_t images_dropped = 0;  // images past the page's limits or the record's, not kept
  std::string parse_cut;  // "memory", "size", "elements", "nesting" or (a sitemap) "error": links
                          // and images only from the part parsed
  bool noindex = false;   // <meta name="robots" content="noindex">: the site asks not to index it
  std::string canonical;  // the page's <link rel="canonical">, normalised
  std::string sitemap;    // a sitemap read for its URLs: "urlset" or "index" ("" for others)
  // With --warc: the WARC file (its name on the worker's host) and the offset of the gzip
  // member that holds the fetch's response (or, when none came, its metadata) record.
  std::string warc_file;
  std::uint64_t warc_offset = 0;
  std::vector<std::string> images;
  std::string error;  // human-readable detail for failures
  std::string worker;
  std::int64_t at_ms = 0;  // when the outcome was recorded

  bool operator==(const Record&) const = default;
};

// What a record may hold, whatever it is given: each text field cut to k_max_record_text bytes
// (at a character boundary), and images in order while the whole stays within
// k_max_record_bytes, the rest counted in images_dropped. Its URLs are not cut: they are
// normal-form URLs (url::k_max_length), as every entry read from Redis is checked to hold. A
// page's output is bounded before it gets here (html::Limits); this bounds what Redis keeps.
inline constexpr std::size_t k_max_record_bytes = 1u << 20;
inline constexpr std::size_t k_max_record_text = 2048;

// Cuts the record to those bounds (to_json writes the same record either way; this tells the
// caller what was dropped).
void fit(Record& record);
std::string to_json(const Record& record);
// nullopt for text that is not such a record: not JSON, no url or outcome, or a field of the
// wrong type (records come from Redis, where anyone with access may have written them).
std::optional<Record> record_from_json(std::string_view json);

}  // namespace crawl::queue
