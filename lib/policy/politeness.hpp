#pragma once
// Politeness and retry arithmetic. Pure: times are milliseconds since the epoch, passed in.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace crawl::policy {

// The wait a Retry-After header asks for: delta-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT") relative to `now_ms`; nullopt when it says nothing usable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_ms);

// When to retry after failed attempt `attempt` (1 = the first): exponential from `base`
// (base, 2*base, 4*base, ...) capped at `cap`, with up to 25% jitter from `jitter` in [0, 1),
// and never sooner than the server's Retry-After.
std::chrono::milliseconds retry_delay(int attempt, std::chrono::milliseconds base,
                                      std::chrono::milliseconds cap, double jitter,
                                      std::optional<std::chrono::milliseconds> retry_after);

// Whether an outcome is worth another attempt: timeouts and connection failures (status 0), 408,
// 429 and 5xx.
bool retryable_status(long http_status);

}  // namespace crawl::policy
