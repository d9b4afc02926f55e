#include "fanout/collect_task.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/dir.hpp"
#include "core/text.hpp"
#include "deploy/collect.hpp"
#include "deploy/release.hpp"
#include "warc/index.hpp"

namespace crawl::fanout {

namespace {

std::string part_name(std::string_view name) {
  return "." + std::string(name) + ".part";
}

// What one host's run keeps: the files held, the one coming in.
class HostFiles {
 public:
  HostFiles(const config::Host& host, const CollectTask& task) : m_host(host), m_task(task) {}

  // What OUTDIR/HOST holds: whole files and parts.
  Result<void> load() {
    auto top = OutputDir::open(m_task.outdir);
    if (!top) return fail(top.error());
    auto dir = top->subdir(m_host.name);
    if (!dir) return fail(dir.error());
    m_dir.emplace(std::move(*dir));
    auto names = m_dir->names();
    if (!names) return fail(names.error());
    for (const std::string& n : *names)
      if (deploy::is_warc_name(n)) m_have[n] = std::nullopt;
    for (const std::string& n : *names) {
      if (!n.starts_with(".") || !n.ends_with(".part")) continue;
      const std::string name = n.substr(1, n.size() - 6);
      if (!deploy::is_warc_name(name)) continue;
      if (m_have.count(name)) {  // whole already (a run stopped between the rename and this)
        if (auto gone = m_dir->remove(n); !gone) return fail(gone.error());
        continue;
      }
      auto file = m_dir->append(n, false, false);
      if (!file) return fail(file.error());
      auto size = file->size();
      if (!size) return fail(size.error());
      m_have[name] = *size;
    }
    // A file named but not indexed (a run stopped between the two, or a failed index write).
    for (const auto& [name, held] : m_have)
      if (!held && std::find(names->begin(), names->end(), name + ".cdxj") == names->end())
        index(name);
    return {};
  }

  deploy::CollectRequest request() const { return {m_task.warc_dir, m_task.job, m_have}; }

  bool frame(const deploy::FileFrame& f, std::string_view data, bool last) {
    if (f.kind == 'E') {
      m_error = f.text;
      return false;
    }
    if (!m_current || m_current->name != f.name) {
      if (!begin(f)) return false;
    }
    if (!data.empty()) {
      if (auto w = m_current->file->write(data); !w) return stop(w.error().message);
      m_current->sha.update(data);
      m_current->bytes += data.size();
      m_fetched += data.size();
    }
    return !last || finish();
  }

  // The output ended inside the frame of `name`: what came of it is kept in part, for the next
  // run.
  void ended(const std::string& name) {
    if (!m_error.empty()) return;
    if (m_current)
      m_error = fmt::format(
          "{}: the connection ended after {} of its {} bytes: they are kept, and the next "
          "collect goes on from there",
          m_current->name, m_current->bytes, m_current->size);
    else
      m_error = fmt::format("{}: the connection ended before its bytes came",
                            name.empty() ? "a file" : name);
  }

  // Files held whole that could not be indexed (a damaged WARC file on the host), with why.
  const std::vector<std::string>& unindexed() const { return m_unindexed; }

  const std::string& error() const { return m_error; }
  std::uint64_t fetched() const { return m_fetched; }
  std::size_t files() const { return m_files; }

 private:
  struct Incoming {
    std::string name;
    std::uint64_t size = 0;
    std::string sha256;
    std::optional<OutputFile> file;
    deploy::Sha256 sha;
    std::uint64_t bytes = 0;  // of the file, held now
  };

  bool stop(std::string why) {
    m_error = std::move(why);
    return false;
  }

  bool begin(const deploy::FileFrame& f) {
    if (!m_task.job.empty() && !f.name.starts_with("job" + m_task.job + "-"))
      return stop(
          fmt::format("{}: sent, though only job {}'s files were asked for", f.name, m_task.job));
    auto held = m_have.find(f.name);
    if (held != m_have.end() && !held->second)
      return stop(fmt::format("{}: sent again, though it is held whole", f.name));
    std::uint64_t have = held == m_have.end() ? 0 : *held->second;
    // The host sends a file from its start when what is held is longer than the file (the
    // part is not the host's file): it starts again.
    if (f.from == 0) have = 0;
    if (f.from != have)
      return stop(
          fmt::format("{}: sent from offset {}, but {} bytes are held", f.name, f.from, have));
    m_current.emplace();
    Incoming& in = *m_current;
    in.name = f.name;
    in.size = f.size;
    in.sha256 = f.sha256;
    in.bytes = have;
    if (have > 0) {
      std::uint64_t read = 0;
      auto prefix = m_dir->read_each(part_name(f.name), [&](std::string_view bytes) {
        in.sha.update(bytes);
        read += bytes.size();
      });
      if (!prefix) return stop(prefix.error().message);
      if (read != have)
        return stop(fmt::format("{}: its part changed while it was read", part_name(f.name)));
    }
    auto file = m_dir->append(part_name(f.name), have == 0);
    if (!file) return stop(file.error().message);
    in.file.emplace(std::move(*file));
    return true;
  }

  // A file whole: checked against the host's size and digest, then named, then indexed.
  bool finish() {
    Incoming& in = *m_current;
    const std::string part = part_name(in.name);
    const std::string digest = in.sha.hex();
    if (in.bytes != in.size || digest != in.sha256) {
      (void)m_dir->remove(part);
      m_have.erase(in.name);
      return stop(fmt::format(
          "{}: the copy is not the host's ({} bytes, sha256 {}; the host's: {} bytes, {}): it "
          "was removed, and the next collect fetches it again",
          in.name, in.bytes, digest, in.size, in.sha256));
    }
    // On the disk before it takes its name: a name is the promise of a whole file.
    if (auto synced = in.file->sync(); !synced) return stop(synced.error().message);
    in.file.reset();
    if (auto named = m_dir->rename(part, in.name); !named) return stop(named.error().message);
    m_have[in.name] = std::nullopt;
    ++m_files;
    const std::string name = in.name;
    m_current.reset();
    index(name);
    return m_error.empty();
  }

  // NAME.cdxj beside a file held whole. A file that cannot be indexed is kept, and said.
  void index(const std::string& name) {
    auto lines = warc::cdxj_lines(m_dir->path_of(name), name);
    if (!lines) {
      m_unindexed.push_back(fmt::format("{} ({})", name, lines.error().message));
      return;
    }
    std::string text;
    for (const std::string& line : *lines) text += line + "\n";
    if (auto written = m_dir->replace(name + ".cdxj", text); !written)
      m_unindexed.push_back(fmt::format("{} ({})", name, written.error().message));
  }

  const config::Host& m_host;
  const CollectTask& m_task;
  std::optional<OutputDir> m_dir;
  std::map<std::string, std::optional<std::uint64_t>> m_have;
  std::optional<Incoming> m_current;
  std::uint64_t m_fetched = 0;
  std::size_t m_files = 0;
  std::string m_error;
  std::vector<std::string> m_unindexed;
};

}  // namespace

Expected<TaskResult> collect_warcs(Remote& remote, const config::Host& host,
                                   const CollectTask& task, Clock::time_point deadline) {
  HostFiles files(host, task);
  if (auto loaded = files.load(); !loaded)
    return failure(Outcome::step_failed, "collect", loaded.error().message);
  const deploy::Step step = deploy::collect_step(host, files.request());
  deploy::CollectParser parser([&](const deploy::FileFrame& f, std::string_view data, bool last) {
    return files.frame(f, data, last);
  });
  std::string error;
  auto r = remote.exec_stream(step.command, step.input, deadline, [&](std::string_view chunk) {
    if (!parser.feed(chunk)) {
      if (files.error().empty()) error = "unreadable output: " + parser.error();
      return false;
    }
    return true;
  });
  if (error.empty() && !parser.between_frames()) files.ended(parser.frame().name);
  if (error.empty()) error = files.error();
  if (!error.empty()) return failure(Outcome::step_failed, "collect", error);
  if (!r) return tl::unexpected(r.error());
  if (r->status != 0)
    return failure(Outcome::step_failed, "collect",
                   fmt::format("exit status {}: {}", r->status, r->err));
  TaskResult result;
  result.bytes_fetched = files.fetched();
  result.summary = fmt::format("{} file{}, {} new", files.files(), files.files() == 1 ? "" : "s",
                               human_bytes(static_cast<double>(files.fetched())));
  if (!files.unindexed().empty())
    result.summary += fmt::format("; not indexed, kept: {}", fmt::join(files.unindexed(), ", "));
  return result;
}

Result<std::uint64_t> write_collection_index(const std::string& outdir) {
  std::vector<std::string> inputs;
  std::error_code ec;
  for (const auto& host : std::filesystem::directory_iterator(outdir, ec)) {
    if (!host.is_directory() || host.is_symlink()) continue;
    for (const auto& f : std::filesystem::directory_iterator(host.path(), ec)) {
      const std::string name = f.path().filename().string();
      if (name.ends_with(".warc.gz.cdxj") && f.is_regular_file() && !f.is_symlink())
        inputs.push_back(f.path().string());
    }
  }
  if (ec) return fail("cannot list {}: {}", outdir, ec.message());
  std::sort(inputs.begin(), inputs.end());
  return warc::merge_cdxj(inputs, outdir + "/index.cdxj");
}

}  // namespace crawl::fanout
