#pragma once
// The Lua scripts of the data model. Each runs atomically in Redis, so a counter never moves
// without the entry it counts. Every script takes the key prefix as ARGV[1].

#include <string_view>

namespace crawl::queue::scripts {

// ARGV: prefix, job, depth, then triples (fingerprint as 8 bytes, url, drop reason or "").
// Dedup and admit each URL: new ones are queued (or recorded filtered with their reason).
// Returns {admitted, duplicates}.
extern const std::string_view enqueue;

// ARGV: prefix, worker, n, now_ms. Moves due delayed entries to the frontier, then leases up to n
// entries into the worker's in-flight list. Returns the entries.
extern const std::string_view claim;

// ARGV: prefix, worker, then per page: entry, kind (done|failed|filtered|retry|release), reason,
// url, record json, bytes, retry entry, not_before_ms, link depth, link count, then per link
// (fingerprint, url, drop reason). Acks each page whose entry is still leased to this worker
// (others were reaped or already recorded and are skipped whole, which makes a replay
// harmless), records its outcome, admits its links. Returns {pages applied, links admitted}.
extern const std::string_view complete;

// ARGV: prefix, worker, force ("1" to reap even a live worker: a restart under the same id).
// Returns the dead worker's leased entries to the frontier; -1 if the worker is alive.
extern const std::string_view reap;

// ARGV: prefix, authority, now_ms, delay_ms. Reserves the next request slot for a host, shared by
// all workers: returns the time (ms) the caller may fetch, and moves the slot on by delay.
extern const std::string_view reserve;

}  // namespace crawl::queue::scripts
