#pragma once
// The Lua scripts of the data model. Each runs atomically in Redis, so a counter never moves
// without the entry it counts. Every script takes the key prefix as ARGV[1].

#include <string_view>

namespace crawl::queue::scripts {

// A submit in progress refreshes its job's submitter key with every batch (enqueue); silent this
// long, it is taken to have been cut short.
inline constexpr long long k_submitter_ttl_ms = 10'000;

// ARGV: prefix, job, depth, then triples (fingerprint as 8 bytes, url, drop reason or "").
// Dedup and admit each URL: new ones are queued (or recorded filtered with their reason). For a
// job marked submitting, refreshes its submitter key. Returns {admitted, duplicates}.
extern const std::string_view enqueue;

// ARGV: prefix, worker, n, now_ms. Moves due delayed entries to the frontier, then leases up to n
// entries into the worker's in-flight list. Entries of paused jobs met on the way are parked,
// those of cancelled or deleted jobs dropped. Returns the entries.
extern const std::string_view claim;

// ARGV: prefix, worker, then per page: entry, kind (done|failed|filtered|retry|release|defer|cancel),
// reason, url, record json, bytes, retry entry (retry: the entry one attempt on; defer: the entry
// as it is), not_before_ms, link depth, link count, then per link
// (fingerprint, url, drop reason). Acks each page whose entry is still leased to this worker
// (others were reaped or already recorded and are skipped whole, which makes a replay
// harmless), records its outcome, admits its links (none into a cancelled job; a retry or release
// of a cancelled job's page counts as cancelled), and counts the job's pages per second.
// Returns {pages applied, links admitted}.
extern const std::string_view complete;

// ARGV: prefix, worker, force ("1" to reap even a live worker: a restart under the same id).
// Returns the dead worker's leased entries to the frontier; -1 if the worker is alive. A dead
// worker is unregistered and listed in P:workers:dead with its last heartbeat.
extern const std::string_view reap;

// ARGV: prefix, job, pause|resume|cancel, n. Sets the job's state; resume moves up to n parked
// entries back to the frontier, cancel drops them. Returns {state, entries moved or dropped}.
extern const std::string_view control;

// ARGV: prefix, n, delayed rank (-1: skip the delayed set). Settles up to n frontier entries
// (park, drop or keep, as claim does) and drops cancelled jobs' delayed entries among n from
// that rank. Returns {examined, removed, next rank or -1}.
extern const std::string_view sweep;

// ARGV: prefix, job, submitter TTL (ms). A submit into an existing job begins: `submitting`
// counts one more (or is 1 when no submit is alive: the count was of submits cut short), the
// seeds_version moves, the submitter key is set. Returns 1; 0: no such job; -1: cancelled.
extern const std::string_view begin_submit;

// ARGV: prefix, job. A submit into the job ended: `submitting` counts one less, and when none is
// left the field and the submitter key are removed. Returns the submits still going.
extern const std::string_view end_submit;

// ARGV: prefix, authority, now_ms, delay_ms. Reserves the next request slot for a host, shared by
// all workers: returns the time (ms) the caller may fetch, and moves the slot on by delay.
extern const std::string_view reserve;

}  // namespace crawl::queue::scripts
