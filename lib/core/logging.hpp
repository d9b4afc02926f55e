#pragma once
// One log line per event on stderr: "2026-11-22T16:00:00.123Z info crawlworker event=claimed n=16".
// Timestamps in UTC, key=value fields, so logs from a whole fleet sort and grep alike.

#include <cstddef>
#include <string>

namespace crawl {

void setup_logging(const std::string& program, bool debug);

// The same lines into `path`, rotated past `max_bytes` into path.1 ... path.<keep> (the name's
// extension kept last: w1.log -> w1.1.log), so a long crawl cannot fill a disk. stdout and
// stderr are pointed at the file too, for what is written before or outside the logger.
// Returns false (with errno set) when the file cannot be opened.
bool setup_file_logging(const std::string& program, bool debug, const std::string& path,
                        std::size_t max_bytes, std::size_t keep);

}  // namespace crawl
