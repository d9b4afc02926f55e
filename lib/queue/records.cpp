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

// A home's directory name: the key prefix (as far as it is made of name characters), the job and
// a random token, e.g. crawl-job17-1a2b3c4d.
bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}
std::string home_name(std::string_view prefix, const std::string& job, unsigned token) {
  std::string name;
  for (const char c : prefix) name += name_char(c) ? c : '_';
  if (name.empty() || name.front() == '.') name.insert(0, "r");
  return fmt::format("{}-job{}-{:08x}", name, job, token);
}
bool is_home_name(std::string_view name, std::string_view prefix, const std::string& job) {
  const std::string head = home_name(prefix, job, 0);  // PREFIX-jobJ-00000000
  if (name.size() != head.size() ||
      name.substr(0, head.size() - 8) != std::string_view(head).substr(0, head.size() - 8))
    return false;
  for (const char c : name.substr(head.size() - 8))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
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
  if (!text) return fail(text.error());
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
  if (!(*named)[1].ok())
    return fail(ErrorKind::remote, "reading {}: {}", job_key, escape_control((*named)[1].str));
  std::string home = (*named)[1].type == Reply::Type::string ? (*named)[1].str : "";
  const std::string host = this_host();
  std::error_code ec;
  std::string base = std::filesystem::absolute(root.empty() ? "." : root, ec).lexically_normal();
  if (ec) return fail("cannot make {} absolute: {}", root, ec.message());
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const bool made_root = !std::filesystem::exists(base, ec);
  auto records = OutputDir::open(base);  // the operator's directory: made when missing
  if (!records) return fail(records.error());
  if (made_root)  // the entries made for it, on the disk: every directory above it synced
    for (auto up = std::filesystem::path(base).parent_path();; up = up.parent_path()) {
      if (auto parent = OutputDir::open(up.string()); parent) (void)parent->sync();
      if (up == up.parent_path()) break;
    }
  // What a home holds to say whose it is: a home is never taken for another job's.
  const std::string marker = fmt::format("{} {}\n", keys.prefix, job);
  if (home.empty()) {
    // Made, marked and on the disk before Redis names it: a home Redis names and the disk does
    // not hold is one that was lost, never one not made yet.
    std::random_device random;
    const std::string name = home_name(keys.prefix, job, random());
    auto made = records->subdir(name);
    if (!made) return fail(made.error());
    if (auto m = made->replace(k_marker_file, marker, true); !m) return fail(m.error());
    if (auto d = made->replace(k_drained_file, "0 0 0-0\n", true); !d) return fail(d.error());
    if (auto d = records->sync(); !d) return fail(d.error());
    auto set = redis.command({"HSETNX", job_key, "records_home", host + ":" + base + "/" + name});
    if (!set) return fail(set.error());
    if (!set->ok()) {
      (void)made->remove(k_marker_file);
      (void)made->remove(k_drained_file);
      (void)records->remove_dir(name);
      return fail(ErrorKind::remote, "naming job {}'s home in {}: {}", job, job_key,
                  escape_control(set->str));
    }
    if (set->integer == 1) {
      // On the replicas before a record leaves for it (a failover must not name another).
      if (auto c = redis.confirm_writes(); !c) return fail(c.error());
      home = host + ":" + base + "/" + name;
    } else {  // another drainer named one first: this one goes
      (void)made->remove(k_marker_file);
      (void)made->remove(k_drained_file);
      (void)records->remove_dir(name);
      auto again = redis.command({"HGET", job_key, "records_home"});
      if (!again) return fail(again.error());
      home = again->str;
    }
  }
  const std::string shown = escape_control(home);
  const auto colon = home.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= home.size() ||
      home[colon + 1] != '/')
    return fail(ErrorKind::invalid, "job {}'s records_home is not HOST:/PATH: '{}'", job, shown);
  if (home.substr(0, colon) != host)
    return fail(ErrorKind::invalid,
                "job {}'s records are drained on {}: run this there, or copy that home into this "
                "machine's records directory and set the job's records_home to {}:DIR/NAME",
                job, shown, escape_control(host));
  // Redis is not trusted with where this machine writes: a home is a directory of the records
  // directory, named and marked as this job's home, nothing else.
  const std::string path = home.substr(colon + 1);
  const auto slash = path.rfind('/');
  const std::string name = path.substr(slash + 1);
  if (!is_home_name(name, keys.prefix, job))
    return fail(ErrorKind::invalid, "job {}'s records_home names {}, not a home of job {}", job,
                shown, job);
  if (path.substr(0, slash == 0 ? 1 : slash) != base)
    return fail(ErrorKind::invalid,
                "job {}'s records are kept in {}, not in the records directory {}: give "
                "--records-dir {} (or $CRAWL_RECORDS_DIR)",
                job, shown, base, escape_control(path.substr(0, slash)));
  auto dir = records->subdir(name, false);
  if (!dir && dir.error().kind == ErrorKind::not_found)
    return fail(ErrorKind::invalid,
                "job {}'s home {} is gone, and the records drained into it with it: nothing is "
                "drained until it is back (or the job's records_home is deleted, to start a new "
                "one with what Redis still holds)",
                job, shown);
  if (!dir) return fail(dir.error());
  if (auto mark = dir->read(k_marker_file, 4096); !mark || *mark != marker)
    return fail(ErrorKind::invalid, "{} is not job {}'s home: its {} file does not say '{}'",
                dir->path(), job, k_marker_file,
                escape_control(marker.substr(0, marker.size() - 1)));
  auto lock = dir->lock("lock", std::chrono::seconds(30));
  if (!lock) return fail(lock.error());
  RecordHome out(redis, keys.records(job), job, std::move(*dir), std::move(*lock));
  if (auto r = out.recover(); !r) return fail(r.error());
  return out;
}

Result<void> RecordHome::recover() {
  // A home is made with its `drained`: one without it lost it, and what it holds cannot be told.
  auto drained = read_drained(m_dir);
  if (!drained && drained.error().kind == ErrorKind::not_found)
    return fail(ErrorKind::invalid,
                "{} has no {} file: how much of {} was drained cannot be told, so nothing is "
                "drained into it (put the file back: SIZE SKIPPED LAST-ID)",
                m_dir.path(), k_drained_file, k_records_file);
  if (!drained) return fail(drained.error());
  m_size = drained->size;
  m_skipped = drained->skipped;
  m_last_id = drained->last_id == "0-0" ? "" : drained->last_id;
  // Nothing drained yet: the name of this home reaches the replicas (when they are waited for)
  // before a record leaves Redis for it, whichever drainer named it.
  if (m_last_id.empty())
    if (auto c = m_redis->confirm_writes(); !c) return fail(c.error());
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
  if (!info) return fail(info.error());
  if (!info->ok()) {
    if (info->str.find("no such key") != std::string::npos) return {};  // nothing to trim
    return fail(ErrorKind::remote, "reading {}: {}", m_stream, info->str);
  }
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
  // After a failure the file or `drained` may be ahead of what this object holds: only a new
  // open() (whose recover() puts them right) drains again.
  if (m_failed) return fail("job {}: a drain failed before: open the home again", m_job);
  m_failed = true;
  auto r = m_redis->command({"XRANGE", m_stream, "-", "+", "COUNT", std::to_string(max)});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(ErrorKind::remote, "reading {}: {}", m_stream, r->str);
  if (r->elements.empty()) {
    m_failed = false;
    return 0;
  }
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
  if (last.empty()) return fail(ErrorKind::remote, "reading {}: not a stream's entries", m_stream);
  auto file = m_dir.append(k_records_file, false);
  if (!file) return fail(file.error());
  // All of the batch on the disk, or none of it counted (and the file as it was).
  auto written = file->write(lines);
  if (written) written = file->sync();
  if (!written) return fail(written.error());  // the tail is cut by the next open
  const std::uint64_t size = m_size + lines.size();
  if (auto d = m_dir.replace(k_drained_file,
                             fmt::format("{} {} {}\n", size, m_skipped + skipped, last), true);
      !d)
    return fail(d.error());  // `drained` is the old or the new one: the next open sees which
  m_size = size;
  m_skipped += skipped;
  m_last_id = last;
  if (auto t = trim(last); !t) return fail(t.error());
  m_failed = false;
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
