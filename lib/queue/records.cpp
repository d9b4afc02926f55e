#include "queue/records.hpp"

#include <cstdlib>
#include <filesystem>
#include <random>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "core/text.hpp"
#include "queue/record.hpp"

namespace crawl::queue {

namespace {

std::string this_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// A stream entry id, "MS-SEQ", as its two numbers; nullopt for anything else.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_id(std::string_view id) {
  const auto dash = id.find('-');
  std::pair<std::uint64_t, std::uint64_t> out;
  if (dash == std::string_view::npos || !parse_decimal(id.substr(0, dash), out.first) ||
      !parse_decimal(id.substr(dash + 1), out.second))
    return std::nullopt;
  return out;
}

// The least id after `id`: XTRIM MINID with it removes `id` and every entry before it.
std::string id_after(std::pair<std::uint64_t, std::uint64_t> id) {
  if (id.second == UINT64_MAX) return fmt::format("{}-0", id.first + 1);
  return fmt::format("{}-{}", id.first, id.second + 1);
}

const std::string* field(const Reply& fields, std::string_view name) {
  for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2)
    if (fields.elements[i].str == name) return &fields.elements[i + 1].str;
  return nullptr;
}

}  // namespace

std::string default_records_root() {
  if (const char* v = std::getenv("CRAWL_RECORDS_DIR"); v != nullptr && *v != '\0') return v;
  if (const char* v = std::getenv("XDG_DATA_HOME"); v != nullptr && *v == '/')
    return std::string(v) + "/crawl/records";
  if (const char* v = std::getenv("HOME"); v != nullptr && *v == '/')
    return std::string(v) + "/.local/share/crawl/records";
  return "crawl-records";
}

std::optional<std::string> record_of_entry(const Reply& fields) {
  if (fields.type != Reply::Type::array) return std::nullopt;
  if (const std::string* r = field(fields, "r")) {
    // As the worker wrote it (to_json): one line. Anything else was not written by a worker.
    if (r->empty() || r->front() != '{' || r->find('\n') != std::string::npos) return std::nullopt;
    return *r;
  }
  const std::string *u = field(fields, "u"), *f = field(fields, "f"), *d = field(fields, "d"),
                    *t = field(fields, "t");
  std::uint64_t depth = 0, at = 0;
  if (u == nullptr || u->empty() || f == nullptr || d == nullptr || t == nullptr ||
      !parse_decimal(*d, depth) || depth > 1'000'000 || !parse_decimal(*t, at))
    return std::nullopt;
  Record record;
  record.url = *u;
  record.outcome = Outcome::filtered;
  record.reason = *f;
  record.depth = static_cast<int>(depth);
  record.at_ms = static_cast<std::int64_t>(at);
  return to_json(record);
}

Result<Drained> read_drained(const OutputDir& home) {
  auto text = home.read(k_drained_file, 256);
  if (!text) {
    if (text.error().kind == ErrorKind::not_found) return Drained{};
    return fail(text.error());
  }
  Drained d;
  std::vector<std::string_view> parts;
  std::string_view rest = *text;
  if (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
  for (std::size_t space; (space = rest.find(' ')) != std::string_view::npos;) {
    parts.push_back(rest.substr(0, space));
    rest.remove_prefix(space + 1);
  }
  parts.push_back(rest);
  if (parts.size() != 3 || !parse_decimal(parts[0], d.size) ||
      !parse_decimal(parts[1], d.skipped) || !parse_id(parts[2]))
    return fail(ErrorKind::invalid, "{} is not SIZE SKIPPED LAST-ID: '{}'",
                home.path_of(k_drained_file), escape_control(*text));
  d.last_id = std::string(parts[2]);
  return d;
}

Result<RecordHome> RecordHome::open(Redis& redis, const Keys& keys, const std::string& job,
                                    const std::string& root) {
  const std::string job_key = keys.job(job);
  auto named = redis.pipeline({{"EXISTS", job_key}, {"HGET", job_key, "records_home"}});
  if (!named) return fail(named.error());
  if ((*named)[0].integer == 0) return fail(ErrorKind::not_found, "no job {}", job);
  std::string home = (*named)[1].type == Reply::Type::string ? (*named)[1].str : "";
  const std::string host = this_host();
  if (home.empty()) {
    std::string base = root;
    if (base.empty() || base.front() != '/') {
      std::error_code ec;
      base = std::filesystem::absolute(base, ec).lexically_normal().string();
      if (ec) return fail("cannot make {} absolute: {}", root, ec.message());
    }
    std::random_device random;
    const std::string path = fmt::format("{}/{}-job{}-{:08x}", base, keys.prefix, job, random());
    auto set = redis.command({"HSETNX", job_key, "records_home", host + ":" + path});
    if (!set) return fail(set.error());
    if (set->integer == 1) {
      home = host + ":" + path;
    } else {  // another drainer named it first
      auto again = redis.command({"HGET", job_key, "records_home"});
      if (!again) return fail(again.error());
      home = again->str;
    }
  }
  const auto colon = home.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= home.size() ||
      home[colon + 1] != '/')
    return fail(ErrorKind::invalid, "job {}'s records_home is not HOST:/PATH: '{}'", job, home);
  if (home.substr(0, colon) != host)
    return fail(ErrorKind::invalid,
                "job {}'s records are drained on {} (into {}): run this there, or copy that "
                "directory here and set the job's records_home to {}:PATH",
                job, home.substr(0, colon), home.substr(colon + 1), host);
  auto dir = OutputDir::open(home.substr(colon + 1));
  if (!dir) return fail(dir.error());
  auto lock = dir->lock("lock");
  if (!lock) return fail(lock.error());
  RecordHome out(redis, keys.records(job), job, std::move(*dir), std::move(*lock));
  if (auto r = out.recover(); !r) return fail(r.error());
  return out;
}

Result<void> RecordHome::recover() {
  auto drained = read_drained(m_dir);
  if (!drained) return fail(drained.error());
  m_size = drained->size;
  m_skipped = drained->skipped;
  m_last_id = drained->last_id;
  // A batch appended and not yet counted in `drained` is still in the stream: cut off.
  auto file = m_dir.append(k_records_file, false);
  if (!file) return fail(file.error());
  auto size = file->size();
  if (!size) return fail(size.error());
  if (*size < m_size)
    return fail(ErrorKind::invalid, "{} holds {} bytes, fewer than the {} drained into it",
                m_dir.path_of(k_records_file), *size, m_size);
  if (*size > m_size)
    if (auto t = file->truncate(m_size); !t) return fail(t.error());
  if (m_last_id.empty()) return {};
  // A drainer killed between `drained` and its trim left that batch in the stream: trimmed now,
  // unless the stream has gone back in time since (a failover to a replica that had not seen
  // it), when what is there now is newer than the id and is drained as it comes.
  auto info = m_redis->command({"XINFO", "STREAM", m_stream});
  if (!info || info->type != Reply::Type::array) return {};  // no stream: nothing to trim
  const std::string* last = field(*info, "last-generated-id");
  const auto ours = parse_id(m_last_id);
  const auto theirs = last ? parse_id(*last) : std::nullopt;
  if (ours && theirs && *theirs >= *ours) return trim(m_last_id);
  return {};
}

Result<void> RecordHome::trim(const std::string& last_id) {
  const auto id = parse_id(last_id);
  if (!id) return {};
  auto r = m_redis->command({"XTRIM", m_stream, "MINID", id_after(*id)});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(ErrorKind::remote, "trimming {}: {}", m_stream, r->str);
  return {};
}

Result<std::size_t> RecordHome::drain(std::size_t max) {
  auto r = m_redis->command({"XRANGE", m_stream, "-", "+", "COUNT", std::to_string(max)});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(ErrorKind::remote, "reading {}: {}", m_stream, r->str);
  if (r->elements.empty()) return 0;
  std::string lines;
  std::uint64_t skipped = 0;
  std::string last;
  for (const Reply& entry : r->elements) {
    if (entry.elements.size() != 2) continue;
    last = entry.elements[0].str;
    if (auto line = record_of_entry(entry.elements[1])) {
      lines += *line;
      lines += '\n';
    } else {
      ++skipped;
    }
  }
  if (last.empty()) return 0;
  auto file = m_dir.append(k_records_file, false);
  if (!file) return fail(file.error());
  // All of the batch on the disk, or none of it counted (and the file as it was).
  auto written = file->write(lines);
  if (written) written = file->sync();
  if (!written) {
    (void)file->truncate(m_size);
    return fail(written.error());
  }
  const std::uint64_t size = m_size + lines.size();
  if (auto d = m_dir.replace(k_drained_file,
                             fmt::format("{} {} {}\n", size, m_skipped + skipped, last), true);
      !d) {
    (void)file->truncate(m_size);
    return fail(d.error());
  }
  m_size = size;
  m_skipped += skipped;
  m_last_id = last;
  if (auto t = trim(last); !t) return fail(t.error());
  return r->elements.size();
}

Result<std::uint64_t> RecordHome::drain_all(std::size_t batch) {
  auto length = m_redis->command({"XLEN", m_stream});
  if (!length) return fail(length.error());
  const std::uint64_t held = length->integer > 0 ? static_cast<std::uint64_t>(length->integer) : 0;
  std::uint64_t moved = 0;
  while (true) {
    auto n = drain(batch);
    if (!n) return fail(n.error());
    moved += *n;
    if (*n < batch || moved >= held + batch) return moved;
  }
}

Result<std::vector<DrainedJob>> drain_jobs(Redis& redis, const Keys& keys, const std::string& root,
                                           const std::vector<std::string>& only) {
  std::vector<std::string> ids = only;
  if (ids.empty()) {
    auto all = redis.command({"ZRANGE", keys.jobs(), "0", "-1"});
    if (!all) return fail(all.error());
    for (const Reply& id : all->elements) ids.push_back(id.str);
  }
  std::vector<std::vector<std::string>> lengths;
  lengths.reserve(ids.size());
  for (const auto& id : ids) lengths.push_back({"XLEN", keys.records(id)});
  auto held = redis.pipeline(lengths);
  if (!held) return fail(held.error());
  std::vector<DrainedJob> out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const Reply& length = (*held)[i];
    if (length.ok() && length.integer == 0) continue;
    DrainedJob row{ids[i], 0, std::nullopt};
    if (!length.ok()) {
      row.error = Error{fmt::format("job {}: {}: {}", ids[i], keys.records(ids[i]), length.str),
                        ErrorKind::remote};
    } else if (auto home = RecordHome::open(redis, keys, ids[i], root); !home) {
      row.error = home.error();
    } else if (auto moved = home->drain_all(); !moved) {
      row.error = moved.error();
    } else {
      row.moved = *moved;
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::optional<Error> first_error(const Result<std::vector<DrainedJob>>& pass) {
  if (!pass) return pass.error();
  for (const auto& row : *pass)
    if (row.error) return row.error;
  return std::nullopt;
}

}  // namespace crawl::queue
