#include "queue/redis.hpp"

#include <cctype>
#include <charconv>
#include <future>
#include <iterator>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include "core/redact.hpp"
#include "core/text.hpp"

namespace crawl::queue {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string percent_encode(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

// A hiredis reply's type as ours (nil for one we do not take).
Reply::Type type_of(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      return Reply::Type::integer;
    case REDIS_REPLY_STRING:
      return Reply::Type::string;
    case REDIS_REPLY_STATUS:
      return Reply::Type::status;
    case REDIS_REPLY_ERROR:
      return Reply::Type::error;
    case REDIS_REPLY_ARRAY:
      return Reply::Type::array;
    default:
      return Reply::Type::nil;
  }
}

Reply convert(const redisReply* r) {
  Reply out;
  out.type = type_of(r);
  switch (out.type) {
    case Reply::Type::integer:
      out.integer = r->integer;
      break;
    case Reply::Type::string:
    case Reply::Type::status:
    case Reply::Type::error:
      out.str.assign(r->str, r->len);
      break;
    case Reply::Type::array:
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    case Reply::Type::nil:
      break;
  }
  return out;
}

// [user][:password]@ off the front of `rest` into `u`. Userinfo ends at the last '@': an
// unencoded password may hold '/', '?' or '@'.
void take_userinfo(std::string_view& rest, RedisUrl& u) {
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos) return;
  const std::string_view userinfo = rest.substr(0, at);
  const auto colon = userinfo.find(':');
  u.user = percent_decode(userinfo.substr(0, colon));
  if (colon != std::string_view::npos) u.password = percent_decode(userinfo.substr(colon + 1));
  rest = rest.substr(at + 1);
}

// "host", "host:port" or "[v6]:port" into `out` (the port left as it is when not written).
bool parse_host_port(std::string_view text, HostPort& out) {
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port = text.substr(close + 2);
    }
  } else {
    const auto colon = text.rfind(':');
    out.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) return false;  // IPv6 is written [addr]:port
  }
  if (out.host.empty()) return false;
  if (port.empty()) return true;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  return ec == std::errc() && end == port.data() + port.size() && out.port >= 1 &&
         out.port <= 65535;
}

std::string host_port_text(const HostPort& hp) {
  return (hp.host.find(':') != std::string::npos ? "[" + hp.host + "]" : hp.host) + ":" +
         std::to_string(hp.port);
}

// After "sentinel://": [userinfo@]host[:port],.../master_name[/db][?sentinel_password=P].
Result<RedisUrl> parse_sentinel_url(std::string_view rest, const std::string& safe) {
  RedisUrl u;
  // The Sentinels' password is the one parameter (percent-encoded); the primary's password,
  // before the last '@', may hold an unencoded '?' as in redis:// URLs.
  if (const auto q = rest.rfind("?sentinel_password="); q != std::string_view::npos) {
    u.sentinel_password = percent_decode(rest.substr(q + 19));
    rest = rest.substr(0, q);
  }
  take_userinfo(rest, u);
  if (rest.find('?') != std::string_view::npos)
    return fail("{}: the one parameter known is sentinel_password=", safe);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size())
    return fail("{}: no master name (sentinel://host:port,host:port/master_name)", safe);
  std::string_view hosts = rest.substr(0, slash);
  std::string_view path = rest.substr(slash + 1);
  const auto db_slash = path.find('/');
  u.master_name = percent_decode(path.substr(0, db_slash));
  if (u.master_name.empty()) return fail("{}: no master name", safe);
  if (db_slash != std::string_view::npos) {
    const std::string_view db = path.substr(db_slash + 1);
    auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), u.db);
    if (db.empty() || ec != std::errc() || end != db.data() + db.size() || u.db < 0)
      return fail("{}: bad database number '{}'", safe, db);
  }
  for (bool more = !hosts.empty(); more;) {
    const auto comma = hosts.find(',');
    HostPort hp{"", 26379};
    if (!parse_host_port(hosts.substr(0, comma), hp))
      return fail("{}: bad Sentinel address '{}'", safe, hosts.substr(0, comma));
    for (const auto& seen : u.sentinels)
      if (host_port_text(seen) == host_port_text(hp))
        return fail("{}: Sentinel {} is listed twice (each counts once in a majority)", safe,
                    host_port_text(hp));
    u.sentinels.push_back(std::move(hp));
    more = comma != std::string_view::npos;  // "h1,/name": an empty address, refused above
    if (more) hosts = hosts.substr(comma + 1);
  }
  if (u.sentinels.empty()) return fail("{}: no Sentinel address", safe);
  std::vector<std::string> shown;
  for (const auto& hp : u.sentinels) shown.push_back(host_port_text(hp));
  u.display = fmt::format("sentinel://{}{}/{}/{}",
                          u.user.empty() && u.password.empty()
                              ? std::string()
                              : u.user + (u.password.empty() ? "" : ":***") + "@",
                          fmt::join(shown, ","), u.master_name, u.db);
  return u;
}

// Queues one command on `c` (sent by the next read of a reply).
void append_command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data());
}

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};

}  // namespace

Result<RedisUrl> parse_redis_url(std::string_view text) {
  const std::string safe = redact_password(text);  // messages never carry the password
  RedisUrl u;
  if (text.starts_with("unix://")) {
    std::string_view rest = text.substr(7);
    if (const auto q = rest.find("?db="); q != std::string_view::npos) {
      const std::string_view db = rest.substr(q + 4);
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), u.db);
      if (ec != std::errc() || end != db.data() + db.size())
        return fail("{}: bad database number", safe);
      rest = rest.substr(0, q);
    }
    if (rest.empty() || rest[0] != '/')
      return fail("{}: a unix socket needs an absolute path", safe);
    u.socket = std::string(rest);
    u.display = safe;
    return u;
  }
  if (text.starts_with("rediss://"))
    return fail("{}: TLS (rediss://) is not supported by this build; use a tunnel", safe);
  if (text.starts_with("sentinel://")) return parse_sentinel_url(text.substr(11), safe);
  if (!text.starts_with("redis://"))
    return fail(
        "'{}' is not a Redis URL (redis://host:port/db, unix:///path or "
        "sentinel://host:port,host:port/master_name)",
        safe);
  std::string_view rest = text.substr(8);
  take_userinfo(rest, u);
  std::string_view db;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::string_view port;
  if (!rest.empty() && rest[0] == '[') {  // [::1]:6379
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("{}: unclosed '['", safe);
    u.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    u.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (u.host.empty()) return fail("{}: no host", safe);
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), u.port);
    if (ec != std::errc() || end != port.data() + port.size() || u.port < 1 || u.port > 65535)
      return fail("{}: bad port '{}'", safe, port);
  }
  if (!db.empty()) {
    auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), u.db);
    if (ec != std::errc() || end != db.data() + db.size() || u.db < 0)
      return fail("{}: bad database number '{}'", safe, db);
  }
  u.display =
      "redis://" +
      (u.user.empty() && u.password.empty() ? std::string()
                                            : u.user + (u.password.empty() ? "" : ":***") + "@") +
      std::string(rest) + "/" + std::to_string(u.db);
  return u;
}

Result<std::string> format_redis_url(const RedisUrl& url) {
  std::string auth;
  if (!url.password.empty() || !url.user.empty())
    auth = percent_encode(url.user) +
           (url.password.empty() ? "" : ":" + percent_encode(url.password)) + "@";
  if (!url.sentinels.empty()) {
    std::vector<std::string> hosts;
    for (const auto& hp : url.sentinels) hosts.push_back(host_port_text(hp));
    return fmt::format("sentinel://{}{}/{}/{}{}", auth, fmt::join(hosts, ","),
                       percent_encode(url.master_name), url.db,
                       url.sentinel_password.empty()
                           ? std::string()
                           : "?sentinel_password=" + percent_encode(url.sentinel_password));
  }
  if (!url.socket.empty()) {
    if (!auth.empty())
      return fail(ErrorKind::invalid,
                  "a Redis reached by unix socket with a password cannot be written as a URL; use "
                  "redis://");
    return fmt::format("unix://{}?db={}", url.socket, url.db);
  }
  const std::string host =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return fmt::format("redis://{}{}:{}/{}", auth, host, url.port, url.db);
}

struct Redis::Impl {
  RedisUrl url;
  std::unique_ptr<redisContext, ContextFree> context;
  std::unordered_map<const char*, std::string> sha;  // script source -> SHA in this server's cache
  bool broken = false;
  Durability durability;
  std::vector<std::string> dissent;  // the Sentinels that did not name this server

  Error failure(std::string_view what) {
    broken = true;
    const char* reason = context && context->err ? context->errstr : "connection lost";
    return Error{fmt::format("Redis at {}: {}: {}", url.display, what, reason),
                 ErrorKind::connection};
  }

  Result<std::vector<Reply>> run(const std::vector<std::vector<std::string>>& commands) {
    if (broken) return fail(ErrorKind::connection, "Redis at {}: connection lost", url.display);
    for (const auto& c : commands) append_command(context.get(), c);
    return read(commands.size());
  }

  Result<void> flush() {
    int done = 0;
    while (!done)
      if (redisBufferWrite(context.get(), &done) != REDIS_OK)
        return tl::unexpected(failure("send"));
    return {};
  }

  Result<Reply> read_one() {
    void* raw = nullptr;
    if (redisGetReply(context.get(), &raw) != REDIS_OK || raw == nullptr)
      return tl::unexpected(failure("no reply"));
    auto* r = static_cast<redisReply*>(raw);
    Reply out = convert(r);
    freeReplyObject(r);
    return out;
  }

  // A primary demoted by a failover refuses writes (READONLY), and so does one cut off from
  // its replicas under min-replicas-to-write (NOREPLICAS): nothing was written, and the
  // Sentinels name the primary to a new connection.
  Result<void> check_primary(const Reply& r) {
    if (r.type == Reply::Type::error &&
        (r.str.starts_with("READONLY") || r.str.starts_with("NOREPLICAS"))) {
      broken = true;
      return fail(ErrorKind::connection, "Redis at {} refuses writes ({}): the primary moved",
                  url.display, r.str.substr(0, r.str.find(' ')));
    }
    return {};
  }

  Result<std::vector<Reply>> read(std::size_t count) {
    std::vector<Reply> replies;
    replies.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto r = read_one();
      if (!r) return fail(r.error());
      replies.push_back(std::move(*r));
    }
    for (const Reply& r : replies)
      if (auto ok = check_primary(r); !ok) return fail(ok.error());
    return replies;
  }
};

Redis::Redis(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Redis::~Redis() = default;
Redis::Redis(Redis&&) noexcept = default;
Redis& Redis::operator=(Redis&&) noexcept = default;

namespace {

// A server not trusted yet (a Sentinel; a server before it said it is the primary) may answer
// anything: a reply is bounded in the bytes read for it and the objects made of it, nested
// arrays included (hiredis 0.14's reader would buffer a bulk string of any length it announces,
// and make room for any number of elements).
constexpr std::size_t k_max_untrusted_reply = 64u << 10;
constexpr std::size_t k_max_untrusted_objects = 1024;

// Objects made for the reply being read on this thread: each past the bound is refused, which
// the reader reports as out of memory.
thread_local std::size_t t_objects = 0;

redisReplyObjectFunctions* bounded_functions(const redisReplyObjectFunctions* defaults) {
  static const redisReplyObjectFunctions* base = defaults;
  static redisReplyObjectFunctions fns = [] {
    redisReplyObjectFunctions f = *base;
    f.createArray = [](const redisReadTask* task, int elements) -> void* {
      if (++t_objects > k_max_untrusted_objects ||
          static_cast<std::size_t>(elements) > k_max_untrusted_objects)
        return nullptr;
      return base->createArray(task, elements);
    };
    f.createString = [](const redisReadTask* task, char* text, std::size_t len) -> void* {
      return ++t_objects > k_max_untrusted_objects ? nullptr : base->createString(task, text, len);
    };
    f.createInteger = [](const redisReadTask* task, long long value) -> void* {
      return ++t_objects > k_max_untrusted_objects ? nullptr : base->createInteger(task, value);
    };
    f.createNil = [](const redisReadTask* task) -> void* {
      return ++t_objects > k_max_untrusted_objects ? nullptr : base->createNil(task);
    };
    return f;
  }();
  return &fns;
}

// Text a server sent, for a message: a line of at most 200 bytes, nothing a terminal obeys.
std::string shown(std::string_view text) {
  return escape_control(std::string(utf8_prefix(text, 200)));
}

// The next reply on `c`, within k_max_untrusted_reply bytes and by `deadline`.
Result<Reply> read_bounded(redisContext* c, std::chrono::steady_clock::time_point deadline,
                           const std::string& name) {
  // Bounded for this reply only: the connection, once trusted, reads replies of any size.
  struct Restore {
    redisReader* reader;
    redisReplyObjectFunctions* fn;
    ~Restore() { reader->fn = fn; }
  } restore{c->reader, c->reader->fn};
  c->reader->fn = bounded_functions(c->reader->fn);
  t_objects = 0;
  std::size_t received = c->reader->len - c->reader->pos;  // already buffered
  for (int done = 0; !done;)
    if (redisBufferWrite(c, &done) != REDIS_OK)
      return fail(ErrorKind::connection, "{}: cannot send: {}", name, c->errstr);
  while (true) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(c, &raw) != REDIS_OK)
      return fail(ErrorKind::connection, "{}: an unreadable reply ({})", name,
                  c->err == REDIS_ERR_OOM ? "more than 1024 values" : c->errstr);
    if (raw != nullptr) {
      Reply r = convert(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      return r;
    }
    if (received > k_max_untrusted_reply)
      return fail(ErrorKind::remote, "{}: a reply of more than {} bytes: refused", name,
                  k_max_untrusted_reply);
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(ErrorKind::connection, "{}: no whole reply in time", name);
    // What a read adds to the reader's buffer (it discards what it parsed only between reads).
    const std::size_t before = c->reader->len;
    if (redisBufferRead(c) != REDIS_OK)
      return fail(ErrorKind::connection, "{}: no reply: {}", name,
                  c->err ? c->errstr : "connection lost");
    received += c->reader->len >= before ? c->reader->len - before : c->reader->len;
  }
}

timeval to_timeval(std::chrono::milliseconds t) {
  return timeval{static_cast<time_t>(t.count() / 1000),
                 static_cast<suseconds_t>((t.count() % 1000) * 1000)};
}

// A connection to one server (url.host:url.port or url.socket), authenticated with `user` and
// `password`, with `db` selected (-1: none).
Result<std::unique_ptr<redisContext, ContextFree>> open_server(const RedisUrl& url,
                                                               const std::string& user,
                                                               const std::string& password, int db,
                                                               std::chrono::milliseconds timeout,
                                                               const std::string& name) {
  const timeval tv = to_timeval(timeout);
  redisContext* c = url.socket.empty() ? redisConnectWithTimeout(url.host.c_str(), url.port, tv)
                                       : redisConnectUnixWithTimeout(url.socket.c_str(), tv);
  std::unique_ptr<redisContext, ContextFree> context(c);
  if (c == nullptr) return fail(ErrorKind::connection, "{}: cannot allocate a connection", name);
  if (c->err) return fail(ErrorKind::connection, "cannot reach {}: {}", name, c->errstr);
  redisSetTimeout(c, tv);
  std::vector<std::vector<std::string>> setup;
  if (!password.empty()) {
    if (user.empty())
      setup.push_back({"AUTH", password});
    else
      setup.push_back({"AUTH", user, password});
  }
  if (db > 0) setup.push_back({"SELECT", std::to_string(db)});
  setup.push_back({"PING"});
  for (const auto& command : setup) append_command(c, command);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::size_t i = 0; i < setup.size(); ++i) {
    auto r = read_bounded(c, deadline, name);
    if (!r) return fail(r.error());
    if (!r->ok()) return fail(ErrorKind::remote, "{}: {}", name, shown(r->str));
  }
  return context;
}

// One command on a bare context (the Sentinel's question, ROLE), its reply bounded.
Result<Reply> ask(redisContext* c, const std::vector<std::string>& args, const std::string& name,
                  std::chrono::milliseconds timeout) {
  append_command(c, args);
  return read_bounded(c, std::chrono::steady_clock::now() + timeout, name);
}

// The address one Sentinel gives for url.master_name.
Result<HostPort> ask_sentinel(const HostPort& sentinel, const RedisUrl& url,
                              std::chrono::milliseconds timeout) {
  const std::string where = "Sentinel " + host_port_text(sentinel);
  RedisUrl at;
  at.host = sentinel.host;
  at.port = sentinel.port;
  auto s = open_server(at, "", url.sentinel_password, -1, timeout, where);
  if (!s) return fail(s.error());
  auto answer =
      ask(s->get(), {"SENTINEL", "get-master-addr-by-name", url.master_name}, where, timeout);
  if (!answer) return fail(answer.error());
  if (!answer->ok()) return fail(ErrorKind::remote, "{}: {}", where, shown(answer->str));
  if (answer->type != Reply::Type::array || answer->elements.size() != 2)
    return fail(ErrorKind::not_found, "{}: does not know '{}'", where, url.master_name);
  // A host name or an IP address, and a port: anything else is not an address.
  HostPort named;
  const std::string& ip = answer->elements[0].str;
  const std::string& port = answer->elements[1].str;
  const bool host_ok = !ip.empty() && ip.size() <= 255 &&
                       ip.find_first_not_of(
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789.-_:%") == std::string::npos;
  const std::string text = (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + port;
  if (!host_ok || port.size() > 5 || !parse_host_port(text, named) || named.port == 0)
    return fail(ErrorKind::remote, "{}: an unreadable address", where);
  return named;
}

// Every Sentinel of `url` asked at once, each within `timeout`.
std::vector<Result<HostPort>> ask_every_sentinel(const RedisUrl& url,
                                                 std::chrono::milliseconds timeout) {
  std::vector<std::future<Result<HostPort>>> asked;
  for (const HostPort& sentinel : url.sentinels)
    asked.push_back(std::async(std::launch::async, [&url, sentinel, timeout] {
      return ask_sentinel(sentinel, url, timeout);
    }));
  std::vector<Result<HostPort>> answers;
  for (auto& a : asked) answers.push_back(a.get());
  return answers;
}

}  // namespace

// The votes of the Sentinels (answers[i] is sentinels[i]'s).
static SentinelVote tally(const std::vector<HostPort>& sentinels,
                          const std::vector<Result<HostPort>>& answers) {
  SentinelVote vote;
  std::map<std::string, std::size_t> votes;
  for (const auto& a : answers)
    if (a) ++votes[host_port_text(*a)];
  for (const auto& [address, n] : votes)
    if (n * 2 > sentinels.size()) {
      vote.primary = address;
      vote.votes = n;
    }
  for (std::size_t i = 0; i < answers.size() && i < sentinels.size(); ++i) {
    const std::string who = "Sentinel " + host_port_text(sentinels[i]);
    std::string line =
        answers[i] ? who + " named " + host_port_text(*answers[i]) : answers[i].error().message;
    if (!vote.primary || !answers[i] || host_port_text(*answers[i]) != *vote.primary)
      vote.dissent.push_back(line);
    vote.said.push_back(std::move(line));
  }
  return vote;
}

SentinelVote Redis::ask_sentinels(const RedisUrl& url, std::chrono::milliseconds timeout) {
  return tally(url.sentinels, ask_every_sentinel(url, timeout));
}

Result<std::string> Redis::named_primary(const RedisUrl& url, std::chrono::milliseconds timeout) {
  // A majority of the Sentinels listed must agree: one stale, cut-off or hostile Sentinel alone
  // cannot move a connection.
  SentinelVote vote = ask_sentinels(url, timeout);
  if (vote.primary) return *vote.primary;
  return fail(ErrorKind::connection, "no majority of the Sentinels of {} names one primary: {}",
              url.display, fmt::join(vote.said, "; "));
}

PrimaryCheck::PrimaryCheck(std::chrono::milliseconds every) : m_every(every) {}

std::optional<std::string> PrimaryCheck::moved(const RedisUrl& url, const std::string& server,
                                               std::int64_t now_ms) {
  if (url.sentinels.empty() || now_ms < m_next_ms) return std::nullopt;
  m_next_ms = now_ms + m_every.count();
  SentinelVote vote = Redis::ask_sentinels(url, std::chrono::milliseconds(300));
  m_dissent = std::move(vote.dissent);
  if (!vote.primary || *vote.primary == server) return std::nullopt;
  return *vote.primary;
}

Result<Redis> Redis::connect(const RedisUrl& url, std::chrono::milliseconds timeout) {
  if (url.sentinels.empty()) {
    auto context = open_server(url, url.user, url.password, url.db, timeout,
                               fmt::format("Redis at {}", url.display));
    if (!context) return fail(context.error());
    auto impl = std::make_unique<Impl>();
    impl->url = url;
    impl->context = std::move(*context);
    return Redis(std::move(impl));
  }
  // Every Sentinel at once; only an address a strict majority of them names is given the
  // password (a Sentinel of someone else's, or one that was wrong, alone cannot have it sent
  // anywhere); then it must say it is the primary.
  const auto ask_timeout = std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(1));
  SentinelVote vote = ask_sentinels(url, ask_timeout);
  if (!vote.primary)
    return fail(ErrorKind::connection,
                "no majority of the Sentinels of {} names a primary for '{}': {}", url.display,
                url.master_name, fmt::join(vote.said, "; "));
  HostPort named;
  parse_host_port(*vote.primary, named);
  RedisUrl primary = url;
  primary.host = named.host;
  primary.port = named.port;
  primary.socket.clear();
  const std::string majority =
      fmt::format("{} of {} Sentinels named {}", vote.votes, url.sentinels.size(), *vote.primary);
  const std::string where = fmt::format("Redis at {} ({})", url.display, *vote.primary);
  auto c = open_server(primary, url.user, url.password, url.db, timeout, where);
  if (!c) return fail(c.error().kind, "{}: {}", majority, c.error().message);
  // A Sentinel that has not yet seen a failover names the old primary, which may be back as a
  // replica: only a server that says it is the primary will do.
  auto role = ask(c->get(), {"ROLE"}, where, timeout);
  const std::string is = !role                    ? role.error().message
                         : !role->ok()            ? shown(role->str)
                         : role->elements.empty() ? std::string("?")
                                                  : shown(role->elements[0].str);
  if (is != "master")
    return fail(ErrorKind::connection, "{}, which is {}", majority,
                is == "slave" ? std::string("a replica") : is);
  auto impl = std::make_unique<Impl>();
  impl->url = primary;
  impl->url.display = where.substr(std::string_view("Redis at ").size());
  impl->context = std::move(*c);
  impl->dissent = std::move(vote.dissent);
  return Redis(std::move(impl));
}

const std::vector<std::string>& Redis::dissent() const {
  return m_impl->dissent;
}

Result<Reply> Redis::command(const std::vector<std::string>& args) {
  auto replies = m_impl->run({args});
  if (!replies) return fail(replies.error());
  return std::move(replies->front());
}

Result<std::vector<Reply>> Redis::pipeline(const std::vector<std::vector<std::string>>& commands) {
  return m_impl->run(commands);
}

void Redis::Args::arg(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  fmt::format_to(std::back_inserter(m_args), "${}\r\n", size);
  for (std::string_view p : parts) m_args += p;
  m_args += "\r\n";
  ++m_count;
}

Result<void> Redis::stream(std::size_t count,
                           const std::function<void(std::size_t, Args&)>& command,
                           const std::function<void(std::size_t, const ReplyView&)>& reply) {
  Impl& impl = *m_impl;
  if (impl.broken)
    return fail(ErrorKind::connection, "Redis at {}: connection lost", impl.url.display);
  // Sent in windows of this many commands, the replies of one read while Redis has the next:
  // the round trip is paid about once, and no buffer holds more than two windows.
  constexpr std::size_t k_window = 512;
  // Until every reply is read, the connection is out of step: if a callback throws, it is not
  // used again.
  impl.broken = true;
  Args args;
  const auto send = [&](std::size_t from, std::size_t to) -> Result<void> {
    args.m_resp.clear();
    for (std::size_t i = from; i < to; ++i) {
      args.m_args.clear();
      args.m_count = 0;
      command(i, args);
      fmt::format_to(std::back_inserter(args.m_resp), "*{}\r\n", args.m_count);
      args.m_resp += args.m_args;
    }
    if (redisAppendFormattedCommand(impl.context.get(), args.m_resp.data(), args.m_resp.size()) !=
        REDIS_OK)
      return tl::unexpected(impl.failure("send"));
    return {};
  };
  const auto receive = [&](std::size_t from, std::size_t to) -> Result<void> {
    for (std::size_t i = from; i < to; ++i) {
      void* raw = nullptr;
      if (redisGetReply(impl.context.get(), &raw) != REDIS_OK || raw == nullptr)
        return tl::unexpected(impl.failure("no reply"));
      std::unique_ptr<redisReply, void (*)(void*)> r(static_cast<redisReply*>(raw),
                                                     freeReplyObject);
      ReplyView view;
      view.type = type_of(r.get());
      if (view.type == Reply::Type::integer)
        view.integer = r->integer;
      else if (view.type == Reply::Type::array)
        view.integer = static_cast<long long>(r->elements);
      else if (view.type != Reply::Type::nil)
        view.str = std::string_view(r->str, r->len);
      if (view.type == Reply::Type::error) {
        Reply full;
        full.type = Reply::Type::error;
        full.str = std::string(view.str);
        if (auto ok = impl.check_primary(full); !ok) return fail(ok.error());
      }
      reply(i, view);
    }
    return {};
  };
  for (std::size_t from = 0; from < count; from += k_window) {
    if (auto sent = send(from, std::min(count, from + k_window)); !sent) return sent;
    if (from > 0)
      if (auto got = receive(from - k_window, from); !got) return got;
  }
  if (count > 0)
    if (auto got = receive((count - 1) / k_window * k_window, count); !got) return got;
  impl.broken = false;
  return {};
}

Result<std::string> Redis::script_sha(std::string_view source) {
  auto known = m_impl->sha.find(source.data());
  if (known != m_impl->sha.end()) return known->second;
  auto loaded = command({"SCRIPT", "LOAD", std::string(source)});
  if (!loaded) return fail(loaded.error());
  if (!loaded->ok())
    return fail(ErrorKind::remote, "Redis at {}: SCRIPT LOAD: {}", m_impl->url.display,
                loaded->str);
  m_impl->sha.emplace(source.data(), loaded->str);
  return loaded->str;
}

Result<std::vector<Reply>> Redis::scripts(std::string_view source,
                                          const std::vector<std::vector<std::string>>& calls) {
  auto sha = script_sha(source);
  if (!sha) return fail(sha.error());
  std::vector<std::vector<std::string>> commands;
  commands.reserve(calls.size());
  for (const auto& args : calls) {
    std::vector<std::string> c{"EVALSHA", *sha, "0"};
    c.insert(c.end(), args.begin(), args.end());
    commands.push_back(std::move(c));
  }
  auto replies = m_impl->run(commands);
  if (!replies) return replies;
  // A restarted server has an empty script cache and refuses every call of the batch with
  // NOSCRIPT, none having run: load the script again and replay the batch.
  if (!replies->empty() && !replies->front().ok() && replies->front().str.starts_with("NOSCRIPT")) {
    m_impl->sha.erase(source.data());
    return scripts(source, calls);
  }
  return replies;
}

Result<void> Redis::send_scripts(std::string_view source,
                                 const std::vector<std::vector<std::string_view>>& calls) {
  if (m_impl->broken)
    return fail(ErrorKind::connection, "Redis at {}: connection lost", m_impl->url.display);
  auto sha = script_sha(source);
  if (!sha) return fail(sha.error());
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& args : calls) {
    argv.assign({"EVALSHA", sha->c_str(), "0"});
    lengths.assign({7, sha->size(), 1});
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    redisAppendCommandArgv(m_impl->context.get(), static_cast<int>(argv.size()), argv.data(),
                           lengths.data());
  }
  return m_impl->flush();
}

Result<std::vector<Reply>> Redis::receive(std::size_t count) {
  return m_impl->read(count);
}

Result<Reply> Redis::script(std::string_view source, const std::vector<std::string>& args) {
  auto replies = scripts(source, {args});
  if (!replies) return fail(replies.error());
  return std::move(replies->front());
}

void Redis::set_durability(Durability durability) {
  m_impl->durability = durability;
}

Result<void> Redis::confirm_writes() {
  const Durability& d = m_impl->durability;
  if (d.replicas <= 0) return {};
  auto r = command({"WAIT", std::to_string(d.replicas), std::to_string(d.timeout.count())});
  if (!r) return fail(r.error());
  if (!r->ok())
    return fail(ErrorKind::remote, "Redis at {}: WAIT: {}", m_impl->url.display, r->str);
  if (r->integer < d.replicas)
    return fail(ErrorKind::remote,
                "Redis at {}: {} of the {} replicas asked for confirmed the write within {} ms "
                "(redis.wait_replicas): not yet safe from a failover",
                m_impl->url.display, r->integer, d.replicas, d.timeout.count());
  return {};
}

bool Redis::connected() const {
  return !m_impl->broken;
}
const RedisUrl& Redis::url() const {
  return m_impl->url;
}
std::string Redis::server() const {
  const RedisUrl& u = m_impl->url;
  return u.socket.empty() ? host_port_text({u.host, u.port}) : u.socket;
}

std::uint16_t key_slot(std::string_view key) {
  if (const std::size_t open = key.find('{'); open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  std::uint16_t crc = 0;
  for (const char c : key) {
    crc = static_cast<std::uint16_t>(
        crc ^ (static_cast<std::uint16_t>(static_cast<unsigned char>(c)) << 8));
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return static_cast<std::uint16_t>(crc % k_cluster_slots);
}

}  // namespace crawl::queue
