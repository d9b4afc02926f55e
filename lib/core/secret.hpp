#pragma once
// Passwords and passphrases while a program holds them: in memory left out of core dumps and
// wiped when dropped, and never left in the environment a child process inherits.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crawl {

// A secret's bytes, in pages of their own marked MADV_DONTDUMP (left out of a core file) and
// locked in memory where allowed (not swapped out); wiped (explicit_bzero) when destroyed or
// moved from. Moved, never copied.
class Secret {
 public:
  Secret() = default;
  static Secret copy_of(std::string_view text);
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();

  std::string_view view() const { return {m_data, m_size}; }
  bool empty() const { return m_size == 0; }

 private:
  void release();
  char* m_data = nullptr;
  std::size_t m_size = 0, m_capacity = 0;
};

// Takes the variables named out of this process's environment, where every child would inherit
// them (and /proc/PID/environ shows them): each that is set is kept as a Secret, its value
// wiped in place and the variable removed. Call on the main thread before any other thread
// starts (the environment is not safe to change while another thread reads it). Again for the
// same name: kept as first taken.
void take_env_secrets(const std::vector<std::string>& names);

// A variable's value: as taken by take_env_secrets, else as the environment has it; nullopt when
// it is not set.
std::optional<std::string_view> env_secret(std::string_view name);

// This process writes no core file and other processes of its user cannot read its memory or
// environment (prctl PR_SET_DUMPABLE 0): for a program that holds passwords in buffers of the
// libraries it uses (libssh, hiredis, stdio), where no Secret reaches. Children are not affected.
void forbid_core_dumps();

}  // namespace crawl
