#pragma once
// When a worker claims URLs and when it records outcomes, by the clock it is given: pure, so the
// rules are unit-tested (tests/unit/worker_pacing_test.cpp).
//
// A claim gives only URLs whose sites may be fetched now, so they all start at once. Claims of a
// few slots are spaced (50 ms) so that one slow transfer does not cost a round trip per free
// slot; when a claim came back short, the next waits for the next site's time (at most a second:
// other workers may free slots sooner). Outcomes are held up to 50 ms to go in one round trip
// (5 ms after a short claim: the slots they give back may be what it lacked), or sent at once
// when they are a batch or hold a few MB.

#include <cstddef>
#include <cstdint>

namespace crawl::worker {

class Pacing {
 public:
  // `slots`: the worker's task slots (its concurrency); `batch`: the most URLs one claim asks for.
  Pacing(std::size_t slots, std::size_t batch) : m_slots(slots), m_batch(batch) {}

  // When the next claim may be made while `held` slots are taken; -1: none (all are). With less
  // than half a batch free, claims are at least 50 ms apart.
  std::int64_t claim_at(std::size_t held) const;
  // How many URLs to ask for.
  std::size_t claim_size(std::size_t held) const;
  // A claim of `asked` URLs made at `now` brought `got`; the frontier's next site is due in
  // `next_in_ms` (-1: unknown).
  void claimed(std::int64_t now, std::size_t asked, std::size_t got, std::int64_t next_in_ms);
  // A claim made at `now` failed: not at once again, the loop would spin.
  void claim_failed(std::int64_t now);
  // Slots were given back, or work was announced: a claim may be made at once.
  void claim_soon() { m_next_claim_ms = 0; }
  // When the frontier may next have URLs for this worker (0: now).
  std::int64_t work_at() const { return m_next_claim_ms; }

  // When `count` outcomes of `bytes`, the oldest from `oldest_ms`, are to be recorded; `force`
  // (draining) sends them at the first chance.
  std::int64_t flush_at(std::size_t count, std::size_t bytes, std::int64_t oldest_ms,
                        bool force) const;
  void flush_failed(std::int64_t now) { m_next_flush_ms = now + 1000; }
  // Outcomes were recorded: their sites' slots are free again, and a site that waited for one
  // may be leased now.
  void flushed() { claim_soon(); }

  // Idle, the worker blocks in Redis for work; after a failed wait it sleeps a second instead.
  bool may_block(std::int64_t now) const { return now >= m_next_wait_ms; }
  void wait_failed(std::int64_t now) { m_next_wait_ms = now + 1000; }

  // Outcomes go once they hold this many bytes of records and links, whatever their number:
  // one page can hold a 1 MiB record and 512 KiB of links, and each is copied twice on its way
  // to Redis; what waits to be recorded stays a few MB.
  static constexpr std::size_t k_outcome_bytes = 4u << 20;

 private:
  std::int64_t hold_ms() const { return m_claim_short ? 5 : 50; }

  std::size_t m_slots, m_batch;
  std::int64_t m_next_claim_ms = 0;
  std::int64_t m_last_claim_ms = 0;
  bool m_claim_short = false;        // the last claim got fewer entries than it asked for
  std::int64_t m_next_flush_ms = 0;  // after a failed attempt to record outcomes
  std::int64_t m_next_wait_ms = 0;   // after a failed wait for work
};

}  // namespace crawl::worker
