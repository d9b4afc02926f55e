#pragma once

#include <string>
#include <vector>

#include "process.hpp"

namespace crawl::testing {

struct FleetHost {
  std::string name;     // host1, host2, ...
  std::string address;  // 127.0.1.1, 127.0.1.2, ...
  int port = 0;
  std::string user;        // the login: the current user, or the account given to SshFleet
  std::string remote_dir;  // this host's own directory (all hosts share one filesystem)
  std::string host_key;    // public host key line ("ssh-ed25519 AAAA...")
  std::string dir;         // the sshd's config, keys and log
  std::string sshd_extra;  // lines appended to its sshd_config
};

// n real OpenSSH servers, each on its own loopback address 127.0.1.i and a free port, with
// its own generated host key. One generated client key is authorised for the current user, and
// a known_hosts file lists every host, so the stock client logs in with
//   ssh -F /dev/null -i client_key() -o UserKnownHostsFile=known_hosts() -p PORT user@address
// and strict host key checking. Password and keyboard-interactive logins are off.
class SshFleet {
 public:
  explicit SshFleet(int n);
  // Host i logs into account users[i] (which must exist; its home directory receives the
  // client key in .ssh/authorized_keys) and its remote_dir is "crawl" in that home. With one
  // account per host, tools that take one remote path for every host (pssh, Fabric, Ansible)
  // still give each host its own files, as on real machines.
  SshFleet(int n, const std::vector<std::string>& users);
  ~SshFleet();

  const std::vector<FleetHost>& hosts() const { return m_hosts; }
  std::string client_key() const { return m_dir / "client_key"; }
  std::string known_hosts() const { return m_dir / "known_hosts"; }
  std::string user() const { return m_user; }  // the current user
  const std::string& dir() const { return m_dir.path(); }
  pid_t pid(std::size_t i) const { return m_servers.at(i).pid(); }

  // argv for the stock ssh client running `command` on host i.
  std::vector<std::string> ssh_argv(std::size_t i, const std::string& command) const;

  // A hosts.yaml for this fleet: one entry per host with address, port, user, identity_file,
  // remote_dir, then `extra` appended verbatim (e.g. a redis: section).
  std::string inventory_yaml(const std::string& extra = "") const;

  void stop_host(std::size_t i);   // the sshd of host i goes away (connections refused)
  void start_host(std::size_t i);  // and comes back on its address (known_hosts follows a new port)
  // Restarts host i's sshd with `lines` added to its config (e.g. "SetEnv PATH=...").
  void reconfigure_host(std::size_t i, const std::string& lines);

  // Every process a session on this fleet started, as long as it runs: sshd's per-connection
  // processes (they leave our process group with setsid) and whatever the sessions launched,
  // dtach'd workers included. Found by environment: the marker each sshd carries, or the
  // SSH_CONNECTION that names one of our hosts.
  std::vector<pid_t> session_processes() const;

 private:
  void write_known_hosts() const;

  TempDir m_dir{"fleet"};
  std::string m_user;
  std::vector<FleetHost> m_hosts;
  std::vector<Process> m_servers;
};

}  // namespace crawl::testing
