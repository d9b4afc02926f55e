#include "accounts.hpp"

#include <filesystem>
#include <random>
#include <stdexcept>

#include <fmt/format.h>
#include <pwd.h>

#include "process.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;

std::string random_password() {
  std::random_device random;
  return fmt::format("pw {:08x}{:08x}", random(), random());
}

}  // namespace

TestAccount::TestAccount(std::string name, Sudo sudo)
    : m_name(std::move(name)), m_password(random_password()), m_sudo(sudo) {
  try {
    create();
  } catch (...) {
    remove();
    throw;
  }
}

TestAccount::~TestAccount() {
  remove();
}

std::string TestAccount::home() const {
  const passwd* pw = getpwnam(m_name.c_str());
  return pw ? pw->pw_dir : "";
}

void TestAccount::create() {
  remove();  // what an earlier run left
  TempDir scratch{"account"};
  if (run_command({{"useradd", "-m", "-s", "/bin/sh", m_name}, scratch / "useradd.log", {}}) != 0)
    throw std::runtime_error("useradd: " + read_text(scratch / "useradd.log"));
  write_text(scratch / "chpasswd.in", m_name + ":" + m_password + "\n", 0600);
  if (run_command({{"sh", "-c", "chpasswd < \"$0\"", scratch / "chpasswd.in"},
                   scratch / "chpasswd.log",
                   {}}) != 0)
    throw std::runtime_error("chpasswd: " + read_text(scratch / "chpasswd.log"));
  if (m_sudo == Sudo::with_password) write_text(rule(), m_name + " ALL=(root) ALL\n", 0440);
}

void TestAccount::remove() {
  std::error_code ec;
  fs::remove(rule(), ec);
  fs::remove("/run/sudo/ts/" + m_name, ec);  // its cached credentials
  TempDir scratch{"account"};
  if (getpwnam(m_name.c_str()))
    run_command({{"userdel", "-r", "-f", m_name}, scratch / "userdel.log", {}});
}

}  // namespace crawl::testing
