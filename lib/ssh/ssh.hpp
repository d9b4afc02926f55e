#pragma once
// Remotes for fan-out: libssh sessions (one per host task) and a local one for hosts with
// `transport: local`. libssh's types never leave ssh.cpp.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/file.hpp"
#include "core/result.hpp"
#include "fanout/relay.hpp"
#include "fanout/remote.hpp"

namespace crawl::ssh {

// Private keys, each read and decrypted once on the main thread before fan-out, so a passphrase
// is asked at most once per file and never from a host task.
class KeyRing {
 public:
  // Asks for the passphrase of an encrypted key file; nullopt = none available.
  using Passphrase = std::function<std::optional<std::string>(const std::string& path)>;

  // Loads `path` ("~/" = $HOME) unless already loaded; a failure is kept and reported by key().
  void load(const std::string& path, const Passphrase& passphrase);
  // The decrypted key (OpenSSH base64 text) or why it could not be loaded.
  Result<std::string> key(const std::string& path) const;

 private:
  std::map<std::string, Result<std::string>> m_keys;
};

// A new ed25519 key, never written to disk here (deploy --relay's fanout::NewKey).
Result<fanout::KeyPair> new_key_pair();

// What all host tasks of one run share.
struct Context {
  std::string ssh_config;  // "" = ~/.ssh/config (and /etc/ssh/ssh_config); "none" = no file
  KeyRing keys;
  std::mutex known_hosts_lock;  // writes to known_hosts files, one at a time
};

// A Remote per host: libssh for `transport: ssh`, the local shell for `transport: local`.
// `context` must outlive the remotes.
fanout::RemoteFactory remote_factory(Context& context);

using crawl::expand_home;  // core/file.hpp

}  // namespace crawl::ssh
