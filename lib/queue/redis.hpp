#pragma once
// A small synchronous Redis client over hiredis: commands, pipelines and scripts, with
// deadlines. The hiredis context never leaves redis.cpp.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace crawl::queue {

struct HostPort {
  std::string host;
  int port = 0;
  bool operator==(const HostPort&) const = default;
};

// Where Redis is: redis://[[user]:password@]host[:port][/db], unix:///path/to.sock[?db=N], or
// sentinel://[[user]:password@]host[:port][,host[:port]...]/master_name[/db]
//   [?sentinel_password=P]: the primary named master_name, as those Sentinels (port 26379 by
// default) say it is. The user and password are the primary's; the Sentinels' own password is
// sentinel_password (percent-encoded).
struct RedisUrl {
  std::string host;  // empty for a unix socket; with Sentinels, the primary last found
  int port = 6379;
  std::string socket;  // unix socket path
  int db = 0;
  std::string user;
  std::string password;  // from the URL; a password file or variable is applied by the caller
  std::string display;   // the URL without its passwords, for messages
  std::vector<HostPort> sentinels;  // asked in this order
  std::string master_name;
  std::string sentinel_password;
};

// Writes that cannot be redone (a submit's seeds, a page's record) are followed by WAIT: the
// primary's answer counts only once `replicas` replicas have the write, within `timeout`.
struct Durability {
  int replicas = 0;  // 0: no WAIT (a lone Redis, or asynchronous replication accepted)
  std::chrono::milliseconds timeout{1000};
};

Result<RedisUrl> parse_redis_url(std::string_view url);
// The URL back, password included (it goes only into the workers' 0600 config), so that
// parse_redis_url reads the same. Fails for a unix socket with a password, which the unix://
// form cannot carry.
Result<std::string> format_redis_url(const RedisUrl& url);

struct Reply {
  enum class Type { nil, integer, string, status, error, array } type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status and error replies
  std::vector<Reply> elements;

  bool ok() const { return type != Type::error; }
};

// The Redis Cluster hash slot of a key, 0 to 16383: CRC16 (XMODEM, as the cluster specification
// gives it) of the key's hash tag, the bytes between its first '{' and the first '}' after it
// when there are any, else of the whole key. Keys of one tag share a slot: one script may touch
// them all.
inline constexpr std::uint16_t k_cluster_slots = 16384;
std::uint16_t key_slot(std::string_view key);

// What the Sentinels said of the primary.
struct SentinelVote {
  std::optional<std::string> primary;  // "host:port" a strict majority of those configured named
  std::size_t votes = 0;               // how many named it
  std::vector<std::string> said;       // one line per Sentinel: "Sentinel A named X", or its error
  std::vector<std::string> dissent;    // of those, each that did not name the majority's address
};

class Redis {
 public:
  // Connects, authenticates and selects the database, all within `timeout`; later commands
  // fail after `timeout` too. Errors name the URL (without password).
  //
  // With Sentinels: asks every one at once (at most 1 s each) for the primary's address; only an
  // address a strict majority of those configured names is connected to and given the password,
  // and it must say (ROLE) it is the primary. No majority, or a majority naming a replica (a
  // stale answer), is an error listing what each said. What a Sentinel or a server not yet
  // trusted sends is bounded (64 KiB, 1,024 elements, an address of at most 255 bytes). A
  // connection whose server answers -READONLY (it was demoted) or -NOREPLICAS (cut off from its
  // replicas, under min-replicas-to-write) is broken like a lost one, so the caller connects
  // again and so asks the Sentinels again.
  static Result<Redis> connect(const RedisUrl& url, std::chrono::milliseconds timeout);
  // The primary a majority of the listed Sentinels name ("host:port"), without connecting to
  // it: for a connection that wants to know it still talks to the primary (a primary cut off
  // from the others, and replaced, may go on answering). Each Sentinel is given `timeout`.
  static Result<std::string> named_primary(const RedisUrl& url, std::chrono::milliseconds timeout);
  // Every Sentinel asked at once, each within `timeout`: what each said, and the address a strict
  // majority of the configured ones names, if one does.
  static SentinelVote ask_sentinels(const RedisUrl& url, std::chrono::milliseconds timeout);
  // With Sentinels: those that did not name this connection's server when it was made (down,
  // or naming another), one line each; empty when all agreed.
  const std::vector<std::string>& dissent() const;
  ~Redis();
  Redis(Redis&&) noexcept;
  Redis& operator=(Redis&&) noexcept;

  // One command. A Redis error reply is a Reply of type error; a broken connection is an Error,
  // after which this connection is unusable (connected() is false).
  Result<Reply> command(const std::vector<std::string>& args);
  // Several commands in one round trip; replies in order.
  Result<std::vector<Reply>> pipeline(const std::vector<std::vector<std::string>>& commands);
  // `count` commands in one round trip, each written by `command(i, out)` (out.arg(...) per
  // argument), and their replies handed to `reply(i, r)` as they are read: neither the commands
  // nor the replies are ever held whole (10,000 workers' heartbeats, say). For commands with flat
  // replies: an array reply is seen as its type and element count (in `integer`) alone.
  class Args {
   public:
    // One argument, the concatenation of `parts`.
    void arg(std::initializer_list<std::string_view> parts);

   private:
    friend class Redis;
    std::string m_resp;  // the commands in the protocol's form
    std::size_t m_count = 0, m_start = 0;
    std::string m_args;  // this command's arguments, each as $len\r\n...\r\n
  };
  struct ReplyView {
    Reply::Type type = Reply::Type::nil;
    long long integer = 0;
    std::string_view str;  // string, status and error replies; valid during the call
  };
  Result<void> stream(std::size_t count, const std::function<void(std::size_t, Args&)>& command,
                      const std::function<void(std::size_t, const ReplyView&)>& reply);
  // EVALSHA of `source` (a string with static storage) with ARGV `args` (no KEYS), loading the
  // script on first use.
  Result<Reply> script(std::string_view source, const std::vector<std::string>& args);
  // Many calls of one script in one round trip.
  Result<std::vector<Reply>> scripts(std::string_view source,
                                     const std::vector<std::vector<std::string>>& calls);

  // Sends many calls of one script without waiting for their replies, so the caller can prepare
  // the next batch while Redis runs this one; receive() reads the replies, in order.
  // The arguments are views: nothing is copied but into hiredis's output buffer.
  Result<void> send_scripts(std::string_view source,
                            const std::vector<std::vector<std::string_view>>& calls);
  Result<std::vector<Reply>> receive(std::size_t count);

  // WAIT for the writes sent so far on this connection, as `durability` asks; an error (kind
  // remote) when fewer replicas than asked have them by its timeout: the writes are on the
  // primary but a failover now could lose them, so the caller keeps what it sent and sends it
  // again. Nothing to do without replicas asked for.
  void set_durability(Durability durability);
  Result<void> confirm_writes();

  bool connected() const;
  const RedisUrl& url() const;
  // The server this connection reached: "host:port", or the socket path.
  std::string server() const;

 private:
  struct Impl;
  explicit Redis(std::unique_ptr<Impl> impl);
  // The SHA of a script in this server's cache, loading it on first use.
  Result<std::string> script_sha(std::string_view source);
  std::unique_ptr<Impl> m_impl;
};

// For a connection held for long (a worker, crawlctl wait, status --watch): with Sentinels, at
// most once per `every`, asks whether a majority of them still name the server it reached. A
// primary cut off from the others and replaced can go on answering; what it is told is lost when
// it rejoins as a replica. Each Sentinel is given 300 ms: they sit beside Redis, and an
// unreachable one must not hold up the caller's loop for long.
class PrimaryCheck {
 public:
  explicit PrimaryCheck(std::chrono::milliseconds every = std::chrono::seconds(10));
  // When a check is due at `now_ms` and a majority names another server than `server`: the one
  // they name. No answer from a majority is no reason to leave: nullopt.
  std::optional<std::string> moved(const RedisUrl& url, const std::string& server,
                                   std::int64_t now_ms);
  // The Sentinels that did not name the majority's server at the last check.
  const std::vector<std::string>& dissent() const { return m_dissent; }

 private:
  std::chrono::milliseconds m_every;
  std::int64_t m_next_ms = 0;
  std::vector<std::string> m_dissent;
};

}  // namespace crawl::queue
