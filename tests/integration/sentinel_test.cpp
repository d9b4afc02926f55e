// The crawl with a Redis primary, replicas and Sentinels (real redis-server and
// redis-server --sentinel processes on loopback): how a client finds the primary, what it does
// with a Sentinel that is down or stale and with a demoted primary, and a whole crawl through a
// failover.

#include <atomic>
#include <csignal>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crawl_checks.hpp"
#include "crawl_cluster.hpp"
#include "queue/queue.hpp"
#include "queue/record.hpp"
#include "queue/submit.hpp"
#include "queue/target.hpp"
#include "redis_sentinel_set.hpp"

namespace crawl::testing {
namespace {

using queue::parse_redis_url;
using queue::Redis;
using namespace std::chrono_literals;

std::string local(int port) {
  return "127.0.0.1:" + std::to_string(port);
}

// RESP: an array of bulk strings.
std::string resp_array(const std::vector<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) out += "$" + std::to_string(i.size()) + "\r\n" + i + "\r\n";
  return out;
}

// A server of our own speaking RESP on loopback: each command it reads is kept and answered
// with what `answer` returns for it (raw RESP). Stopped on destruction.
class RespFake {
 public:
  using Answer = std::function<std::string(const std::vector<std::string>&)>;
  explicit RespFake(Answer answer) : m_answer(std::move(answer)) {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(m_fd, 16) != 0)
      throw std::runtime_error("RespFake: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len);
    m_port = ntohs(a.sin_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~RespFake() {
    m_stop = true;
    ::shutdown(m_fd, SHUT_RDWR);
    ::close(m_fd);
    m_thread.join();
  }
  int port() const { return m_port; }
  std::string address() const { return local(m_port); }
  std::vector<std::vector<std::string>> commands() const {
    std::lock_guard lock(m_mutex);
    return m_commands;
  }

 private:
  // The commands complete in `buffer`, taken off its front.
  static std::vector<std::vector<std::string>> parse(std::string& buffer) {
    std::vector<std::vector<std::string>> out;
    while (true) {
      std::size_t at = 0;
      auto line = [&]() -> std::optional<std::string> {
        const auto end = buffer.find("\r\n", at);
        if (end == std::string::npos) return std::nullopt;
        std::string l = buffer.substr(at, end - at);
        at = end + 2;
        return l;
      };
      auto head = line();
      if (!head || head->empty() || (*head)[0] != '*') return out;
      std::vector<std::string> args;
      for (int n = std::stoi(head->substr(1)); n > 0; --n) {
        auto size = line();
        if (!size) return out;
        const std::size_t len = std::stoul(size->substr(1));
        if (buffer.size() < at + len + 2) return out;
        args.push_back(buffer.substr(at, len));
        at += len + 2;
      }
      buffer.erase(0, at);
      out.push_back(std::move(args));
    }
  }
  void serve() {
    while (!m_stop) {
      const int c = ::accept(m_fd, nullptr, nullptr);
      if (c < 0) return;
      std::string buffer;
      char chunk[4096];
      for (ssize_t n; (n = ::read(c, chunk, sizeof chunk)) > 0;) {
        buffer.append(chunk, static_cast<std::size_t>(n));
        for (const auto& command : parse(buffer)) {
          {
            std::lock_guard lock(m_mutex);
            m_commands.push_back(command);
          }
          const std::string reply = m_answer(command);
          if (::send(c, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
        }
      }
      ::close(c);
    }
  }

  Answer m_answer;
  int m_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<std::vector<std::string>> m_commands;
};

// A Sentinel that names `host:port` as the primary of every name it is asked about: one that
// has not heard of a failover, or one of someone else's.
std::unique_ptr<RespFake> sentinel_naming(const std::string& host, const std::string& port) {
  return std::make_unique<RespFake>([host, port](const std::vector<std::string>& c) {
    return !c.empty() && c[0] == "SENTINEL" ? resp_array({host, port}) : std::string("+OK\r\n");
  });
}

// On a failure, what the Sentinels saw (which promotion, when), however the test ended.
struct SentinelLogsOnFailure {
  RedisSentinelSet& set;
  ~SentinelLogsOnFailure() {
    if (::testing::Test::HasFailure()) ADD_FAILURE() << set.sentinel_logs();
  }
};

std::string with_sentinels(const std::vector<std::string>& hosts) {
  std::string s;
  for (const auto& h : hosts) s += (s.empty() ? "" : ",") + h;
  return "sentinel://" + s + "/" + RedisSentinelSet::k_master_name + "/0";
}

// Every Sentinel is asked; only a primary a strict majority of those listed names is connected
// to, and only if it says it is the primary. Sentinels that are down, stale (naming a replica),
// of someone else's or that send what no Sentinel sends are outvoted and named. The primary's
// password goes to no address before a majority names it. Before, the first Sentinel that
// answered was trusted: the password went to whatever address it named, and a server there that
// said "master" was used; a 64 MB host name in an answer took 534 MB.
TEST(Sentinel, OnlyAPrimaryAMajorityNamesIsGivenThePassword) {
  SentinelSetOptions o;
  o.replicas = 1;
  o.password = "primary-s3cret";
  RedisSentinelSet set(o);
  ASSERT_EQ(set.primary(), 0);
  const std::string primary = local(set.server(0).port());
  const auto ports = set.sentinel_ports();
  auto url_of = [&](const std::vector<std::string>& hosts) {
    auto url = parse_redis_url(with_sentinels(hosts));
    url->password = o.password;
    return *url;
  };

  // The Sentinels' URL as written: the primary they name.
  auto redis = Redis::connect(url_of({local(ports[0]), local(ports[1]), local(ports[2])}), 2s);
  ASSERT_TRUE(redis) << redis.error().message;
  EXPECT_EQ(redis->server(), primary);
  EXPECT_TRUE(redis->dissent().empty());
  auto written = redis->command({"SET", "k", "v"});
  ASSERT_TRUE(written && written->ok());

  // A server of someone else's, which says it is the primary to whoever asks, and keeps what
  // it is told; a Sentinel naming it; one naming the replica (a stale answer); one down.
  RespFake fake([](const std::vector<std::string>& c) -> std::string {
    if (!c.empty() && c[0] == "ROLE") return "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n";
    return !c.empty() && c[0] == "PING" ? "+PONG\r\n" : "+OK\r\n";
  });
  auto hostile = sentinel_naming("127.0.0.1", std::to_string(fake.port()));
  auto stale = sentinel_naming("127.0.0.1", std::to_string(set.server(1).port()));
  const int nobody = free_port();
  redis = Redis::connect(url_of({hostile->address(), local(ports[0]), local(ports[1])}), 2s);
  ASSERT_TRUE(redis) << redis.error().message;
  EXPECT_EQ(redis->server(), primary);
  ASSERT_EQ(redis->dissent().size(), 1u);
  EXPECT_EQ(redis->dissent()[0], "Sentinel " + hostile->address() + " named " + fake.address());
  // No majority: no connection, and no password anywhere; the error says what each said.
  auto none = Redis::connect(url_of({hostile->address(), local(ports[0])}), 2s);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, ErrorKind::connection);
  EXPECT_NE(
      none.error().message.find("Sentinel " + hostile->address() + " named " + fake.address()),
      std::string::npos)
      << none.error().message;
  none = Redis::connect(url_of({local(nobody), stale->address(), local(ports[0])}), 2s);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("cannot reach Sentinel " + local(nobody)), std::string::npos)
      << none.error().message;
  // A majority naming a replica: it is asked, and refused.
  auto stale2 = sentinel_naming("127.0.0.1", std::to_string(set.server(1).port()));
  none = Redis::connect(url_of({stale->address(), stale2->address(), local(ports[0])}), 2s);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("2 of 3 Sentinels named " + local(set.server(1).port()) +
                                      ", which is a replica"),
            std::string::npos)
      << none.error().message;

  // What no Sentinel sends: a host name of 64 MB, one that would drive a terminal, a thousand
  // thousand elements. Each bounded and refused; the majority of the real ones wins.
  RespFake huge([](const std::vector<std::string>& c) {
    return !c.empty() && c[0] == "SENTINEL" ? "*2\r\n$67108864\r\n" + std::string(1 << 20, 'a')
                                            : std::string("+OK\r\n");
  });
  auto escaping = sentinel_naming("\x1b]0;owned\x07", "6379");
  RespFake many([](const std::vector<std::string>& c) {
    return !c.empty() && c[0] == "SENTINEL" ? std::string("*1000000\r\n") : std::string("+OK\r\n");
  });
  const long long before = peak_rss_bytes();
  redis = Redis::connect(url_of({huge.address(), escaping->address(), local(ports[0]),
                                 local(ports[1]), local(ports[2])}),
                         2s);
  ASSERT_TRUE(redis) << redis.error().message;
  EXPECT_EQ(redis->server(), primary);
  const long long grown = peak_rss_bytes() - before;
  std::fprintf(stderr, "peak RSS grew by %.1f MB\n", static_cast<double>(grown) / 1e6);
  if (!CRAWL_SANITIZED) {  // ASan keeps freed memory in quarantine
    EXPECT_LT(grown, 20'000'000);
  }
  std::string said;
  for (const auto& line : redis->dissent()) said += line + "\n";
  redis = Redis::connect(url_of({many.address(), local(ports[0]), local(ports[1])}), 2s);
  ASSERT_TRUE(redis) << redis.error().message;
  for (const auto& line : redis->dissent()) said += line + "\n";
  EXPECT_NE(said.find("Sentinel " + huge.address() + ": a reply of more than 65536 bytes"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("Sentinel " + escaping->address() + ": an unreadable address"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("Sentinel " + many.address() + ": an unreadable reply"), std::string::npos)
      << said;
  EXPECT_EQ(said.find('\x1b'), std::string::npos) << said;

  // crawlctl and a worker, through the hostile Sentinel: the real primary, and a warning.
  const std::string hostile_url = "sentinel://:" + o.password + "@" + hostile->address() + "," +
                                  local(ports[0]) + "," + local(ports[1]) + "/" +
                                  RedisSentinelSet::k_master_name + "/0";
  CrawlCluster cluster(test_site_options(20), 16, {}, hostile_url);
  CommandResult r = cluster.crawlctl({"status", "--json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("a Sentinel disagrees with the majority: Sentinel " + hostile->address() +
                       " named " + fake.address()),
            std::string::npos)
      << r.err;
  cluster.start_worker("s1");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(cluster.wait_finished(job, 60s));
  const std::string log = read_text(cluster.worker_log("s1"));
  EXPECT_NE(log.find("event=sentinel_disagrees detail=\"Sentinel " + hostile->address() +
                     " named " + fake.address()),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("server=" + fake.address()), std::string::npos) << log;
  EXPECT_TRUE(fake.commands().empty()) << "the fake server was never even reached";

  // A name the Sentinels do not monitor.
  auto unknown =
      Redis::connect(*parse_redis_url("sentinel://" + local(ports[0]) + "/no-such-primary/0"), 2s);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("does not know 'no-such-primary'"), std::string::npos)
      << unknown.error().message;
}

TEST(Sentinel, TheSentinelsPasswordComesFromTheUrlOrTheEnvironment) {
  SentinelSetOptions o;
  o.replicas = 1;
  o.sentinels = 3;
  o.sentinel_password = "s3ntinel";
  RedisSentinelSet set(o);
  auto without = Redis::connect(*parse_redis_url(set.url()), std::chrono::seconds(2));
  ASSERT_FALSE(without);
  EXPECT_NE(without.error().message.find("NOAUTH"), std::string::npos) << without.error().message;
  EXPECT_EQ(without.error().message.find("s3ntinel"), std::string::npos);

  auto url = parse_redis_url(set.url() + "?sentinel_password=s3ntinel");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->display.find("s3ntinel"), std::string::npos);
  auto with = Redis::connect(*url, std::chrono::seconds(2));
  ASSERT_TRUE(with) << with.error().message;

  ::setenv("CRAWL_SENTINEL_PASSWORD", "s3ntinel", 1);
  auto target = queue::redis_target(set.url(), "", {});
  ::unsetenv("CRAWL_SENTINEL_PASSWORD");
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->sentinel_password, "s3ntinel");
  EXPECT_TRUE(Redis::connect(*target, std::chrono::seconds(2)));
}

// A primary demoted while a client holds a connection to it answers writes with -READONLY, and
// one cut off from its replicas with -NOREPLICAS: the client treats either as a lost connection
// (so it connects again, through the Sentinels).
TEST(Sentinel, ADemotedPrimarysReadonlyAnswerBreaksTheConnection) {
  RedisServer a, b;
  auto redis = Redis::connect(*parse_redis_url(a.url()), std::chrono::seconds(2));
  ASSERT_TRUE(redis);
  auto admin = Redis::connect(*parse_redis_url(a.url()), std::chrono::seconds(2));
  ASSERT_TRUE(admin);
  ASSERT_TRUE(admin->command({"REPLICAOF", "127.0.0.1", std::to_string(b.port())}));
  auto write = redis->command({"SET", "k", "v"});
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().kind, ErrorKind::connection);
  EXPECT_NE(write.error().message.find("READONLY"), std::string::npos) << write.error().message;
  EXPECT_FALSE(redis->connected());
  // A script's writes too.
  auto again = Redis::connect(*parse_redis_url(a.url()), std::chrono::seconds(2));
  ASSERT_TRUE(again);
  static constexpr std::string_view k_script = "return redis.call('SET', 'k', ARGV[1])";
  auto scripted = again->script(k_script, {"v"});
  ASSERT_FALSE(scripted);
  EXPECT_EQ(scripted.error().kind, ErrorKind::connection) << scripted.error().message;

  // A primary with fewer replicas than min-replicas-to-write refuses writes likewise (b has
  // one, a).
  auto lone = Redis::connect(*parse_redis_url(b.url()), std::chrono::seconds(2));
  ASSERT_TRUE(lone);
  ASSERT_TRUE(lone->command({"CONFIG", "SET", "min-replicas-to-write", "2"}));
  auto refused = lone->command({"SET", "k", "v"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::connection);
  EXPECT_NE(refused.error().message.find("NOREPLICAS"), std::string::npos)
      << refused.error().message;
}

// With replicas asked for (redis.wait_replicas), a submit and the pages' records count only once
// a replica has them: with every replica down they are refused, and a record sent again once a
// replica is back changes nothing that the first sending did.
TEST(Sentinel, WritesThatCannotBeRedoneWaitForAReplica) {
  RedisSentinelSet set;
  auto redis = Redis::connect(*parse_redis_url(set.url()), std::chrono::seconds(2));
  ASSERT_TRUE(redis) << redis.error().message;
  redis->set_durability({1, std::chrono::milliseconds(300)});
  queue::Queue q(std::move(*redis), queue::Keys{"crawl"});
  auto submit = [&](const std::string& text) {
    queue::Seeds seeds;
    queue::add_seed_text(seeds, text, "urls.txt");
    queue::SubmitRequest request;
    return queue::submit(q, seeds, request);
  };
  const std::string first = "http://a.example/1\nhttp://a.example/2\n";
  auto ok = submit(first);
  ASSERT_TRUE(ok.admitted) << ok.admitted.error().message;
  EXPECT_EQ(ok.admitted->admitted, 2u);

  // Every replica gone: the primary takes the writes, but they are not yet safe.
  set.server(1).kill_hard();
  set.server(2).kill_hard();
  const std::string second = "http://b.example/1\n";
  auto refused = submit(second);
  ASSERT_FALSE(refused.admitted);
  EXPECT_NE(refused.admitted.error().message.find("0 of the 1 replicas asked for confirmed"),
            std::string::npos)
      << refused.admitted.error().message;
  EXPECT_EQ(refused.acked, 1u) << "the primary acknowledged it: said as how far it got";

  auto claim = q.frontier().claim("w1", 10);
  ASSERT_TRUE(claim) << claim.error().message;
  ASSERT_FALSE(claim->entries.empty());
  queue::PageOutcome o;
  o.entry = claim->entries[0];
  o.kind = queue::PageOutcome::Kind::done;
  queue::Record record;
  record.url = o.entry.url;
  record.status = 200;
  o.record_json = queue::to_json(record);
  o.site = queue::PageOutcome::Site::answered;
  auto recorded = q.frontier().complete("w1", {o});
  ASSERT_FALSE(recorded) << "no replica has it";
  EXPECT_NE(recorded.error().message.find("not yet safe from a failover"), std::string::npos)
      << recorded.error().message;

  // A replica back: the same outcome sent again is confirmed, and finds its lease gone.
  set.server(1).start();
  ASSERT_TRUE(wait_until([&] { return set.replicas_in_sync(0) == 1; }, std::chrono::seconds(30)));
  auto again = q.frontier().complete("w1", {o});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->applied, 0u) << "the first sending stands: nothing changes";
  auto job = q.jobs().job(ok.job);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->stat(queue::Counter::done), 1);
}

// The primary is killed (kill -9) during a 100,000-seed submit: the submit either completes
// (the failover came after its last batch) or says how far it got; a re-run into the job, once
// the Sentinels name the new primary, leaves exactly the 100,000 seeds.
TEST(Sentinel, ASubmitCutByAFailoverSaysHowFarItGotAndARerunFinishesIt) {
  RedisSentinelSet set;
  SentinelLogsOnFailure logs{set};
  TempDir dir("submit");
  constexpr int k_seeds = 100'000;
  std::string seeds;
  for (int i = 0; i < k_seeds; ++i)
    seeds += "http://h" + std::to_string(i % 1000) + ".example/p" + std::to_string(i) + "\n";
  write_text(dir / "seeds.txt", seeds);
  const std::string log = dir / "submit.log";
  Process submit(
      SpawnOptions{{CRAWLCTL, "submit", "-f", dir / "seeds.txt", "--redis", set.url()}, log, {}});
  const std::string primary_port = std::to_string(set.server(0).port());
  ASSERT_TRUE(wait_until(
      [&] {
        CommandResult r =
            run_program("redis-cli", {"-p", primary_port, "EXISTS", "crawl:job:1:stats"}, dir);
        return r.out == "1\n" || !submit.running();
      },
      30s))
      << read_text(log);
  set.server(0).kill_hard();
  submit.stop(60s, 0);  // signal 0: only wait for it to exit
  ASSERT_TRUE(submit.exit_status());
  const int rc = WIFEXITED(*submit.exit_status()) ? WEXITSTATUS(*submit.exit_status()) : -1;
  const std::string said = read_text(log);
  RecordProperty("submit_cut_short", rc == 0 ? "no" : "yes");
  if (rc == 0) {
    EXPECT_EQ(said.find("incomplete"), std::string::npos) << said;
  } else {
    EXPECT_EQ(rc, 1) << said;
    EXPECT_NE(said.find("job 1 is incomplete: Redis acknowledged "), std::string::npos) << said;
    EXPECT_NE(said.find("of the 100000 seeds"), std::string::npos) << said;
  }
  ASSERT_TRUE(set.wait_for_failover(0, std::chrono::seconds(30)));
  // The re-run (refused while the cut-short load's submitter key stands, up to 10 s).
  CommandResult r;
  ASSERT_TRUE(wait_until(
      [&] {
        r = run_program(
            CRAWLCTL, {"submit", "--job", "1", "-f", dir / "seeds.txt", "--redis", set.url()}, dir);
        return r.rc == 0;
      },
      std::chrono::seconds(40)))
      << r.err;
  r = run_program(CRAWLCTL, {"status", "1", "--json", "--redis", set.url()}, dir);
  const auto status = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(status.is_object()) << r.out << r.err;
  EXPECT_EQ(status["counters"]["submitted"], k_seeds) << status.dump(1);
  EXPECT_EQ(status["counters"]["queued"], k_seeds) << status.dump(1);
  EXPECT_EQ(status["state"], "queued") << status.dump(1);
}

// A split: the Sentinels come to name another primary while the old one goes on answering
// (cut off from them, it was never demoted). A worker asks the Sentinels every 10 s whom they
// name, and moves.
TEST(Sentinel, AWorkerLeavesAPrimaryTheSentinelsNoLongerName) {
  SentinelSetOptions o;
  o.replicas = 1;
  RedisSentinelSet set(o);
  CrawlCluster cluster(test_site_options(50), 4, {}, set.url());
  cluster.start_worker("w1");
  const std::string first = local(set.server(0).port());
  const std::string second = local(set.server(1).port());
  ASSERT_TRUE(wait_until(
      [&] {
        return read_text(cluster.worker_log("w1")).find("server=" + first) != std::string::npos;
      },
      std::chrono::seconds(20)));
  // A `status --watch` holds its connection too, and moves the same way.
  const std::string watch_out = cluster.worker_log("watch") + ".json";
  Process watch(
      {{"/bin/sh", "-c",
        "exec " + std::string(CRAWLCTL) + " status --watch --json --interval 200ms --redis '" +
            set.url() + "' >" + watch_out},
       cluster.worker_log("watch"),
       {}});
  ASSERT_TRUE(wait_until(
      [&] { return read_text(watch_out).find("\"server\":\"" + first) != std::string::npos; },
      std::chrono::seconds(20)))
      << read_text(cluster.worker_log("watch"));
  // The replica made a primary behind the Sentinels' back, and the Sentinels told to watch it.
  auto replica = Redis::connect(*parse_redis_url(set.server(1).url()), std::chrono::seconds(2));
  ASSERT_TRUE(replica);
  ASSERT_TRUE(replica->command({"REPLICAOF", "NO", "ONE"}));
  for (int port : set.sentinel_ports()) {
    queue::RedisUrl u;
    u.host = "127.0.0.1";
    u.port = port;
    u.display = local(port);
    auto sentinel = Redis::connect(u, std::chrono::seconds(2));
    ASSERT_TRUE(sentinel);
    ASSERT_TRUE(sentinel->command({"SENTINEL", "REMOVE", RedisSentinelSet::k_master_name}));
    auto added = sentinel->command({"SENTINEL", "MONITOR", RedisSentinelSet::k_master_name,
                                    "127.0.0.1", std::to_string(set.server(1).port()), "2"});
    ASSERT_TRUE(added && added->ok()) << (added ? added->str : added.error().message);
  }
  ASSERT_EQ(set.primary(), 0) << "the old primary still says it is one";
  ASSERT_TRUE(wait_until(
      [&] {
        return read_text(cluster.worker_log("w1"))
                       .find("event=redis_connected url=" + std::string("sentinel://")) !=
                   std::string::npos &&
               read_text(cluster.worker_log("w1")).find("server=" + second) != std::string::npos;
      },
      std::chrono::seconds(30)))
      << read_text(cluster.worker_log("w1"));
  const std::string log = read_text(cluster.worker_log("w1"));
  EXPECT_NE(log.find("event=redis_primary_moved server=" + first + " named=" + second),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("event=redis_failover from=" + first + " to=" + second), std::string::npos)
      << log;
  ASSERT_TRUE(wait_until(
      [&] { return read_text(watch_out).find("\"server\":\"" + second) != std::string::npos; },
      std::chrono::seconds(30)))
      << read_text(cluster.worker_log("watch"));
  watch.stop();
  EXPECT_NE(read_text(cluster.worker_log("watch"))
                .find("the Sentinels now name " + second + " as the primary"),
            std::string::npos)
      << read_text(cluster.worker_log("watch"));
}

// The primary is killed (kill -9) mid-crawl: Sentinel promotes a replica, the workers and a
// running `crawlctl wait` follow it without a restart, and the results are the manifest's.
// Then the old primary comes back, as a replica, and nothing is written to it.
TEST(Sentinel, ACrawlFollowsAFailoverAndLosesNothing) {
  RedisSentinelSet set;
  SentinelLogsOnFailure logs{set};
  CrawlCluster cluster(test_site_options(2000), 16, {}, set.url());
  for (const char* w : {"w1", "w2", "w3", "w4"}) cluster.start_worker(w);
  const std::string job = cluster.submit_root();
  Process wait({{CRAWLCTL, "wait", job, "--quiet", "--interval", "100ms", "--timeout", "180s",
                 "--redis", set.url()},
                cluster.worker_log("wait"),
                {}});
  // And a `status --watch`, one JSON line per refresh: it goes on through the failover.
  const std::string watch_out = cluster.worker_log("watch") + ".json";
  Process watch({{"/bin/sh", "-c",
                  "exec " + std::string(CRAWLCTL) + " status " + job +
                      " --watch --json --interval 200ms --redis '" + set.url() + "' >" + watch_out},
                 cluster.worker_log("watch"),
                 {}});
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 300; }, 60s));
  set.server(0).kill_hard();
  ASSERT_TRUE(set.wait_for_failover(0, std::chrono::seconds(30)));
  const int promoted = set.primary();
  ASSERT_GT(promoted, 0);
  // The old primary returns; the Sentinels make it a replica of the new one.
  set.server(0).start();
  ASSERT_TRUE(
      wait_until([&] { return set.replicas_in_sync(static_cast<std::size_t>(promoted)) == 2; },
                 std::chrono::seconds(60)));
  ASSERT_TRUE(wait_until([&] { return !wait.running(); }, std::chrono::seconds(180)))
      << read_text(cluster.worker_log("wait"));
  wait.stop();  // reaps it: it has exited
  ASSERT_TRUE(wait.exit_status());
  EXPECT_TRUE(WIFEXITED(*wait.exit_status()) && WEXITSTATUS(*wait.exit_status()) == 0)
      << read_text(cluster.worker_log("wait"));
  expect_results_match_manifest(cluster, job);
  expect_counters_match(cluster.counters(job), cluster.site().manifest());
  EXPECT_EQ(set.primary(), promoted);
  // The watch ended with the job, its last refresh read from the new primary.
  ASSERT_TRUE(wait_until([&] { return !watch.running(); }, 30s))
      << read_text(cluster.worker_log("watch"));
  watch.stop();
  std::vector<nlohmann::json> refreshes;
  std::istringstream lines(read_text(watch_out));
  for (std::string line; std::getline(lines, line);)
    refreshes.push_back(nlohmann::json::parse(line));
  ASSERT_GE(refreshes.size(), 2u) << read_text(cluster.worker_log("watch"));
  EXPECT_EQ(refreshes.front()["redis"]["server"], local(set.server(0).port()));
  EXPECT_EQ(refreshes.back()["redis"]["server"],
            local(set.server(static_cast<std::size_t>(promoted)).port()));
  EXPECT_EQ(refreshes.back()["finished"], true) << refreshes.back().dump();
  // status names the primary it reads and its replicas.
  const std::string new_primary = local(set.server(static_cast<std::size_t>(promoted)).port());
  CommandResult status = cluster.crawlctl({"status", job});
  EXPECT_NE(status.out.find("redis: primary " + new_primary +
                            " (named by the Sentinels), 2 of 2 replicas in sync"),
            std::string::npos)
      << status.out;
  for (const char* w : {"w1", "w2", "w3", "w4"}) {
    const std::string log = read_text(cluster.worker_log(w));
    EXPECT_NE(log.find("event=redis_failover from=" + local(set.server(0).port()) +
                       " to=" + local(set.server(static_cast<std::size_t>(promoted)).port())),
              std::string::npos)
        << w << ":\n"
        << log;
  }
}

}  // namespace
}  // namespace crawl::testing
