#pragma once
// A job's records read back page by page, each URL once, for `crawlctl results` and `crawlctl
// serve`: the job's records are drained home first (queue/records.hpp), then read from there,
// then, for a job of an earlier version, from its results hash (HSCAN). However many records a
// job holds, a reader keeps one page of them and 16 to 32 bytes per URL seen (a table of 64-bit
// hashes at most half full). A URL recorded twice (fetched again after its worker was taken for
// dead) is given once, as first recorded.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dir.hpp"
#include "core/result.hpp"
#include "queue/jobs.hpp"
#include "queue/record.hpp"
#include "queue/records.hpp"

namespace crawl::queue {

class ResultReader {
 public:
  // Every record of `job`, or only those of outcome `only`; its home is made under `root` when
  // the job has none yet.
  explicit ResultReader(std::string job, std::optional<Outcome> only = std::nullopt,
                        std::string root = default_records_root())
      : m_job(std::move(job)), m_only(only), m_root(std::move(root)) {}

  // Reads the next page and calls `each` with every record on it not seen before: the JSON as
  // it is kept, and what it says. A record that cannot be read is counted (unreadable()).
  // `count`: about that many records a page.
  using Each = std::function<void(const std::string& json, const Record& record)>;
  Result<void> next(Jobs& jobs, const Each& each, std::size_t count = 1000);
  bool done() const { return m_phase == Phase::done; }
  std::uint64_t unreadable() const { return m_unreadable; }
  // Stream entries the drainers found not to be records (skipped and counted in the home).
  std::uint64_t skipped() const { return m_skipped; }

 private:
  // HSCAN may return a record twice while Redis resizes the hash: the URLs seen, by a 64-bit
  // hash each (xxh3), in an open-addressing table kept at most half full. Two URLs of one job
  // share a hash with odds of 1 in 36 million at a million records.
  bool first_time(std::string_view url);
  void give(const std::string& json, const Each& each);
  Result<void> read_home(const Each& each, std::size_t count);

  enum class Phase { drain, home, hash, done };
  std::string m_job;
  std::optional<Outcome> m_only;
  std::string m_root;
  Phase m_phase = Phase::drain;
  Fd m_file;                 // the home's records.jsonl
  std::uint64_t m_size = 0;  // its bytes held whole when drained
  std::uint64_t m_offset = 0;
  std::string m_partial;  // a line begun in the last piece read
  std::string m_cursor = "0";
  std::uint64_t m_unreadable = 0;
  std::uint64_t m_skipped = 0;
  std::vector<std::uint64_t> m_seen;
  std::size_t m_seen_count = 0;
};

// The original service's answer, {url: [image, ...]} for the pages crawled (outcome done), written
// entry by entry as records come, as nlohmann-json's dump(2) writes the whole map (ASCII only).
class ImagesMap {
 public:
  // "{" and the page's entry, or "," and it; "" for a record that is not a page crawled.
  std::string entry(const Record& record);
  // What closes the map: "\n}", or "{}" when no entry was written.
  std::string close() const { return m_any ? "\n}" : "{}"; }

 private:
  bool m_any = false;
};

}  // namespace crawl::queue
