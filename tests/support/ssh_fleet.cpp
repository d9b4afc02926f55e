#include "ssh_fleet.hpp"

#include <filesystem>
#include <stdexcept>

#include <pwd.h>
#include <shadow.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace crawl::testing {

namespace {

constexpr const char* k_sshd = "/usr/sbin/sshd";  // sshd re-executes itself: absolute path

std::string current_user() {
  const passwd* pw = getpwuid(geteuid());
  if (pw == nullptr) throw std::runtime_error("cannot find the current user");
  return pw->pw_name;
}

// sshd refuses any login to a locked account ("!" password) unless PAM decides instead.
bool account_locked(const std::string& user) {
  const spwd* sp = getspnam(user.c_str());
  return sp != nullptr && sp->sp_pwdp != nullptr && sp->sp_pwdp[0] == '!';
}

void keygen(const std::string& path, const std::string& log) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".pub");
  const int rc = run_command(
      {{"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "crawl-test", "-f", path}, log, {}});
  if (rc != 0) throw std::runtime_error("ssh-keygen failed for " + path + ": " + read_text(log));
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// The public key without its comment: "ssh-ed25519 AAAA...".
std::string key_without_comment(const std::string& line) {
  const auto first = line.find(' ');
  const auto second = line.find(' ', first + 1);
  return line.substr(0, second);
}

}  // namespace

SshFleet::SshFleet(int n) : SshFleet(n, {}) {}

SshFleet::SshFleet(int n, const std::vector<std::string>& users) : m_user(current_user()) {
  if (n < 1 || n > 250) throw std::runtime_error("SshFleet: 1 to 250 hosts");
  // sshd insists on its privilege separation directory when started as root.
  if (geteuid() == 0) std::filesystem::create_directories("/run/sshd");
  const std::string log = m_dir / "keygen.log";
  keygen(client_key(), log);
  write_text(m_dir / "authorized_keys", read_text(client_key() + ".pub"), 0600);

  for (int i = 1; i <= n; ++i) {
    FleetHost host;
    host.name = "host" + std::to_string(i);
    host.address = "127.0.1." + std::to_string(i);
    host.dir = m_dir / host.name;
    host.user = m_user;
    host.remote_dir = host.dir + "/remote";
    std::filesystem::create_directories(host.remote_dir);
    if (static_cast<std::size_t>(i) <= users.size()) {
      host.user = users[static_cast<std::size_t>(i - 1)];
      const passwd* pw = getpwnam(host.user.c_str());
      if (pw == nullptr) throw std::runtime_error("SshFleet: no account " + host.user);
      const std::string ssh_dir = std::string(pw->pw_dir) + "/.ssh";
      std::filesystem::create_directories(ssh_dir);
      write_text(ssh_dir + "/authorized_keys", read_text(client_key() + ".pub"), 0600);
      for (const std::string& path :
           {std::string(pw->pw_dir), ssh_dir, ssh_dir + "/authorized_keys"})
        if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
          throw std::runtime_error("SshFleet: cannot chown " + path);
      host.remote_dir = std::string(pw->pw_dir) + "/crawl";
    }
    keygen(host.dir + "/host_key", log);
    host.host_key = key_without_comment(first_line(read_text(host.dir + "/host_key.pub")));
    m_hosts.push_back(std::move(host));
    m_servers.emplace_back();
    start_host(static_cast<std::size_t>(i - 1));  // writes known_hosts as each host comes up
  }
}

void SshFleet::write_known_hosts() const {
  std::string known_hosts;
  for (const auto& h : m_hosts)
    if (h.port != 0)
      known_hosts += "[" + h.address + "]:" + std::to_string(h.port) + " " + h.host_key + "\n";
  write_text(this->known_hosts(), known_hosts, 0644);
}

std::vector<pid_t> SshFleet::session_processes() const {
  const std::string marker = "CRAWL_SSH_FLEET=" + dir();
  std::vector<std::string> connections;
  for (const auto& h : m_hosts)
    connections.push_back(" " + h.address + " " + std::to_string(h.port));
  return find_processes([&](std::string_view env) {
    std::size_t start = 0;
    while (start < env.size()) {
      std::size_t end = env.find('\0', start);
      if (end == std::string_view::npos) end = env.size();
      const std::string_view var = env.substr(start, end - start);
      if (var == marker) return true;
      if (var.starts_with("SSH_CONNECTION="))
        for (const auto& c : connections)
          if (var.ends_with(c)) return true;
      start = end + 1;
    }
    return false;
  });
}

SshFleet::~SshFleet() {
  for (auto& server : m_servers) server.stop(5s);
  for (pid_t pid : session_processes()) kill(pid, SIGKILL);
}

void SshFleet::reconfigure_host(std::size_t i, const std::string& lines) {
  stop_host(i);
  m_hosts.at(i).sshd_extra = lines;
  start_host(i);
}

void SshFleet::start_host(std::size_t i) {
  FleetHost& host = m_hosts.at(i);
  const bool use_pam = geteuid() == 0 && account_locked(host.user);
  int attempt = 0;
  const bool started = start_with_retry([&] {
    if (host.port == 0 || attempt++ > 0) host.port = free_port(host.address);
    std::string conf;
    conf += "ListenAddress " + host.address + ":" + std::to_string(host.port) + "\n";
    conf += "HostKey " + host.dir + "/host_key\n";
    conf += "PidFile " + host.dir + "/sshd.pid\n";
    conf += "AuthorizedKeysFile " +
            (host.user == m_user ? dir() + "/authorized_keys"
                                 : std::string("%h/.ssh/authorized_keys")) +
            "\n";
    conf += "AllowUsers " + host.user + "\n";
    conf += "AuthenticationMethods publickey\n";
    conf += "PubkeyAuthentication yes\n";
    conf += "PasswordAuthentication no\n";
    conf += "KbdInteractiveAuthentication no\n";
    conf += std::string("UsePAM ") + (use_pam ? "yes" : "no") + "\n";
    conf += "PermitRootLogin prohibit-password\n";
    conf += "StrictModes no\n";  // the temp dir is not the user's ~/.ssh
    conf += "Subsystem sftp internal-sftp\n";
    conf += "MaxStartups 200:30:400\n";
    conf += "MaxSessions 100\n";
    conf += "LogLevel INFO\n";
    conf += host.sshd_extra;
    write_text(host.dir + "/sshd_config", conf, 0600);
    m_servers.at(i) = Process({{k_sshd, "-D", "-e", "-f", host.dir + "/sshd_config"},
                               host.dir + "/sshd.log",
                               {"CRAWL_SSH_FLEET=" + dir()}});
    const bool ready = wait_until(
        [&] {
          if (!m_servers[i].running()) return true;
          auto banner = tcp_exchange(host.address, host.port, "", 8, 200ms);
          return banner && banner->starts_with("SSH-2.0");
        },
        10s);
    if (ready && m_servers[i].running()) return true;
    m_servers[i].stop(1s);
    return false;
  });
  if (started) {
    write_known_hosts();
    return;
  }
  throw std::runtime_error("sshd for " + host.name +
                           " did not start; log: " + read_text(host.dir + "/sshd.log"));
}

void SshFleet::stop_host(std::size_t i) {
  m_servers.at(i).stop(5s);
}

std::vector<std::string> SshFleet::ssh_argv(std::size_t i, const std::string& command) const {
  const FleetHost& h = m_hosts.at(i);
  return {"ssh",
          "-F",
          "/dev/null",
          "-i",
          client_key(),
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "UserKnownHostsFile=" + known_hosts(),
          "-o",
          "GlobalKnownHostsFile=/dev/null",
          "-o",
          "StrictHostKeyChecking=yes",
          "-o",
          "BatchMode=yes",
          "-o",
          "ConnectTimeout=10",
          "-p",
          std::to_string(h.port),
          "-l",
          h.user,
          h.address,
          command};
}

std::string SshFleet::inventory_yaml(const std::string& extra) const {
  std::string yaml = "hosts:\n";
  for (const auto& h : m_hosts) {
    yaml += "  " + h.name + ":\n";
    yaml += "    address: " + h.address + "\n";
    yaml += "    port: " + std::to_string(h.port) + "\n";
    yaml += "    user: \"" + h.user + "\"\n";
    yaml += "    identity_file: \"" + client_key() + "\"\n";
    yaml += "    remote_dir: \"" + h.remote_dir + "\"\n";
  }
  return yaml + extra;
}

}  // namespace crawl::testing
