#include "worker/pacing.hpp"

#include <algorithm>

namespace crawl::worker {

std::int64_t Pacing::claim_at(std::size_t held) const {
  const std::size_t free = m_slots > held ? m_slots - held : 0;
  if (free == 0) return -1;
  if (free < m_batch / 2) return std::max(m_next_claim_ms, m_last_claim_ms + 50);
  return m_next_claim_ms;
}

std::size_t Pacing::claim_size(std::size_t held) const {
  return std::min(m_slots > held ? m_slots - held : 0, m_batch);
}

void Pacing::claimed(std::int64_t now, std::size_t asked, std::size_t got,
                     std::int64_t next_in_ms) {
  m_last_claim_ms = now;
  m_claim_short = got < asked;
  if (m_claim_short)
    m_next_claim_ms = now + std::clamp<std::int64_t>(next_in_ms < 0 ? 1000 : next_in_ms, 10, 1000);
}

void Pacing::claim_failed(std::int64_t now) {
  m_last_claim_ms = now;
  m_next_claim_ms = now + 1000;
}

std::int64_t Pacing::flush_at(std::size_t count, std::size_t bytes, std::int64_t oldest_ms,
                              bool force) const {
  if (force || count >= m_batch || bytes >= k_outcome_bytes) return m_next_flush_ms;
  return std::max(m_next_flush_ms, oldest_ms + hold_ms());
}

}  // namespace crawl::worker
