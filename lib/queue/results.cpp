#include "queue/results.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>
#include <unistd.h>
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

void ResultReader::give(const std::string& json, const Each& each) {
  auto record = record_from_json(json);
  if (!record) {
    ++m_unreadable;
    return;
  }
  if (!first_time(record->url)) return;
  if (m_only && record->outcome != *m_only) return;
  each(json, *record);
}

Result<void> ResultReader::read_home(const Each& each, std::size_t count) {
  std::size_t given = 0;
  std::string piece(64 << 10, '\0');
  while (given < count && m_offset < m_size) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), m_size - m_offset));
    const ssize_t n = ::pread(m_file.get(), piece.data(), want, static_cast<off_t>(m_offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return fail("reading the records of job {}: {}", m_job,
                  n == 0 ? "the file is shorter than drained" : std::strerror(errno));
    m_offset += static_cast<std::uint64_t>(n);
    std::string_view rest(piece.data(), static_cast<std::size_t>(n));
    for (std::size_t end; (end = rest.find('\n')) != std::string_view::npos;) {
      m_partial.append(rest.substr(0, end));
      rest.remove_prefix(end + 1);
      give(m_partial, each);
      m_partial.clear();
      ++given;
    }
    m_partial.append(rest);
  }
  if (m_offset >= m_size) {
    if (!m_partial.empty()) ++m_unreadable;  // a last line without its newline
    m_partial.clear();
    m_file = Fd();
    m_phase = Phase::hash;
  }
  return {};
}

Result<void> ResultReader::next(Jobs& jobs, const Each& each, std::size_t count) {
  switch (m_phase) {
    case Phase::drain: {
      auto home = RecordHome::open(jobs.redis(), jobs.keys(), m_job, m_root);
      if (!home) return fail(home.error());
      if (auto moved = home->drain_all(); !moved) return fail(moved.error());
      auto file = home->dir().open_read(k_records_file);
      if (!file) return fail(file.error());
      m_file = std::move(*file);
      m_size = home->size();
      m_skipped = home->skipped();
      m_phase = Phase::home;
      return {};
    }
    case Phase::home:
      return read_home(each, count);
    case Phase::hash: {
      auto page = jobs.results(m_job, m_cursor, count);
      if (!page) return fail(page.error());
      for (const std::string& json : *page) give(json, each);
      if (m_cursor == "0") m_phase = Phase::done;
      return {};
    }
    case Phase::done:
      return {};
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
