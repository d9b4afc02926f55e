#pragma once
// The worker's clock: milliseconds since the epoch, as every time in lib/worker is counted.

#include <chrono>
#include <cstdint>

namespace crawl::worker {

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace crawl::worker
