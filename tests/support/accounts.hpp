#pragma once
// Accounts of this machine for one test (root only): for hosts of an SshFleet that must each have
// a home of their own (their own ~/.ssh/authorized_keys), or a sudo that asks for a password.

#include <string>

namespace crawl::testing {

// Created with `useradd -m` and a random password; removed, with its home (and its sudoers rule),
// afterwards, and on the way out of a constructor that failed half way. A name is fixed by the
// test that uses it, so a run that died before its clean-up is cleaned up by the next one.
class TestAccount {
 public:
  enum class Sudo { none, with_password };  // with_password: a sudoers rule without NOPASSWD
  explicit TestAccount(std::string name, Sudo sudo = Sudo::none);
  ~TestAccount();
  TestAccount(const TestAccount&) = delete;
  TestAccount& operator=(const TestAccount&) = delete;

  const std::string& name() const { return m_name; }
  const std::string& password() const { return m_password; }
  std::string home() const;

 private:
  void create();
  void remove();
  std::string rule() const { return "/etc/sudoers.d/" + m_name; }

  std::string m_name, m_password;
  Sudo m_sudo;
};

}  // namespace crawl::testing
