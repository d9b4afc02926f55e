#pragma once
// A job's records leave Redis. The scripts that record an outcome append it to the job's stream
// (P:job:J:records): a fetched page's record as the worker wrote it (field r), a URL filtered
// at admission as its parts (u, f, d, t). A drainer moves them, oldest first, into one file on
// the machine that drains them, the job's *home*, and trims the stream behind it: Redis holds
// the records of a job only until they are home (at most the job's records_backlog: past it,
// the job's claims wait). `crawlctl drain`, `wait`, `results` and `serve` drain.
//
// The home is the directory ROOT/PREFIX-jobJ-TOKEN on one machine, named in the job's hash
// (records_home, "HOST:PATH") by the first drainer: a drainer on another machine is refused,
// told where the records are. It holds records.jsonl (a record per line, every one written by
// to_json's writer) and `drained` ("SIZE SKIPPED LAST-ID": the bytes of records.jsonl held
// whole, the stream entries that were not records, the last entry drained). A drain appends a
// batch and syncs it, then replaces
// `drained`, then trims the batch from the stream: a drainer killed before `drained` leaves a
// tail that the next one cuts off (its entries are still in the stream); killed after it, the
// next one trims what the last one drained (its id is in `drained` too). Nothing is lost and
// nothing is written twice, but for one case: a Sentinel failover to a replica that missed a
// trim, whose batch is drained again (readers keep a URL's first record).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dir.hpp"
#include "core/result.hpp"
#include "queue/keys.hpp"
#include "queue/redis.hpp"

namespace crawl::queue {

// Where homes are made: $CRAWL_RECORDS_DIR, else $XDG_DATA_HOME/crawl/records, else
// ~/.local/share/crawl/records.
std::string default_records_root();

// The file names in a home.
inline constexpr std::string_view k_records_file = "records.jsonl", k_drained_file = "drained",
                                  k_marker_file = "job";

// A stream entry's fields (name, value, ...) as its record's JSON, or nullopt when they are
// neither form of record.
std::optional<std::string> record_of_entry(const Reply& fields);

// Entries a drain moves a round trip: 200 records of at most 1 MiB each (k_max_record_bytes)
// bound what one reply may hold; of the usual 1 to 2 KB, 200 make a few hundred KB.
inline constexpr std::size_t k_drain_batch = 200;

class RecordHome {
 public:
  // The job's home in the records directory `root` of this machine: made the first time (and
  // marked, `job` holding "PREFIX JOB"), found again after, and locked while this object lives
  // (one drainer at a time; another waits up to 30 s, then fails of kind connection). Fails
  // when the job does not exist (not_found), or its home is on another machine, in another
  // records directory, not a home of this job, or gone (invalid, saying which).
  static Result<RecordHome> open(Redis& redis, const Keys& keys, const std::string& job,
                                 const std::string& root);

  // Moves up to `max` of the stream's oldest entries home; how many moved (0: none waited).
  // After a failure, this object drains no more (open the home again).
  Result<std::size_t> drain(std::size_t max = k_drain_batch);
  // Drains until the stream is empty, or at most as many entries as it held when called and one
  // batch more (a crawl adding records as fast is not chased for ever); how many moved.
  Result<std::uint64_t> drain_all(std::size_t batch = k_drain_batch);

  const OutputDir& dir() const { return m_dir; }
  std::uint64_t size() const { return m_size; }        // bytes of records.jsonl held whole
  std::uint64_t skipped() const { return m_skipped; }  // entries that were not records
  const std::string& job() const { return m_job; }

 private:
  RecordHome(Redis& redis, std::string stream, std::string job, OutputDir dir, Fd lock)
      : m_redis(&redis),
        m_stream(std::move(stream)),
        m_job(std::move(job)),
        m_dir(std::move(dir)),
        m_lock(std::move(lock)) {}
  Result<void> recover();
  Result<void> trim(const std::string& last_id);

  Redis* m_redis;
  std::string m_stream;
  std::string m_job;
  OutputDir m_dir;
  Fd m_lock;
  std::uint64_t m_size = 0;
  std::uint64_t m_skipped = 0;
  std::string m_last_id;  // of the last batch drained ("" before the first)
  bool m_failed = false;
};

// One pass of a drainer: every job whose stream holds records (or only the jobs `only`), each
// drained into its home under `root`. A job that cannot be drained here (its home is on another
// machine, its stream is of another type) is reported in its row and the others go on.
struct DrainedJob {
  std::string job;
  std::uint64_t moved = 0;
  std::optional<Error> error;
};
Result<std::vector<DrainedJob>> drain_jobs(Redis& redis, const Keys& keys, const std::string& root,
                                           const std::vector<std::string>& only = {});
// The first error of such a pass, if any.
std::optional<Error> first_error(const Result<std::vector<DrainedJob>>& pass);

// What a home's `drained` says (kind not_found when it has none).
struct Drained {
  std::uint64_t size = 0;
  std::uint64_t skipped = 0;
  std::string last_id;
};
Result<Drained> read_drained(const OutputDir& home);

}  // namespace crawl::queue
