#include "ssh/local.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <span>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssh/ssh.hpp"

namespace crawl::ssh {

using fanout::Clock;
using fanout::Expected;
using fanout::failure;
using fanout::Outcome;

namespace {

class LocalRemote final : public fanout::Remote {
 public:
  explicit LocalRemote(const config::Host& host) : m_host(host) {}

  Expected<void> connect(Clock::time_point) override { return {}; }

  Expected<fanout::ExecResult> run(std::string_view command,
                                   std::span<const std::string_view> parts,
                                   Clock::time_point deadline,
                                   const fanout::OutputSink* sink) override {
    // One buffer for the pipe: a local host is this machine, one of them at most per deploy.
    // It may hold a password (sudo's, the worker config's Redis one): wiped when done.
    std::size_t total = 0;
    for (const std::string_view part : parts) total += part.size();
    std::string input;
    input.reserve(total);  // one allocation: no earlier buffer left behind unwiped
    for (const std::string_view part : parts) input += part;
    struct Wipe {
      std::string& s;
      ~Wipe() { explicit_bzero(s.data(), s.size()); }
    } wipe{input};
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
      return failure(Outcome::step_failed, "", fmt::format("pipe: {}", std::strerror(errno)));
    const std::string cmd(command);
    const char* home = std::getenv("HOME");
    const pid_t pid = fork();
    if (pid < 0)
      return failure(Outcome::step_failed, "", fmt::format("fork: {}", std::strerror(errno)));
    setpgid(pid, pid);  // as the child does: whichever runs first, kill(-pid) finds the group
    if (pid == 0) {
      setpgid(0, 0);             // so a timeout can stop the command and what it started
      signal(SIGPIPE, SIG_DFL);  // crawlctl ignores it; the command gets the usual default
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      close_range(3, ~0U, 0);  // other threads' sockets must not live on in long-lived workers
      if (home && chdir(home) != 0) _exit(126);
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    fanout::ExecResult result;
    std::size_t written = 0;
    if (input.empty()) {
      close(in[1]);
      in[1] = -1;
    } else {
      fcntl(in[1], F_SETFL, O_NONBLOCK);
    }
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    bool timed_out = false, stopped = false;
    while ((fds[0].fd >= 0 || fds[1].fd >= 0) && !stopped) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      fds[2].fd = in[1];
      if (poll(fds, 3, static_cast<int>(std::min<long>(left, sink ? 250 : 1000))) < 0 &&
          errno != EINTR)
        break;
      if (sink && !(*sink)({})) stopped = true;
      for (int f = 0; f < 2 && !stopped; ++f) {
        if (fds[f].fd < 0 || !(fds[f].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buffer[65536];
        const ssize_t n = read(fds[f].fd, buffer, sizeof buffer);
        if (n > 0 && f == 0 && sink) {
          if (!(*sink)(std::string_view(buffer, static_cast<std::size_t>(n)))) stopped = true;
        } else if (n > 0) {
          result.take(f == 1, std::string_view(buffer, static_cast<std::size_t>(n)));
        } else if (n == 0 || errno != EINTR) {
          close(fds[f].fd);
          fds[f].fd = -1;
        }
      }
      if (in[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
        const ssize_t n = write(in[1], input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
        if (written == input.size()) {
          close(in[1]);
          in[1] = -1;
        }
      }
    }
    for (int fd : {fds[0].fd, fds[1].fd, in[1]})
      if (fd >= 0) close(fd);
    if ((timed_out || stopped) && kill(-pid, SIGKILL) != 0) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
      return failure(Outcome::timeout, "", "the command did not finish within its timeout");
    if (stopped) return failure(Outcome::cancelled, "", "ended by the reader");
    if (WIFSIGNALED(status))
      return failure(Outcome::step_failed, "",
                     fmt::format("the command was killed by signal {}", WTERMSIG(status)));
    result.status = WEXITSTATUS(status);
    return result;
  }

 private:
  config::Host m_host;
};

}  // namespace

std::unique_ptr<fanout::Remote> local_remote(const config::Host& host) {
  return std::make_unique<LocalRemote>(host);
}

}  // namespace crawl::ssh
