#include "queue/results.hpp"

#include <nlohmann/json.hpp>
#include <xxhash.h>

namespace crawl::queue {

bool ResultReader::first_time(std::string_view url) {
  if ((m_seen_count + 1) * 2 > m_seen.size()) {
    std::vector<std::uint64_t> old(std::max<std::size_t>(1024, m_seen.size() * 2), 0);
    old.swap(m_seen);
    m_seen_count = 0;
    for (const std::uint64_t h : old)
      if (h != 0) {
        std::size_t i = h & (m_seen.size() - 1);
        while (m_seen[i] != 0) i = (i + 1) & (m_seen.size() - 1);
        m_seen[i] = h;
        ++m_seen_count;
      }
  }
  std::uint64_t h = XXH3_64bits(url.data(), url.size());
  if (h == 0) h = 1;  // 0 marks an empty slot
  std::size_t i = h & (m_seen.size() - 1);
  while (m_seen[i] != 0) {
    if (m_seen[i] == h) return false;
    i = (i + 1) & (m_seen.size() - 1);
  }
  m_seen[i] = h;
  ++m_seen_count;
  return true;
}

Result<void> ResultReader::next(Jobs& jobs, const Each& each, std::size_t count) {
  if (done()) return {};
  std::string cursor = m_cursor;
  auto page = jobs.results(m_job, cursor, count);
  if (!page) return fail(page.error());
  m_cursor = std::move(cursor);
  m_started = true;
  for (const std::string& json : *page) {
    auto record = record_from_json(json);
    if (!record) {
      ++m_unreadable;
      continue;
    }
    if (!first_time(record->url)) continue;
    if (m_only && record->outcome != *m_only) continue;
    each(json, *record);
  }
  return {};
}

std::string ImagesMap::entry(const Record& record) {
  if (record.outcome != Outcome::done) return {};
  auto quoted = [](const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  };
  std::string out = m_any ? ",\n  " : "{\n  ";
  m_any = true;
  out += quoted(record.url);
  if (record.images.empty()) return out + ": []";
  out += ": [";
  for (std::size_t i = 0; i < record.images.size(); ++i)
    out += (i == 0 ? "\n    " : ",\n    ") + quoted(record.images[i]);
  return out + "\n  ]";
}

}  // namespace crawl::queue
