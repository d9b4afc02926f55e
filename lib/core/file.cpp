#include "core/file.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

namespace crawl {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return fail("{}: read error: {}", path, std::strerror(errno));
  return std::move(out).str();
}

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::size_t>(st.st_size) > max_bytes)
    return fail(ErrorKind::invalid, "{}: {} bytes is more than the {} this file may hold", path,
                static_cast<long long>(st.st_size), max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("{}: cannot open: {}", path, std::strerror(errno));
  // A pipe or a file that grows while it is read is cut at the cap too.
  std::string out(max_bytes + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in.bad()) return fail("{}: read error: {}", path, std::strerror(errno));
  out.resize(static_cast<std::size_t>(in.gcount()));
  if (out.size() > max_bytes)
    return fail(ErrorKind::invalid, "{}: more than the {} bytes this file may hold", path,
                max_bytes);
  return out;
}

std::string loose_permissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  const unsigned mode = st.st_mode & 07777;
  if ((mode & 077) == 0) return {};
  const char* who = (mode & 044) == 044 ? "its group and others may read it"
                    : (mode & 040)      ? "its group may read it"
                    : (mode & 04)       ? "others may read it"
                    : (mode & 020)      ? "its group may write it"
                                        : "others may write it";
  return fmt::format("mode {:04o}: {} (chmod 600 it)", mode, who);
}

std::string expand_home(const std::string& path) {
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
  }
  return path;
}

}  // namespace crawl
