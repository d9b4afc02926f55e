#include "core/secret.hpp"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace crawl {

Secret Secret::copy_of(std::string_view text) {
  Secret s;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  s.m_capacity = (text.size() + 1 + page - 1) / page * page;
  void* p =
      ::mmap(nullptr, s.m_capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, s.m_capacity, MADV_DONTDUMP);
  ::mlock(p, s.m_capacity);  // best effort: a limit on locked memory leaves it unlocked
  s.m_data = static_cast<char*>(p);
  std::memcpy(s.m_data, text.data(), text.size());
  s.m_size = text.size();
  return s;
}

Secret::Secret(Secret&& other) noexcept
    : m_data(other.m_data), m_size(other.m_size), m_capacity(other.m_capacity) {
  other.m_data = nullptr;
  other.m_size = other.m_capacity = 0;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    release();
    m_data = other.m_data;
    m_size = other.m_size;
    m_capacity = other.m_capacity;
    other.m_data = nullptr;
    other.m_size = other.m_capacity = 0;
  }
  return *this;
}

Secret::~Secret() {
  release();
}

void Secret::release() {
  if (m_data == nullptr) return;
  ::explicit_bzero(m_data, m_capacity);
  ::munlock(m_data, m_capacity);
  ::munmap(m_data, m_capacity);
  m_data = nullptr;
  m_size = m_capacity = 0;
}

namespace {

std::mutex g_mutex;
std::map<std::string, Secret, std::less<>>& taken() {
  static std::map<std::string, Secret, std::less<>> secrets;
  return secrets;
}

}  // namespace

void take_env_secrets(const std::vector<std::string>& names) {
  std::lock_guard lock(g_mutex);
  for (const auto& name : names) {
    if (name.empty() || taken().count(name)) continue;
    char* value = std::getenv(name.c_str());
    if (value == nullptr) continue;
    taken().emplace(name, Secret::copy_of(value));
    // The "NAME=value" string stays in memory after unsetenv (glibc does not free what it did
    // not allocate): its value is wiped first.
    ::explicit_bzero(value, std::strlen(value));
    ::unsetenv(name.c_str());
  }
}

std::optional<std::string_view> env_secret(std::string_view name) {
  {
    std::lock_guard lock(g_mutex);
    if (auto it = taken().find(name); it != taken().end()) return it->second.view();
  }
  if (const char* value = std::getenv(std::string(name).c_str())) return std::string_view(value);
  return std::nullopt;
}

void forbid_core_dumps() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

}  // namespace crawl
