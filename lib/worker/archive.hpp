#pragma once
// The worker's WARC files: for each job that asks for them (--warc), one writer in the worker's
// warc_dir, its files named jobJOB-TIME-SERIAL-WORKER.warc.gz (lib/warc). Each fetch of such a
// job is captured as it crosses the wire (a fetch::Tap) and written, once it ends, as a response
// record and a request record for each hop (a robots.txt redirect followed is several), or as a
// request and a metadata record when no response came. A file closes past its size, when its job
// has written nothing for a while (so that `crawlctl collect` can take it), and when the worker
// stops; files a killed worker left open are cut back to their last whole record at its start.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "fetch/fetcher.hpp"
#include "warc/warc.hpp"

namespace crawl::worker {

struct ArchiveOptions {
  std::string dir;        // warc_dir, created when first needed
  std::string worker_id;  // the writers' name in the files
  std::uint64_t max_file_bytes = warc::k_default_max_file_bytes;
  std::int64_t idle_close_ms = 60'000;  // a job's file closes after this long with no record
  warc::Fields info = {};               // the warcinfo records' fields
};

// Where a fetch's records went: the response's (or the metadata's) file and offset.
struct Archived {
  std::string file;
  std::uint64_t offset = 0;
};

class Archive {
 public:
  explicit Archive(ArchiveOptions options);
  ~Archive();
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;

  // Cuts back and closes the files an earlier run under this id left open. Logs what it did.
  void recover();
  // A tap for a request of `job`, a job that archives: the request's exchange goes to its files.
  std::unique_ptr<fetch::Tap> tap(const std::string& job);
  // Writes a finished transfer's records to its job's file, if it had a tap() (nothing
  // otherwise). Nothing when the write fails (logged, and counted in errors()).
  std::optional<Archived> write(const fetch::Response& response, std::int64_t now_ms);
  // Closes the files of jobs idle past idle_close_ms; returns when the next one will be (-1:
  // none is open).
  std::int64_t close_idle(std::int64_t now_ms);
  void close_all();
  std::uint64_t errors() const { return m_errors; }

 private:
  struct Job {
    std::unique_ptr<warc::Writer> writer;
    std::int64_t last_ms = 0;
  };
  Job* job_writer(const std::string& job);
  bool ready_dir();  // warc_dir made (once), or the failure logged

  ArchiveOptions m_options;
  std::map<std::string, Job> m_jobs;
  bool m_dir_ready = false;
  std::uint64_t m_errors = 0;
};

}  // namespace crawl::worker
