#pragma once
// The passwords that `sudo` in a host's install_command asks for, on hosts without passwordless
// sudo: from the host's sudo_password_file or sudo_password_env, each read once on the main
// thread before fan-out, or asked once on the terminal (deploy -K) for hosts that name neither.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/inventory.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"

namespace crawl::deploy {

class SudoPasswords {
 public:
  // Reads every source the hosts name. One that cannot be read fails only its hosts, when they
  // need it (of()), with the reason.
  static SudoPasswords load(const std::vector<config::Host>& hosts, std::optional<Secret> asked);
  // The host's password; nullptr when it has none (sudo needs none there, or none is given).
  Result<const Secret*> of(const config::Host& host) const;
  // Whether any of `hosts` may need a password asked on the terminal: one with install_command
  // and neither sudo_password_file nor sudo_password_env.
  static bool may_ask(const std::vector<config::Host>& hosts);

 private:
  std::map<std::string, Result<Secret>> m_sources;  // "file:PATH" or "env:NAME"
  std::optional<Secret> m_asked;
};

}  // namespace crawl::deploy
