#pragma once
// Files written into a directory the operator named, whose entries someone else may have placed
// there (a symbolic link to a file of the operator's elsewhere, a hard link to it, a FIFO):
// every entry is opened under the directory's descriptor, never through a link, and only a
// regular file with one link is written, truncated or read. A file is replaced by writing a new
// one (created exclusively, under a random name) and renaming it over the old.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace crawl {

// An open descriptor, closed with its owner.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return m_fd; }
  int release();
  explicit operator bool() const { return m_fd >= 0; }

 private:
  int m_fd = -1;
};

// A regular file open for appending.
class OutputFile {
 public:
  OutputFile(Fd fd, std::string path) : m_fd(std::move(fd)), m_path(std::move(path)) {}
  Result<void> write(std::string_view bytes);  // every byte, or an error naming the file
  Result<void> truncate(std::uint64_t size);
  Result<std::uint64_t> size() const;
  Result<void> sync();  // its bytes on the disk (fsync)

 private:
  Fd m_fd;
  std::string m_path;
};

class OutputDir {
 public:
  // The directory at `path`, made with its parents when missing (as mkdir -p does, the umask's
  // permissions). `path` itself is the operator's: a symbolic link there is followed, as they
  // chose it.
  static Result<OutputDir> open(const std::string& path);
  // An entry of this directory that is a directory (made 0700 when missing, unless `create` is
  // false: then kind not_found), never a link. `name` is one path component.
  Result<OutputDir> subdir(std::string_view name, bool create = true) const;
  // Removes the empty directory `name`; nothing if it is not there.
  Result<void> remove_dir(std::string_view name) const;
  // Its entries' names and what they point to on the disk (fsync of the directory).
  Result<void> sync() const;

  // The regular file `name`, made (0600) when missing unless `create` is false (then kind
  // not_found), emptied first with `fresh`. A link, a file with other links, a FIFO or a device
  // is refused (kind invalid).
  Result<OutputFile> append(std::string_view name, bool fresh, bool create = true) const;
  // The regular file's bytes, at most `max` (more is refused); kind not_found when it is not
  // there.
  Result<std::string> read(std::string_view name, std::size_t max) const;
  // The regular file's bytes in pieces of up to 64 KiB, handed to `each`; kind not_found when it
  // is not there.
  Result<void> read_each(std::string_view name,
                         const std::function<void(std::string_view)>& each) const;
  // Writes `bytes` to a new file and renames it over `name`: readers see the old or the new.
  // `durable`: the new file and the directory are synced, so the new bytes outlive a crash.
  Result<void> replace(std::string_view name, std::string_view bytes, bool durable = false) const;
  // Renames `from` to `to`, never over an entry named `to` (kind invalid if there is one), and
  // syncs the directory, so that the new name outlives a crash.
  Result<void> rename(std::string_view from, std::string_view to) const;
  // Removes the entry `name` (not a directory); nothing if it is not there.
  Result<void> remove(std::string_view name) const;
  // The names of its entries, but . and .., in no order.
  Result<std::vector<std::string>> names() const;
  // The regular file `name` open for reading (pread), as append() would accept it.
  Result<Fd> open_read(std::string_view name) const;
  // The regular file `name` (made 0600 when missing) open and locked (flock, exclusive): held
  // until the descriptor is closed or its process ends, however it ends. Waits for the lock up
  // to `wait`, then fails (kind connection: someone holds it).
  Result<Fd> lock(std::string_view name, std::chrono::milliseconds wait) const;

  const std::string& path() const { return m_path; }
  std::string path_of(std::string_view name) const { return m_path + "/" + std::string(name); }

 private:
  OutputDir(Fd fd, std::string path) : m_fd(std::move(fd)), m_path(std::move(path)) {}
  Result<Fd> open_file(std::string_view name, int flags) const;

  Fd m_fd;
  std::string m_path;
};

}  // namespace crawl
