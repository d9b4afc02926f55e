#pragma once

#include <memory>
#include <string>

#include "process.hpp"

namespace crawl::testing {

struct RedisOptions {
  bool append_only = false;  // AOF on, fsync every second: survives restart()
  std::string password;      // requirepass, written to the config file (not the command line)
  std::string extra_config;  // more redis.conf lines, e.g. "replicaof 127.0.0.1 6379\n"
};

// A private redis-server on a free loopback port (and a unix socket) with its data in a temp
// dir. Ready when it answers PING; stopped, and only it, on destruction.
class RedisServer {
 public:
  explicit RedisServer(RedisOptions options = {});
  ~RedisServer();

  std::string host() const { return "127.0.0.1"; }
  int port() const { return m_port; }
  std::string unix_socket() const { return m_dir / "redis.sock"; }
  std::string url() const;  // redis://127.0.0.1:PORT/0, without the password
  const std::string& dir() const { return m_dir.path(); }
  pid_t pid() const { return m_process.pid(); }
  bool running() { return m_process.running(); }

  void stop();       // SIGTERM (Redis flushes AOF) and wait
  void kill_hard();  // SIGKILL, as a crash
  void start();      // start again on the same port and data dir
  void restart() {
    stop();
    start();
  }

 private:
  RedisOptions m_options;
  TempDir m_dir{"redis"};
  int m_port = 0;
  Process m_process;
};

}  // namespace crawl::testing
