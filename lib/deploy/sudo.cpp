#include "deploy/sudo.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/file.hpp"

namespace crawl::deploy {
namespace {

std::string source_of(const config::Host& host) {
  if (!host.sudo_password_file.empty()) return "file:" + host.sudo_password_file;
  if (!host.sudo_password_env.empty()) return "env:" + host.sudo_password_env;
  return "";
}

Result<Secret> read_source(const config::Host& host) {
  if (!host.sudo_password_file.empty()) {
    auto text = read_file(expand_home(host.sudo_password_file), 4096);
    if (!text) return fail("sudo_password_file: {}", text.error().message);
    std::string_view line = std::string_view(*text).substr(0, text->find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Secret secret = Secret::copy_of(line);
    explicit_bzero(text->data(), text->size());
    return secret;
  }
  const auto value = env_secret(host.sudo_password_env);
  if (!value) return fail("sudo_password_env: ${} is not set", host.sudo_password_env);
  // One line goes to sudo; the rest of a multi-line value would be left for others to read.
  if (value->find_first_of("\r\n") != std::string_view::npos)
    return fail("sudo_password_env: ${} holds a line break", host.sudo_password_env);
  return Secret::copy_of(*value);
}

}  // namespace

SudoPasswords SudoPasswords::load(const std::vector<config::Host>& hosts,
                                  std::optional<Secret> asked) {
  SudoPasswords out;
  out.m_asked = std::move(asked);
  for (const auto& host : hosts) {
    const std::string source = source_of(host);
    if (!source.empty() && !out.m_sources.count(source))
      out.m_sources.emplace(source, read_source(host));
  }
  return out;
}

bool SudoPasswords::may_ask(const std::vector<config::Host>& hosts) {
  for (const auto& host : hosts)
    if (!host.install_command.empty() && source_of(host).empty()) return true;
  return false;
}

Result<const Secret*> SudoPasswords::of(const config::Host& host) const {
  const std::string source = source_of(host);
  if (source.empty()) return m_asked ? &*m_asked : nullptr;
  const auto& found = m_sources.at(source);
  if (!found) return fail(found.error());
  return &*found;
}

}  // namespace crawl::deploy
