#include "ssh/ssh.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>

#include <fmt/format.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <sys/stat.h>

#include "core/secret.hpp"
#include "deploy/quote.hpp"
#include "ssh/local.hpp"

namespace crawl::ssh {

using fanout::Clock;
using fanout::Expected;
using fanout::failure;
using fanout::Outcome;

namespace {

struct SessionFree {
  void operator()(ssh_session s) const {
    ssh_disconnect(s);
    ssh_free(s);
  }
};
struct KeyFree {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
struct ChannelFree {
  void operator()(ssh_channel c) const {
    ssh_channel_close(c);
    ssh_channel_free(c);
  }
};
struct EventFree {
  void operator()(ssh_event e) const { ssh_event_free(e); }
};
struct StringFree {
  void operator()(char* s) const { ssh_string_free_char(s); }
};

using Key = std::unique_ptr<ssh_key_struct, KeyFree>;

std::string fingerprint(ssh_key key) {
  unsigned char* hash = nullptr;
  std::size_t len = 0;
  if (!key || ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != SSH_OK)
    return "?";
  std::unique_ptr<char, StringFree> text(
      ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len));
  ssh_clean_pubkey_hash(&hash);
  return text ? text.get() : "?";
}

// Never prompt from a host task: libssh asks this instead of the terminal.
int no_prompt(const char*, char*, std::size_t, int, int, void*) {
  return -1;
}

long remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return std::max<long>(left, 1);
}

// Output and end of one exec, filled by libssh's channel callbacks.
struct Exec {
  fanout::ExecResult result;
  bool got_status = false, eof = false, closed = false;
  std::string signal;
  const fanout::OutputSink* sink = nullptr;  // stdout goes there instead, when set
  bool stopped = false;                      // the sink asked to end the command

  static int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr,
                     void* self) {
    auto* e = static_cast<Exec*>(self);
    if (!is_stderr && e->sink) {
      if (!e->stopped && !(*e->sink)(std::string_view(static_cast<const char*>(data), len)))
        e->stopped = true;
    } else {
      e->result.take(is_stderr != 0, std::string_view(static_cast<const char*>(data), len));
    }
    return static_cast<int>(len);
  }
  static void on_eof(ssh_session, ssh_channel, void* self) { static_cast<Exec*>(self)->eof = true; }
  static void on_close(ssh_session, ssh_channel, void* self) {
    static_cast<Exec*>(self)->closed = true;
  }
  static void on_status(ssh_session, ssh_channel, int status, void* self) {
    auto* e = static_cast<Exec*>(self);
    e->result.status = status;
    e->got_status = true;
  }
  static void on_signal(ssh_session, ssh_channel, const char* signal, int, const char*, const char*,
                        void* self) {
    static_cast<Exec*>(self)->signal = signal ? signal : "?";
  }
};

class SshRemote final : public fanout::Remote {
 public:
  SshRemote(const config::Host& host, Context& context) : m_host(host), m_context(context) {}

  Expected<void> connect(Clock::time_point deadline) override {
    m_session.reset(ssh_new());
    if (!m_session) return failure(Outcome::unreachable, "connect", "cannot create an SSH session");
    ssh_session s = m_session.get();
    ssh_options_set(s, SSH_OPTIONS_HOST, m_host.address.c_str());
    // ~/.ssh/config first, then hosts.yaml over it.
    bool no = false;
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
    if (m_context.ssh_config != "none" &&
        ssh_options_parse_config(
            s, m_context.ssh_config.empty() ? nullptr : m_context.ssh_config.c_str()) < 0)
      return failure(Outcome::unreachable, "connect",
                     fmt::format("cannot read ssh config {}", m_context.ssh_config));
    if (m_host.port != 22) {
      const unsigned port = static_cast<unsigned>(m_host.port);
      ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    }
    if (!m_host.user.empty()) ssh_options_set(s, SSH_OPTIONS_USER, m_host.user.c_str());
    if (!m_host.known_hosts.empty()) {
      m_known_hosts = expand_home(m_host.known_hosts);
      ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, m_known_hosts.c_str());
    }
    int on = 1;
    ssh_options_set(s, SSH_OPTIONS_NODELAY, &on);
    set_timeout(deadline);
    static ssh_callbacks_struct callbacks = [] {
      ssh_callbacks_struct cb{};
      cb.auth_function = no_prompt;
      ssh_callbacks_init(&cb);
      return cb;
    }();
    ssh_set_callbacks(s, &callbacks);

    if (ssh_connect(s) != SSH_OK) {
      const std::string error = ssh_get_error(s);
      m_session.reset();
      if (Clock::now() + std::chrono::milliseconds(50) >= deadline)
        return failure(Outcome::timeout, "connect",
                       "no SSH handshake within the connect timeout (" + error + ")");
      const bool transient = error.find("refused") != std::string::npos ||
                             error.find("reset") != std::string::npos ||
                             error.find("unreachable") != std::string::npos;
      return failure(Outcome::unreachable, "connect", error, transient);
    }
    if (auto checked = check_host_key(); !checked) return checked;
    set_timeout(deadline);
    if (auto authed = authenticate(); !authed) {
      if (Clock::now() >= deadline)
        return failure(Outcome::timeout, "auth", "authentication timed out");
      return authed;
    }
    return {};
  }

  Expected<fanout::ExecResult> run(std::string_view command,
                                   std::span<const std::string_view> input,
                                   Clock::time_point deadline,
                                   const fanout::OutputSink* sink) override {
    ssh_session s = m_session.get();
    set_timeout(deadline);
    // Declared before the channel so they outlive it; the guard below unhooks them on every
    // path, as libssh may still deliver packets for a freed channel until the far end closes.
    Exec e;
    e.sink = sink;
    ssh_channel_callbacks_struct cb{};
    std::unique_ptr<ssh_channel_struct, ChannelFree> channel(ssh_channel_new(s));
    if (!channel || ssh_channel_open_session(channel.get()) != SSH_OK)
      return lost("cannot open a channel");
    cb.userdata = &e;
    cb.channel_data_function = Exec::on_data;
    cb.channel_eof_function = Exec::on_eof;
    cb.channel_close_function = Exec::on_close;
    cb.channel_exit_status_function = Exec::on_status;
    cb.channel_exit_signal_function = Exec::on_signal;
    ssh_callbacks_init(&cb);
    ssh_set_channel_callbacks(channel.get(), &cb);
    struct Unhook {
      ssh_channel channel;
      ssh_channel_callbacks callbacks;
      ~Unhook() { ssh_remove_channel_callbacks(channel, callbacks); }
    } unhook{channel.get(), &cb};
    std::unique_ptr<ssh_event_struct, EventFree> event(ssh_event_new());
    ssh_event_add_session(event.get(), s);
    struct Detach {
      ssh_event event;
      ssh_session session;
      ~Detach() { ssh_event_remove_session(event, session); }
    } detach{event.get(), s};
    const std::string cmd(command);
    if (ssh_channel_request_exec(channel.get(), cmd.c_str()) != SSH_OK)
      return lost("the exec request failed");
    // The input goes as fast as the channel's window lets it (OpenSSH's sshd opens 2 MB), not a
    // round trip per block as an SFTP write would. A command may exit without reading its
    // input (activate does when the host is not ready): then its exit status says how it went,
    // and what is left of the input is not sent.
    bool command_ended = false;
    for (std::string_view part : input) {
      while (!part.empty() && !command_ended) {
        // In pieces, each given what is left of the deadline: libssh waits for window space
        // within the session's timeout, counted afresh on every call.
        set_timeout(deadline);
        const std::size_t piece = std::min<std::size_t>(part.size(), 256 * 1024);
        const int wrote =
            ssh_channel_write(channel.get(), part.data(), static_cast<uint32_t>(piece));
        if (wrote > 0) {
          part.remove_prefix(static_cast<std::size_t>(wrote));
          if (!part.empty() && Clock::now() >= deadline)
            return failure(Outcome::timeout, "",
                           "the command's input could not be sent within its timeout");
          continue;
        }
        if (!ssh_is_connected(s)) return lost("cannot write the command's input");
        command_ended = e.closed || e.eof || ssh_channel_is_closed(channel.get()) ||
                        ssh_channel_is_eof(channel.get());
        if (!command_ended && Clock::now() >= deadline)
          return failure(Outcome::timeout, "",
                         "the command's input could not be sent within its timeout");
        if (!command_ended)
          return failure(Outcome::step_failed, "",
                         fmt::format("writing the command's input: {}", ssh_get_error(s)));
      }
    }
    if (!ssh_channel_is_closed(channel.get())) ssh_channel_send_eof(channel.get());
    const long tick = sink ? 250L : 1000L;
    while (!e.closed && !(e.eof && e.got_status)) {
      if (Clock::now() >= deadline)
        return failure(Outcome::timeout, "", "the command did not finish within its timeout");
      if (ssh_event_dopoll(event.get(), static_cast<int>(std::min(remaining_ms(deadline), tick))) ==
          SSH_ERROR)
        return lost("the connection broke during the command");
      if (sink && !e.stopped && !(*sink)({})) e.stopped = true;
      // Closing the channel (on return) closes the command's output: it ends at its next write.
      if (e.stopped) return failure(Outcome::cancelled, "", "ended by the reader");
    }
    if (!e.got_status) {
      if (!e.signal.empty())
        return failure(Outcome::step_failed, "", "the command was killed by signal " + e.signal);
      return failure(Outcome::step_failed, "", "the command ended without an exit status");
    }
    return std::move(e.result);
  }

 private:
  void set_timeout(Clock::time_point deadline) {
    const long ms = remaining_ms(deadline);
    const long seconds = ms / 1000, usec = (ms % 1000) * 1000;
    ssh_options_set(m_session.get(), SSH_OPTIONS_TIMEOUT, &seconds);
    ssh_options_set(m_session.get(), SSH_OPTIONS_TIMEOUT_USEC, &usec);
  }

  tl::unexpected<fanout::Failure> lost(std::string_view what) {
    return failure(Outcome::unreachable, "",
                   fmt::format("{}: {}", what, ssh_get_error(m_session.get())));
  }

  std::optional<deploy::SshEndpoint> endpoint() const override {
    if (!m_session || m_host_key.empty()) return std::nullopt;
    unsigned port = 22;
    ssh_options_get_port(m_session.get(), &port);
    return deploy::SshEndpoint{option(SSH_OPTIONS_HOST), static_cast<int>(port), user(),
                               m_host_key};
  }

  std::string known_hosts_name() const {
    const std::string file = option(SSH_OPTIONS_KNOWNHOSTS);
    return file.empty() ? std::string("known_hosts") : file;
  }

  Expected<void> check_host_key() {
    ssh_session s = m_session.get();
    ssh_key raw = nullptr;
    if (ssh_get_server_publickey(s, &raw) != SSH_OK)
      return failure(Outcome::host_key, "host-key", "the server sent no host key");
    Key offered(raw);
    const std::string offered_fp = fingerprint(offered.get());
    char* base64 = nullptr;
    if (ssh_pki_export_pubkey_base64(offered.get(), &base64) == SSH_OK && base64) {
      m_host_key = fmt::format("{} {}", ssh_key_type_to_char(ssh_key_type(offered.get())), base64);
      ssh_string_free_char(base64);
    }
    switch (ssh_session_is_known_server(s)) {
      case SSH_KNOWN_HOSTS_OK:
        return {};
      case SSH_KNOWN_HOSTS_CHANGED:
      case SSH_KNOWN_HOSTS_OTHER: {
        const std::string known_fp = known_fingerprint();
        return failure(Outcome::host_key, "host-key",
                       fmt::format("the host key has CHANGED: {} holds {}, the host offered {}. "
                                   "If the host was reinstalled, remove the old key "
                                   "(ssh-keygen -R) and deploy again",
                                   known_hosts_name(), known_fp, offered_fp));
      }
      case SSH_KNOWN_HOSTS_NOT_FOUND:
      case SSH_KNOWN_HOSTS_UNKNOWN: {
        if (m_host.host_key_checking == config::HostKeyPolicy::strict)
          return failure(Outcome::host_key, "host-key",
                         fmt::format("unknown host: not in {} and host_key_checking is strict "
                                     "(it offered {})",
                                     known_hosts_name(), offered_fp));
        std::lock_guard lock(m_context.known_hosts_lock);
        if (!m_known_hosts.empty()) {
          std::error_code ec;
          std::filesystem::create_directories(std::filesystem::path(m_known_hosts).parent_path(),
                                              ec);
        }
        // Another task may have recorded this host meanwhile.
        if (ssh_session_is_known_server(s) == SSH_KNOWN_HOSTS_OK) return {};
        if (ssh_session_update_known_hosts(s) != SSH_OK)
          return failure(Outcome::host_key, "host-key",
                         fmt::format("cannot record the host key in {}: {}", known_hosts_name(),
                                     ssh_get_error(s)));
        return {};
      }
      case SSH_KNOWN_HOSTS_ERROR:
        break;
    }
    return failure(Outcome::host_key, "host-key",
                   fmt::format("cannot check the host key: {}", ssh_get_error(s)));
  }

  std::string option(ssh_options_e which) const {
    char* value = nullptr;
    if (ssh_options_get(m_session.get(), which, &value) != SSH_OK || !value) return "";
    std::string out = value;
    ssh_string_free_char(value);
    return out;
  }

  // The fingerprint known_hosts holds for this host (libssh does not say on a mismatch).
  std::string known_fingerprint() const {
    unsigned port = 22;
    ssh_options_get_port(m_session.get(), &port);
    const std::string host = option(SSH_OPTIONS_HOST);
    const std::string name = port == 22 ? host : fmt::format("[{}]:{}", host, port);
    std::ifstream in(expand_home(option(SSH_OPTIONS_KNOWNHOSTS)));
    std::string line, found;
    while (std::getline(in, line)) {
      ssh_knownhosts_entry* entry = nullptr;
      if (ssh_known_hosts_parse_line(name.c_str(), line.c_str(), &entry) == SSH_OK && entry) {
        const std::string fp = fingerprint(entry->publickey);
        ssh_knownhosts_entry_free(entry);
        found += (found.empty() ? "" : " and ") + fp;
      }
    }
    return found.empty() ? "another key" : found;
  }

  Expected<void> authenticate() {
    ssh_session s = m_session.get();
    std::vector<std::string> tried;
    if (!m_host.identity_file.empty()) {
      const auto text = m_context.keys.key(m_host.identity_file);
      if (!text) return failure(Outcome::auth, "auth", text.error().message);
      ssh_key raw = nullptr;
      if (ssh_pki_import_privkey_base64(text->c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK)
        return failure(Outcome::auth, "auth", "cannot use the key " + m_host.identity_file);
      Key key(raw);
      const int rc = ssh_userauth_publickey(s, nullptr, key.get());
      if (rc == SSH_AUTH_SUCCESS) return {};
      if (rc == SSH_AUTH_ERROR) return lost_auth();
      tried.push_back("key " + m_host.identity_file);
    } else {
      // The agent, then the keys ~/.ssh/config and libssh's defaults name (unencrypted ones only:
      // nothing prompts here).
      const int rc = ssh_userauth_publickey_auto(s, nullptr, nullptr);
      if (rc == SSH_AUTH_SUCCESS) return {};
      if (rc == SSH_AUTH_ERROR) return lost_auth();
      tried.push_back("ssh agent and default keys");
    }
    if (auto password = this->password(); password) {
      if (!*password) return failure(Outcome::auth, "auth", password->error().message);
      const int rc = ssh_userauth_password(s, nullptr, (*password)->c_str());
      if (rc == SSH_AUTH_SUCCESS) return {};
      if (rc == SSH_AUTH_ERROR) return lost_auth();
      tried.push_back("password");
    }
    return failure(
        Outcome::auth, "auth",
        fmt::format("permission denied for user {} (tried: {})", user(), fmt::join(tried, ", ")));
  }

  tl::unexpected<fanout::Failure> lost_auth() {
    return failure(Outcome::auth, "auth", ssh_get_error(m_session.get()));
  }

  std::string user() const {
    const std::string name = option(SSH_OPTIONS_USER);
    return name.empty() ? "?" : name;
  }

  // The SSH password from password_env or password_file; nullopt when neither is set.
  std::optional<Result<std::string>> password() const {
    if (!m_host.password_env.empty()) {
      const auto value = env_secret(m_host.password_env);
      if (!value)
        return Result<std::string>(fail("password_env {} is not set", m_host.password_env));
      return Result<std::string>(std::string(*value));
    }
    if (!m_host.password_file.empty()) {
      std::ifstream in(expand_home(m_host.password_file));
      std::string line;
      if (!in || !std::getline(in, line))
        return Result<std::string>(fail("cannot read password_file {}", m_host.password_file));
      return Result<std::string>(line);
    }
    return std::nullopt;
  }

  config::Host m_host;
  Context& m_context;
  std::string m_known_hosts;
  std::string m_host_key;  // the host key verified at connect, "type base64"
  std::unique_ptr<ssh_session_struct, SessionFree> m_session;
};

}  // namespace

void KeyRing::load(const std::string& path, const Passphrase& passphrase) {
  if (m_keys.contains(path)) return;
  const std::string file = expand_home(path);
  ssh_key raw = nullptr;
  int rc = ssh_pki_import_privkey_file(file.c_str(), nullptr, no_prompt, nullptr, &raw);
  if (rc == SSH_EOF) {
    m_keys.emplace(path, fail("identity_file {}: cannot read it", path));
    return;
  }
  if (rc != SSH_OK) {
    // Encrypted (or unreadable as a key): ask once.
    const auto phrase = passphrase ? passphrase(path) : std::nullopt;
    if (!phrase) {
      m_keys.emplace(path, fail("identity_file {}: encrypted and no passphrase given "
                                "(set CRAWL_SSH_PASSPHRASE or run from a terminal)",
                                path));
      return;
    }
    rc = ssh_pki_import_privkey_file(file.c_str(), phrase->c_str(), no_prompt, nullptr, &raw);
    if (rc != SSH_OK) {
      m_keys.emplace(path, fail("identity_file {}: wrong passphrase or not a private key", path));
      return;
    }
  }
  Key key(raw);
  char* b64 = nullptr;
  if (ssh_pki_export_privkey_base64(key.get(), nullptr, nullptr, nullptr, &b64) != SSH_OK || !b64) {
    m_keys.emplace(path, fail("identity_file {}: cannot use this key type", path));
    return;
  }
  std::string text = b64;
  std::memset(b64, 0, text.size());
  ssh_string_free_char(b64);
  m_keys.emplace(path, std::move(text));
}

Result<fanout::KeyPair> new_key_pair() {
  ssh_key raw = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw) != SSH_OK || !raw)
    return fail("cannot generate an ed25519 key");
  Key key(raw);
  char* text = nullptr;
  if (ssh_pki_export_privkey_base64(key.get(), nullptr, nullptr, nullptr, &text) != SSH_OK || !text)
    return fail("cannot export the generated key");
  fanout::KeyPair pair;
  pair.private_key = text;
  std::memset(text, 0, pair.private_key.size());
  ssh_string_free_char(text);
  if (ssh_pki_export_pubkey_base64(key.get(), &text) != SSH_OK || !text)
    return fail("cannot export the generated key's public half");
  pair.public_key = fmt::format("ssh-ed25519 {}", text);
  ssh_string_free_char(text);
  return pair;
}

Result<std::string> KeyRing::key(const std::string& path) const {
  const auto it = m_keys.find(path);
  if (it == m_keys.end()) return fail("identity_file {} was not loaded", path);
  return it->second;
}

fanout::RemoteFactory remote_factory(Context& context) {
  return [&context](const config::Host& host) -> std::unique_ptr<fanout::Remote> {
    if (host.transport == config::Transport::local) return local_remote(host);
    return std::make_unique<SshRemote>(host, context);
  };
}

}  // namespace crawl::ssh
