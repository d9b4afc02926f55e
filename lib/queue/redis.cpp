#include "queue/redis.hpp"

#include <cctype>
#include <charconv>
#include <unordered_map>

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include "core/redact.hpp"

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

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
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
  if (!text.starts_with("redis://"))
    return fail("'{}' is not a Redis URL (redis://host:port/db or unix:///path)", safe);
  std::string_view rest = text.substr(8);
  // Userinfo ends at the last '@': an unencoded password may hold '/' or '@'.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    u.user = percent_decode(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) u.password = percent_decode(userinfo.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
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

  Error failure(std::string_view what) {
    broken = true;
    const char* reason = context && context->err ? context->errstr : "connection lost";
    return Error{fmt::format("Redis at {}: {}: {}", url.display, what, reason),
                 ErrorKind::connection};
  }

  void append(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    redisAppendCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(),
                           lengths.data());
  }

  Result<std::vector<Reply>> run(const std::vector<std::vector<std::string>>& commands) {
    if (broken) return fail(ErrorKind::connection, "Redis at {}: connection lost", url.display);
    for (const auto& c : commands) append(c);
    return read(commands.size());
  }

  Result<void> flush() {
    int done = 0;
    while (!done)
      if (redisBufferWrite(context.get(), &done) != REDIS_OK)
        return tl::unexpected(failure("send"));
    return {};
  }

  Result<std::vector<Reply>> read(std::size_t count) {
    std::vector<Reply> replies;
    replies.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      void* raw = nullptr;
      if (redisGetReply(context.get(), &raw) != REDIS_OK || raw == nullptr)
        return tl::unexpected(failure("no reply"));
      auto* r = static_cast<redisReply*>(raw);
      replies.push_back(convert(r));
      freeReplyObject(r);
    }
    return replies;
  }
};

Redis::Redis(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Redis::~Redis() = default;
Redis::Redis(Redis&&) noexcept = default;
Redis& Redis::operator=(Redis&&) noexcept = default;

Result<Redis> Redis::connect(const RedisUrl& url, std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->url = url;
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  redisContext* c = url.socket.empty() ? redisConnectWithTimeout(url.host.c_str(), url.port, tv)
                                       : redisConnectUnixWithTimeout(url.socket.c_str(), tv);
  impl->context.reset(c);
  if (c == nullptr)
    return fail(ErrorKind::connection, "Redis at {}: cannot allocate a connection", url.display);
  if (c->err)
    return fail(ErrorKind::connection, "cannot reach Redis at {}: {}", url.display, c->errstr);
  redisSetTimeout(c, tv);
  std::vector<std::vector<std::string>> setup;
  if (!url.password.empty()) {
    if (url.user.empty())
      setup.push_back({"AUTH", url.password});
    else
      setup.push_back({"AUTH", url.user, url.password});
  }
  if (url.db != 0) setup.push_back({"SELECT", std::to_string(url.db)});
  setup.push_back({"PING"});
  auto replies = impl->run(setup);
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail(ErrorKind::remote, "Redis at {}: {}", url.display, r.str);
  return Redis(std::move(impl));
}

Result<Reply> Redis::command(const std::vector<std::string>& args) {
  auto replies = m_impl->run({args});
  if (!replies) return fail(replies.error());
  return std::move(replies->front());
}

Result<std::vector<Reply>> Redis::pipeline(const std::vector<std::vector<std::string>>& commands) {
  return m_impl->run(commands);
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

bool Redis::connected() const {
  return !m_impl->broken;
}
const RedisUrl& Redis::url() const {
  return m_impl->url;
}

}  // namespace crawl::queue
