#include "redis_sentinel_set.hpp"

#include <csignal>
#include <stdexcept>

#include "queue/redis.hpp"

namespace crawl::testing {

namespace {

using namespace std::chrono_literals;

// One command to 127.0.0.1:port, or nullopt when it cannot be asked.
std::optional<queue::Reply> ask(int port, const std::vector<std::string>& command,
                                const std::string& password = "") {
  queue::RedisUrl url;
  url.host = "127.0.0.1";
  url.port = port;
  url.password = password;
  url.display = "127.0.0.1:" + std::to_string(port);
  auto redis = queue::Redis::connect(url, 500ms);
  if (!redis) return std::nullopt;
  auto reply = redis->command(command);
  if (!reply || !reply->ok()) return std::nullopt;
  return *reply;
}

}  // namespace

RedisSentinelSet::RedisSentinelSet(SentinelSetOptions options) : m_options(std::move(options)) {
  RedisOptions primary;
  primary.password = m_options.password;
  if (!m_options.password.empty())
    primary.extra_config = "masterauth \"" + m_options.password + "\"\n";
  m_servers.push_back(std::make_unique<RedisServer>(primary));
  const std::string primary_port = std::to_string(m_servers[0]->port());
  for (int i = 0; i < m_options.replicas; ++i) {
    RedisOptions r = primary;
    r.extra_config += "replicaof 127.0.0.1 " + primary_port + "\n";
    m_servers.push_back(std::make_unique<RedisServer>(r));
  }
  for (int i = 0; i < m_options.sentinels; ++i) {
    m_sentinels.emplace_back();
    m_ports.push_back(0);
    const bool started = start_with_retry([&] {
      m_ports[static_cast<std::size_t>(i)] = free_port();
      try {
        start_sentinel(static_cast<std::size_t>(i));
        return true;
      } catch (const std::runtime_error&) {
        return false;
      }
    });
    if (!started) throw std::runtime_error("redis-server --sentinel did not start");
  }
  const bool ready = wait_until(
      [&] { return replicas_in_sync(0) == m_options.replicas && sentinels_ready(); }, 30s);
  if (!ready)
    throw std::runtime_error("the Sentinel set did not come up: replicas in sync " +
                             std::to_string(replicas_in_sync(0)) +
                             "; sentinel log: " + read_text(m_dir / "sentinel0.log"));
}

RedisSentinelSet::~RedisSentinelSet() {
  for (auto& s : m_sentinels) s.stop(5s);
  m_servers.clear();
}

std::string RedisSentinelSet::url() const {
  std::string hosts;
  for (int port : m_ports)
    hosts += (hosts.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(port));
  return "sentinel://" + hosts + "/" + k_master_name + "/0";
}

std::vector<int> RedisSentinelSet::sentinel_ports() const {
  return m_ports;
}

void RedisSentinelSet::start_sentinel(std::size_t i) {
  const std::string conf_path = m_dir / ("sentinel" + std::to_string(i) + ".conf");
  std::string conf;
  conf += "bind 127.0.0.1\n";
  conf += "protected-mode no\n";
  conf += "daemonize no\n";
  conf += "dir " + m_dir.path() + "\n";
  conf += "logfile \"\"\n";
  conf += "sentinel monitor " + std::string(k_master_name) + " 127.0.0.1 " +
          std::to_string(m_servers[0]->port()) + " 2\n";
  conf += "sentinel down-after-milliseconds " + std::string(k_master_name) + " " +
          std::to_string(m_options.down_after.count()) + "\n";
  conf += "sentinel failover-timeout " + std::string(k_master_name) + " 10000\n";
  conf += "sentinel parallel-syncs " + std::string(k_master_name) + " 2\n";
  if (!m_options.sentinel_password.empty())
    conf += "requirepass \"" + m_options.sentinel_password + "\"\n";
  if (!m_options.password.empty())
    conf +=
        "sentinel auth-pass " + std::string(k_master_name) + " \"" + m_options.password + "\"\n";
  write_text(conf_path, conf, 0600);  // Sentinel rewrites its file as it learns
  const int port = m_ports[i];
  m_sentinels[i] =
      Process({{"redis-server", conf_path, "--sentinel", "--port", std::to_string(port)},
               m_dir / ("sentinel" + std::to_string(i) + ".log"),
               {}});
  const bool up = wait_until(
      [&] {
        if (!m_sentinels[i].running()) return true;
        auto reply = tcp_exchange("127.0.0.1", port, "PING\r\n", 5, 200ms);
        return reply && (reply->starts_with("+PONG") || reply->starts_with("-NOAUTH"));
      },
      10s);
  if (!up || !m_sentinels[i].running()) {
    m_sentinels[i].stop(1s);
    throw std::runtime_error("sentinel on port " + std::to_string(port) + " did not start");
  }
}

bool RedisSentinelSet::sentinels_ready() {
  for (std::size_t i = 0; i < m_sentinels.size(); ++i) {
    if (!m_sentinels[i].running()) continue;
    auto replicas =
        ask(m_ports[i], {"SENTINEL", "replicas", k_master_name}, m_options.sentinel_password);
    auto others =
        ask(m_ports[i], {"SENTINEL", "sentinels", k_master_name}, m_options.sentinel_password);
    if (!replicas || !others) return false;
    if (replicas->elements.size() != static_cast<std::size_t>(m_options.replicas)) return false;
    if (others->elements.size() + 1 != m_sentinels.size()) return false;
  }
  return true;
}

int RedisSentinelSet::primary() {
  for (std::size_t i = 0; i < m_servers.size(); ++i) {
    if (!m_servers[i]->running()) continue;
    auto role = ask(m_servers[i]->port(), {"ROLE"}, m_options.password);
    if (role && !role->elements.empty() && role->elements[0].str == "master")
      return static_cast<int>(i);
  }
  return -1;
}

int RedisSentinelSet::replicas_in_sync(std::size_t primary) {
  if (!m_servers[primary]->running()) return 0;
  auto info = ask(m_servers[primary]->port(), {"INFO", "replication"}, m_options.password);
  if (!info) return 0;
  return static_cast<int>(occurrences(info->str, "state=online"));
}

bool RedisSentinelSet::wait_for_failover(std::size_t old, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        const int now = primary();
        if (now < 0 || static_cast<std::size_t>(now) == old) return false;
        const std::string port = std::to_string(m_servers[static_cast<std::size_t>(now)]->port());
        for (std::size_t i = 0; i < m_sentinels.size(); ++i) {
          if (!m_sentinels[i].running()) continue;
          auto named = ask(m_ports[i], {"SENTINEL", "get-master-addr-by-name", k_master_name},
                           m_options.sentinel_password);
          if (!named || named->elements.size() != 2 || named->elements[1].str != port) return false;
        }
        return true;
      },
      timeout);
}

std::string RedisSentinelSet::sentinel_logs() const {
  std::string out;
  for (std::size_t i = 0; i < m_sentinels.size(); ++i)
    out += "--- sentinel " + std::to_string(i) + " (port " + std::to_string(m_ports[i]) + ")\n" +
           read_text(m_dir / ("sentinel" + std::to_string(i) + ".log"));
  return out;
}

void RedisSentinelSet::kill_sentinel(std::size_t i) {
  m_sentinels[i].stop(0ms, SIGKILL);
}

}  // namespace crawl::testing
