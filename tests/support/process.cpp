#include "process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace crawl::testing {

namespace {

std::string temp_root() {
  for (const char* name : {"CRAWL_TEST_TMPDIR", "TMPDIR"})
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  return "/tmp";
}

// Every program a test starts that drains a job's records home (crawlctl results, wait, drain,
// serve) keeps them under the run's temp root, never in the home directory.
[[maybe_unused]] const bool k_records_dir_set = [] {
  if (std::getenv("CRAWL_RECORDS_DIR") == nullptr)
    setenv("CRAWL_RECORDS_DIR", (temp_root() + "/crawl-test-records").c_str(), 1);
  return true;
}();

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

TempDir::TempDir(std::string_view tag) {
  std::filesystem::create_directories(temp_root());
  std::string pattern = temp_root() + "/crawl-test-" + std::string(tag) + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) fail_errno("mkdtemp " + pattern);
  m_path = pattern;
  // Servers that drop privileges (nginx workers run as nobody) must be able to read it.
  chmod(m_path.c_str(), 0755);
}

TempDir::~TempDir() {
  const char* keep = std::getenv("CRAWL_TEST_KEEP");
  if (keep != nullptr && std::string_view(keep) == "1") return;
  std::error_code ignored;
  std::filesystem::remove_all(m_path, ignored);
}

Process::Process(const SpawnOptions& options) {
  if (options.argv.empty()) throw std::runtime_error("spawn: empty argv");
  // Everything the child needs is prepared before fork: only async-signal-safe calls after.
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // options.env replaces inherited variables of the same name rather than shadowing them.
  auto name_of = [](std::string_view e) { return e.substr(0, e.find('=')); };
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view inherited(*e);
    const bool replaced = std::any_of(options.env.begin(), options.env.end(), [&](const auto& o) {
      return name_of(o) == name_of(inherited);
    });
    if (!replaced) env_strings.emplace_back(inherited);
  }
  for (const auto& e : options.env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log = options.log_path.empty() ? "/dev/null" : options.log_path;

  int report[2];  // the child writes errno here if exec fails; closes on exec success
  if (pipe2(report, O_CLOEXEC) != 0) fail_errno("pipe");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    close(report[0]);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    if (in >= 0) dup2(in, 0);
    execvpe(argv[0], argv.data(), envp.data());
    const int err = errno;
    (void)!write(report[1], &err, sizeof err);
    _exit(127);
  }
  close(report[1]);
  int err = 0;
  const ssize_t n = read(report[0], &err, sizeof err);
  close(report[0]);
  m_pid = pid;
  if (n == sizeof err) {
    waitpid(pid, nullptr, 0);
    m_pid = -1;
    errno = err;
    fail_errno("exec " + options.argv[0]);
  }
}

Process::Process(Process&& other) noexcept : m_pid(other.m_pid), m_status(other.m_status) {
  other.m_pid = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    stop();
    m_pid = other.m_pid;
    m_status = other.m_status;
    other.m_pid = -1;
  }
  return *this;
}

bool Process::running() {
  if (m_pid <= 0 || m_status) return false;
  // WNOWAIT leaves an exited child a zombie, so its pid (and group id) cannot be reused before
  // stop() has swept the group and reaped it.
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(m_pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return false;
  return info.si_pid == 0;
}

void Process::signal(int signo) const {
  if (m_pid > 0 && !m_status) kill(m_pid, signo);
}

void Process::stop(std::chrono::milliseconds grace, int signo) {
  if (m_pid <= 0 || m_status) return;
  if (running()) {
    kill(m_pid, signo);
    wait_until([this] { return !running(); }, grace);
  }
  // Whatever is left of the group we created (the child itself if it ignored `signo`, nginx
  // workers, sshd sessions) goes now, while the unreaped leader still holds the group id.
  kill(-m_pid, SIGKILL);
  int status = 0;
  waitpid(m_pid, &status, 0);
  m_status = status;
}

bool start_with_retry(const std::function<bool()>& try_once, int attempts) {
  for (int attempt = 0; attempt < attempts; ++attempt)
    if (try_once()) return true;
  return false;
}

std::vector<pid_t> find_processes(const std::function<bool(std::string_view environ)>& match) {
  std::vector<pid_t> found;
  const pid_t self = getpid();
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == self) continue;
    const std::string env = read_text(entry.path() / "environ");
    if (!env.empty() && match(env)) found.push_back(pid);
  }
  return found;
}

int run_command(const SpawnOptions& options, std::chrono::milliseconds timeout) {
  Process p(options);
  const bool finished = wait_until([&] { return !p.running(); }, timeout);
  p.stop(0ms, SIGKILL);
  if (!finished) throw std::runtime_error(options.argv[0] + " did not finish in time");
  const int status = *p.exit_status();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

int free_port(const std::string& address) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    fail_errno("bind " + address);
  }
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

std::optional<std::string> tcp_exchange(const std::string& address, int port,
                                        std::string_view request, std::size_t want,
                                        std::chrono::milliseconds timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return std::nullopt;
  }
  if (!request.empty()) (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (reply.size() < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return reply;
}

std::size_t occurrences(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

long long peak_rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const std::string& path, std::string_view text, int mode) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  chmod(path.c_str(), static_cast<mode_t>(mode));
}

}  // namespace crawl::testing
