#include "core/dir.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace crawl {

namespace {

std::string reason() {
  return std::strerror(errno);
}

bool one_component(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (m_fd >= 0) ::close(m_fd);
}

int Fd::release() {
  const int fd = m_fd;
  m_fd = -1;
  return fd;
}

Result<void> OutputFile::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(m_fd.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write {}: {}", m_path, n < 0 ? reason() : "no space written");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> OutputFile::truncate(std::uint64_t size) {
  if (::ftruncate(m_fd.get(), static_cast<off_t>(size)) != 0)
    return fail("cannot truncate {}: {}", m_path, reason());
  return {};
}

Result<void> OutputFile::sync() {
  if (::fsync(m_fd.get()) != 0) return fail("cannot sync {}: {}", m_path, reason());
  return {};
}

Result<std::uint64_t> OutputFile::size() const {
  struct stat st {};
  if (::fstat(m_fd.get(), &st) != 0) return fail("cannot examine {}: {}", m_path, reason());
  return static_cast<std::uint64_t>(st.st_size);
}

Result<OutputDir> OutputDir::open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail("cannot create {}: {}", path, ec.message());
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail("cannot open {}: {}", path, reason());
  return OutputDir(std::move(fd), path);
}

Result<OutputDir> OutputDir::subdir(std::string_view name, bool create) const {
  if (!one_component(name)) return fail(ErrorKind::invalid, "'{}' is not a file name", name);
  const std::string n(name), path = path_of(name);
  if (create && ::mkdirat(m_fd.get(), n.c_str(), 0700) != 0 && errno != EEXIST)
    return fail("cannot create {}: {}", path, reason());
  Fd fd(::openat(m_fd.get(), n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && errno == ENOENT) return fail(ErrorKind::not_found, "{} is not there", path);
  if (!fd)
    return fail(errno == ELOOP || errno == ENOTDIR ? ErrorKind::invalid : ErrorKind::remote,
                "cannot open {}: {}", path,
                errno == ELOOP ? "a symbolic link, not a directory" : reason());
  return OutputDir(std::move(fd), path);
}

Result<Fd> OutputDir::open_file(std::string_view name, int flags) const {
  if (!one_component(name)) return fail(ErrorKind::invalid, "'{}' is not a file name", name);
  const std::string n(name), path = path_of(name);
  struct stat st {};
  if (::fstatat(m_fd.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode))
      return fail(ErrorKind::invalid, "{} is a symbolic link: refused", path);
    if (!S_ISREG(st.st_mode))
      return fail(ErrorKind::invalid, "{} is not a regular file: refused", path);
  }
  // What was examined may be replaced before it is opened: O_NOFOLLOW and the checks of what was
  // opened hold either way. O_NONBLOCK: a FIFO put there meanwhile is refused, not waited on.
  Fd fd(::openat(m_fd.get(), n.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (!fd) {
    if (errno == ENOENT) return fail(ErrorKind::not_found, "{} is not there", path);
    if (errno == ELOOP) return fail(ErrorKind::invalid, "{} is a symbolic link: refused", path);
    return fail("cannot open {}: {}", path, reason());
  }
  if (::fstat(fd.get(), &st) != 0) return fail("cannot examine {}: {}", path, reason());
  if (!S_ISREG(st.st_mode))
    return fail(ErrorKind::invalid, "{} is not a regular file: refused", path);
  if (st.st_nlink > 1)
    return fail(ErrorKind::invalid, "{} has {} links (another name for another file): refused",
                path, st.st_nlink);
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

Result<OutputFile> OutputDir::append(std::string_view name, bool fresh, bool create) const {
  auto fd = open_file(name, O_WRONLY | O_APPEND | (create ? O_CREAT : 0));
  if (!fd) return fail(fd.error());
  OutputFile file(std::move(*fd), path_of(name));
  if (fresh)
    if (auto t = file.truncate(0); !t) return fail(t.error());
  return file;
}

Result<std::string> OutputDir::read(std::string_view name, std::size_t max) const {
  auto fd = open_file(name, O_RDONLY);
  if (!fd) return fail(fd.error());
  std::string out;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd->get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot read {}: {}", path_of(name), reason());
    if (n == 0) return out;
    if (out.size() + static_cast<std::size_t>(n) > max)
      return fail(ErrorKind::invalid, "{} is longer than {} bytes: refused", path_of(name), max);
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

Result<void> OutputDir::read_each(std::string_view name,
                                  const std::function<void(std::string_view)>& each) const {
  auto fd = open_file(name, O_RDONLY);
  if (!fd) return fail(fd.error());
  std::string buffer(65536, '\0');
  while (true) {
    const ssize_t n = ::read(fd->get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot read {}: {}", path_of(name), reason());
    if (n == 0) return {};
    each(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  }
}

Result<void> OutputDir::rename(std::string_view from, std::string_view to) const {
  if (!one_component(from)) return fail(ErrorKind::invalid, "'{}' is not a file name", from);
  if (!one_component(to)) return fail(ErrorKind::invalid, "'{}' is not a file name", to);
  const std::string f(from), t(to);
  if (::renameat2(m_fd.get(), f.c_str(), m_fd.get(), t.c_str(), RENAME_NOREPLACE) != 0) {
    // A file system without RENAME_NOREPLACE: a hard link (which never replaces), then the old
    // name removed.
    if (errno != EINVAL || ::linkat(m_fd.get(), f.c_str(), m_fd.get(), t.c_str(), 0) != 0 ||
        ::unlinkat(m_fd.get(), f.c_str(), 0) != 0)
      return fail(errno == EEXIST ? ErrorKind::invalid : ErrorKind::other,
                  "cannot rename {} to {}: {}", path_of(from), path_of(to), reason());
  }
  if (::fsync(m_fd.get()) != 0) return fail("cannot sync {}: {}", m_path, reason());
  return {};
}

Result<void> OutputDir::remove(std::string_view name) const {
  if (!one_component(name)) return fail(ErrorKind::invalid, "'{}' is not a file name", name);
  const std::string n(name);
  if (::unlinkat(m_fd.get(), n.c_str(), 0) != 0 && errno != ENOENT)
    return fail("cannot remove {}: {}", path_of(name), reason());
  return {};
}

Result<std::vector<std::string>> OutputDir::names() const {
  const int fd = ::openat(m_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (d == nullptr) {
    if (fd >= 0) ::close(fd);
    return fail("cannot list {}: {}", m_path, reason());
  }
  std::vector<std::string> out;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
  }
  ::closedir(d);
  return out;
}

Result<Fd> OutputDir::open_read(std::string_view name) const {
  return open_file(name, O_RDONLY);
}

Result<Fd> OutputDir::lock(std::string_view name, std::chrono::milliseconds wait) const {
  auto fd = open_file(name, O_RDWR | O_CREAT);
  if (!fd) return fail(fd.error());
  const auto until = std::chrono::steady_clock::now() + wait;
  while (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return fail("cannot lock {}: {}", path_of(name), reason());
    if (std::chrono::steady_clock::now() >= until)
      return fail(ErrorKind::connection, "{} is held by another process: try again later",
                  path_of(name));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fd;
}

Result<void> OutputDir::remove_dir(std::string_view name) const {
  if (!one_component(name)) return fail(ErrorKind::invalid, "'{}' is not a file name", name);
  if (::unlinkat(m_fd.get(), std::string(name).c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return fail("cannot remove {}: {}", path_of(name), reason());
  return {};
}

Result<void> OutputDir::sync() const {
  if (::fsync(m_fd.get()) != 0) return fail("cannot sync {}: {}", m_path, reason());
  return {};
}

Result<void> OutputDir::replace(std::string_view name, std::string_view bytes, bool durable) const {
  if (!one_component(name)) return fail(ErrorKind::invalid, "'{}' is not a file name", name);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string tmp;
  Fd fd;
  for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
    tmp = "." + std::string(name) + "." + std::to_string(rng() % 1'000'000'000'000ULL);
    fd = Fd(::openat(m_fd.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600));
    if (!fd && errno != EEXIST) return fail("cannot create {}: {}", path_of(tmp), reason());
  }
  if (!fd) return fail("cannot create a new file beside {}", path_of(name));
  OutputFile file(std::move(fd), path_of(tmp));
  auto written = file.write(bytes);
  if (written && durable) written = file.sync();
  const std::string n(name);
  if (!written || ::renameat(m_fd.get(), tmp.c_str(), m_fd.get(), n.c_str()) != 0) {
    const std::string why = written ? reason() : written.error().message;
    ::unlinkat(m_fd.get(), tmp.c_str(), 0);
    return fail("cannot replace {}: {}", path_of(name), why);
  }
  if (durable && ::fsync(m_fd.get()) != 0)
    return fail("cannot sync the directory {}: {}", m_path, reason());
  return {};
}

}  // namespace crawl
