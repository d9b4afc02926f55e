#pragma once
// One log line per event on stderr: "2026-11-22T16:00:00.123Z info crawlworker event=claimed n=16".
// Timestamps in UTC, key=value fields, so logs from a whole fleet sort and grep alike.

#include <string>

namespace crawl {

void setup_logging(const std::string& program, bool debug);

}  // namespace crawl
