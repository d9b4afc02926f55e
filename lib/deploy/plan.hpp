#pragma once
// What deploy and stop do on one host, as data: the remote commands (POSIX sh, every value
// quoted by quote.hpp) and what they read on stdin, built from the inventory and the release.
// Nothing here touches a host; fanout runs these steps over a Remote, and `deploy --dry-run` prints
// them.
//
// Remote layout under a host's remote_dir:
//   bin/crawlworker   the worker binary (received to bin/.crawlworker.upload, checked, renamed)
//   bin/crawlworker.sha256  its checksum, verified on receipt, so a redeploy need not hash it
//   worker.yaml       its config, mode 0600
//   run/wN.pid        worker N's pid;   run/wN.sock   its dtach socket
//   log/wN.log        its output

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/inventory.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"

namespace crawl::deploy {

// The binary as a deploy sends it: gzip-compressed, on first use (an unchanged redeploy never
// needs it), once for every host task of the deploy, whichever asks first.
class Payload {
 public:
  explicit Payload(std::string binary) : m_binary(std::move(binary)) {}
  // The gzip stream (level 6), or why zlib could not make it; thread-safe.
  const Result<std::string>& compressed() const;

 private:
  std::string m_binary;
  mutable std::once_flag m_once;
  mutable Result<std::string> m_compressed;
};

struct Release {
  std::string binary_path;    // the local crawlworker
  std::string binary_sha256;  // lower-case hex
  std::uint64_t binary_size = 0;
  // The binary as it is sent: streamed on the activate command's stdin after the config, and
  // decompressed and checked against binary_sha256 on the host.
  std::shared_ptr<const Payload> payload;
  std::string os = "Linux";  // `uname -s` and `uname -m` of the machines it runs on
  std::string arch;
  std::string config;  // the workers' config file (worker_config())
};

struct Options {
  bool restart = false;  // restart workers even when neither binary nor config changed
  std::chrono::milliseconds stop_grace{15'000};  // SIGTERM, then this long to drain, then SIGKILL
};

// The config file every deployed worker reads: the inventory's worker settings and Redis
// prefix, and `redis_url` (with its password, which is why the file is 0600).
std::string worker_config(const config::Inventory& inventory, std::string_view redis_url);

// Worker i (1-based) on a host: "<host name>/<i>", the id it heartbeats under. The one place the
// form is written and read.
std::string worker_id(std::string_view host, int index);
std::string worker_id(const config::Host& host, int index);
struct WorkerName {
  std::string host;
  int index = 0;
};
// A worker id back into its host and index; nullopt for an id of another form (a worker started
// by hand under an id of its own).
std::optional<WorkerName> parse_worker_id(std::string_view id);

// What a host has, as the activate step reports it before it goes on (key=value lines).
struct Probe {
  std::string os, arch;
  std::vector<std::string> missing;  // commands the workers need and the host lacks (dtach, ...)
  std::string binary_sha256;         // of the binary installed by a deploy; "" = none
};

// `where` names the host in errors.
Result<Probe> parse_probe(std::string_view output, std::string_view where);

// One remote command: its command line and its stdin, `input` then `payload` (when set).
struct Step {
  std::string name;                // install, activate, stop, inspect
  std::string command;             // the command line
  const Secret* secret = nullptr;  // sent on stdin before `input` as it is held: never copied
  std::string input;
  std::shared_ptr<const Payload> payload;  // the release's binary, for an activate that sends it
};

// Exit statuses of the activate step that ask for more steps.
inline constexpr int k_exit_missing_libraries = 4;  // the uploaded binary's libraries are missing
inline constexpr int k_exit_not_ready = 10;         // see its probe lines: upload or install first

// The activate step: one command that first probes the host (platform, dtach, sha256sum and
// gzip, the installed binary's sha256) and stops with k_exit_not_ready unless the host can run
// the release. Then it writes the config from stdin (mode 0600); with `what.send` it receives the
// binary after it on stdin (gzip-compressed) into bin/.crawlworker.upload. It verifies a new
// binary (when `what.send` or `what.uploaded`: its sha256, that it runs here) and moves it into
// place, restarts the workers when either changed (or `what.restart`; each stopped with SIGTERM,
// then SIGKILL after `stop_grace`), stops workers numbered past `workers`, and starts the ones
// not running under dtach, each with `deploy_id` to report in its heartbeats. Prints started=I,
// kept=I, stopped=I, killed=I.
//
// A deploy runs it first without the binary: an unchanged host costs one command, and a host
// whose binary differs says so (sha256=) and gets it in a second activate.
struct Activate {
  bool send = false;      // the release's payload follows the config on stdin: receive it
  bool uploaded = false;  // a new binary waits in place of the upload (sent by an earlier step)
  bool restart = false;   // restart the workers even when neither the binary nor the config changed
  bool relayed = false;   // the new binary is the one the group's relay passed on (relay_step)
  bool revoke = false;    // deploy --relay: first remove this host's relay key (relay_tag) and any
                          // other deploy's from ~/.ssh/authorized_keys
};
Step activate_step(const config::Host& host, const Release& release, Activate what,
                   std::chrono::milliseconds stop_grace, std::string_view deploy_id);

// After an activate that found the host not ready: install (when something is missing and
// install_command is set), then activate again, sending the binary unless an earlier step left
// it there (`uploaded`) or the binary there has the release's sha256. Fails with the reason when
// the host cannot run the release (another platform, a missing command and no install_command).
Result<std::vector<Step>> plan(const config::Host& host, const Release& release, const Probe& probe,
                               bool uploaded, const Options& options, std::string_view deploy_id);

// Everything a first deploy to an empty host does, for --dry-run.
std::vector<Step> full_plan(const config::Host& host, const Release& release,
                            const Options& options, std::string_view deploy_id);

// The host's install_command, as written. With a sudo password, it runs under `sh -c` (so in
// POSIX sh syntax, whatever the login shell) after reading the password from the step's stdin,
// which carries it, with `sudo` made a function that hands it to `sudo -S -v` through the
// shell's printf builtin (tracing off meanwhile) and then runs `sudo -n`; the credentials
// cached are dropped (`sudo -k`) when it exits. So the password is never in an argument list,
// never printed (--dry-run shows the command without it), and the programs the command runs
// cannot read it: it is an unexported variable of the wrapper. `exec sudo`, `env sudo` and
// scripts the command calls reach the real sudo, which cannot ask without a terminal, and a
// sudoers `timestamp_timeout=0` defeats -v then -n.
Step install_step(const config::Host& host, const Secret* sudo_password = nullptr);
// deploy --relay (lib/fanout/relay.hpp). A host of a group gets the binary from the group's relay
// rather than from crawlctl: it authorises the deploy's own key for one thing only, receiving one
// file (its forced command writes at most the binary's size to bin/.crawlworker.relayed under
// remote_dir, with `restrict`: no shell, no forwarding, no PTY), until `until` (expiry-time);
// the relay connects with it and sends its binary; the activate after it (Activate::relayed)
// checks the sha256 as for any upload and removes the key (Activate::revoke).
struct RelayGrant {
  std::string public_key;  // "ssh-ed25519 AAAA..."
  std::string tag;         // the key's comment: relay_tag()
  std::int64_t until = 0;  // seconds since the epoch
};
// The comment of the relay key a host authorises in deploy `deploy_id`:
// "crawlctl-relay-<deploy id>-<host>". Every relay key's comment starts with k_relay_tag.
inline constexpr std::string_view k_relay_tag = "crawlctl-relay-";
std::string relay_tag(std::string_view deploy_id, std::string_view host);
Step authorize_step(const config::Host& host, const Release& release, const RelayGrant& grant);

// A host as an SSH client on another machine reaches it: address, port, login, and the host key
// to expect there (the one crawlctl verified), as a known_hosts key "ssh-ed25519 AAAA...".
struct SshEndpoint {
  std::string address;
  int port = 22;
  std::string user;
  std::string host_key;
};
// On the relay: ssh to `peer` with `private_key` (the step's stdin; OpenSSH text) and that host
// key only (no ssh config, agent or other known_hosts), its binary on the command's stdin.
Step relay_step(const config::Host& relay, const SshEndpoint& peer, std::string private_key);

// SIGTERM to every worker, `grace` to drain, then SIGKILL; prints stopped=I / killed=I lines.
Step stop_step(const config::Host& host, std::chrono::milliseconds grace);

// For `crawlctl status --hosts`: one command that reports, for every worker the host has a pid
// file or a log for, whether its process runs and how big its log is, and the host's clock.
Step inspect_step(const config::Host& host);

struct WorkerProcess {
  // exited: a pid file is left and its process is gone, or is a zombie its parent (the dtach
  // that ran it) has not reaped yet: dead either way.
  enum class State { running, exited, none };
  int index = 0;
  long pid = 0;  // from the pid file; 0 = none
  State state = State::none;
  std::int64_t log_bytes = -1;  // -1: no log
  std::int64_t log_mtime = 0;   // seconds since the epoch, by the host's clock
};
std::string_view to_string(WorkerProcess::State state);

struct Inspection {
  std::int64_t now = 0;                // the host's clock (s), to age the log mtimes by
  std::vector<WorkerProcess> workers;  // by index
};
Result<Inspection> parse_inspection(std::string_view output);

// What activate and stop printed.
struct Activation {
  std::vector<int> started, kept, stopped, killed;  // worker indices
};
Activation parse_activation(std::string_view output);

}  // namespace crawl::deploy
