#include "redis_server.hpp"

#include <csignal>
#include <stdexcept>

namespace crawl::testing {

RedisServer::RedisServer(RedisOptions options) : m_options(std::move(options)) {
  std::string conf;
  conf += "bind 127.0.0.1\n";
  conf += "protected-mode no\n";
  conf += "daemonize no\n";
  conf += "dir " + m_dir.path() + "\n";
  conf += "unixsocket " + unix_socket() + "\n";
  conf += "unixsocketperm 700\n";
  conf += "save \"\"\n";
  conf += "logfile \"\"\n";
  conf += std::string("appendonly ") + (m_options.append_only ? "yes" : "no") + "\n";
  conf += "appendfsync everysec\n";
  // No background AOF rewrite: a test may copy the AOF directory as a snapshot mid-run.
  conf += "auto-aof-rewrite-percentage 0\n";
  if (!m_options.password.empty()) conf += "requirepass \"" + m_options.password + "\"\n";
  conf += m_options.extra_config;
  write_text(m_dir / "redis.conf", conf, 0600);
  std::string last_error;
  const bool started = start_with_retry([&] {
    m_port = free_port();
    try {
      start();
      return true;
    } catch (const std::runtime_error& e) {
      last_error = e.what();
      return false;
    }
  });
  if (!started) throw std::runtime_error(last_error);
}

RedisServer::~RedisServer() {
  m_process.stop(5s);
}

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(m_port) + "/0";
}

void RedisServer::start() {
  m_process = Process({{"redis-server", m_dir / "redis.conf", "--port", std::to_string(m_port)},
                       m_dir / "redis.log",
                       {}});
  // Ready means answering commands, not only accepting: PONG, or NOAUTH with a password set.
  const bool ready = wait_until(
      [&] {
        if (!m_process.running()) return true;
        auto reply = tcp_exchange(host(), m_port, "PING\r\n", 5, 200ms);
        return reply && (reply->starts_with("+PONG") || reply->starts_with("-NOAUTH"));
      },
      10s);
  if (!ready || !m_process.running()) {
    m_process.stop(1s);
    throw std::runtime_error("redis-server on port " + std::to_string(m_port) +
                             " did not start; log: " + read_text(m_dir / "redis.log"));
  }
}

void RedisServer::stop() {
  m_process.stop(10s, SIGTERM);
}

void RedisServer::kill_hard() {
  m_process.stop(0ms, SIGKILL);
}

}  // namespace crawl::testing
