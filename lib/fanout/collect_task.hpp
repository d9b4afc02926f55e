#pragma once
// The per-host task of `crawlctl collect`: lib/deploy's collect script run over a Remote, the
// closed WARC files it sends saved under OUTDIR/HOST/, each only once and whole: a file comes in
// as .NAME.part (a later run resumes it where it stopped), and becomes NAME once its size and
// SHA-256 are the host's; beside it, NAME.cdxj, its CDXJ index (lib/warc/index).

#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "fanout/pool.hpp"

namespace crawl::fanout {

struct CollectTask {
  std::string outdir;
  std::string warc_dir;  // the workers' worker.warc_dir
  std::string job;       // "" = every job's files
};

// One host: every closed WARC file not yet held whole, verified. Summary: "3 files, 1.2 GB new".
Expected<TaskResult> collect_warcs(Remote& remote, const config::Host& host,
                                   const CollectTask& task, Clock::time_point deadline);

// OUTDIR/index.cdxj: every file's index under OUTDIR/*/ merged, sorted. Returns its lines.
Result<std::uint64_t> write_collection_index(const std::string& outdir);

}  // namespace crawl::fanout
