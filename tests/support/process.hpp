#pragma once
// Processes, temp directories and ports for the test harness. Every fixture owns the processes
// it starts and, on teardown, stops exactly those pids (and their process groups).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace crawl::testing {

using namespace std::chrono_literals;

// A fresh directory "crawl-test-<tag>-XXXXXX" under $CRAWL_TEST_TMPDIR (set by scripts/test.sh),
// else $TMPDIR, else /tmp; removed with its contents on destruction unless $CRAWL_TEST_KEEP=1.
class TempDir {
 public:
  explicit TempDir(std::string_view tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return m_path; }
  std::string operator/(std::string_view name) const { return m_path + "/" + std::string(name); }

 private:
  std::string m_path;
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string log_path;           // stdout and stderr are appended here ("" = /dev/null)
  std::vector<std::string> env;   // "NAME=value" added to the inherited environment
};

// A child process in its own process group. It receives SIGKILL if the test process dies
// (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
class Process {
 public:
  Process() = default;
  // Throws std::runtime_error naming the program when fork or exec fails.
  explicit Process(const SpawnOptions& options);
  ~Process() { stop(); }
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return m_pid; }
  bool running();
  std::optional<int> exit_status() const { return m_status; }  // raw waitpid status, once stopped

  void signal(int signo) const;
  // Sends `signo`, waits up to `grace`, then SIGKILLs what is left of the process group and
  // reaps the child. Does nothing once stopped.
  void stop(std::chrono::milliseconds grace = 5s, int signo = 15 /* SIGTERM */);

 private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
};

// Runs a command to completion and returns its exit code (or -1 if it died by a signal);
// output goes to `log_path`. Throws if it cannot start or outlives `timeout` (then it is killed).
int run_command(const SpawnOptions& options, std::chrono::milliseconds timeout = 60s);

// Calls `try_once` until it returns true, at most `attempts` times: for servers started on a
// port found free a moment earlier, which another process may have taken since.
bool start_with_retry(const std::function<bool()>& try_once, int attempts = 5);

// Processes (other than this one) whose environment, NUL-separated "NAME=value" entries,
// satisfies `match`: how a fixture finds what its servers spawned outside their process group.
std::vector<pid_t> find_processes(const std::function<bool(std::string_view environ)>& match);

// Polls `ready` every 20 ms until it returns true or `timeout` passes.
bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

// A TCP port on `address` that nothing listens on at the moment of the call.
int free_port(const std::string& address = "127.0.0.1");

// Connects to address:port, sends `request` (may be empty) and returns what arrives within
// `timeout` until the peer closes or `want` bytes arrived; nullopt if the connect fails.
std::optional<std::string> tcp_exchange(const std::string& address, int port,
                                        std::string_view request, std::size_t want,
                                        std::chrono::milliseconds timeout = 1s);

std::string read_text(const std::string& path);
void write_text(const std::string& path, std::string_view text, int mode = 0644);

// How many times `needle` occurs in `text` (overlapping ones too).
std::size_t occurrences(std::string_view text, std::string_view needle);

// Peak resident memory of a running process (the kernel's VmHWM; 0 is this one), or -1 once it
// is gone.
long long peak_rss_bytes(pid_t pid = 0);

}  // namespace crawl::testing
