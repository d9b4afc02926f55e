#include "fetch/fetcher.hpp"

#include <algorithm>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include <curl/curl.h>
#include <fmt/format.h>
#include <strings.h>
#include <zlib.h>

namespace crawl::fetch {

std::string_view to_string(Failure failure) {
  switch (failure) {
    case Failure::none:
      return "none";
    case Failure::timeout:
      return "timeout";
    case Failure::connect:
      return "connect";
    case Failure::resolve:
      return "resolve";
    case Failure::tls:
      return "tls";
    case Failure::protocol:
      return "protocol";
    case Failure::redirects:
      return "too_many_redirects";
    case Failure::headers:
      return "headers_too_large";
    case Failure::encoding:
      return "unsupported_encoding";
    case Failure::other:
      return "other";
  }
  return "?";
}

namespace {

// libcurl must be initialised once per process before any thread uses it.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Failure classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Failure::timeout;
    case CURLE_COULDNT_CONNECT:
      return Failure::connect;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Failure::resolve;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return Failure::tls;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_BAD_CONTENT_ENCODING:
      return Failure::protocol;
    case CURLE_TOO_MANY_REDIRECTS:
      return Failure::redirects;  // only when following them
    default:
      return Failure::other;
  }
}

// One content coding undone (gzip, or deflate: zlib's format, or raw deflate as some servers
// send it), a chunk at a time. zlib keeps a 32 KiB window, whatever the sender says.
class Inflater {
 public:
  explicit Inflater(bool gzip) : m_gzip(gzip) {
    if (gzip) m_broken = !start(16 + MAX_WBITS);
  }
  ~Inflater() {
    if (m_started) inflateEnd(&m_z);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Decodes `in`, handing the output to `out` a piece at a time; `out` returns false to stop.
  // False: the data is broken, or `out` stopped.
  template <typename Out>
  bool feed(std::string_view in, Out&& out) {
    if (m_broken) return false;
    if (!m_started) {
      // deflate: zlib's format if its two header bytes say so (RFC 1950), else raw deflate.
      const std::size_t take = std::min(in.size(), 2 - m_head.size());
      m_head.append(in.substr(0, take));
      in.remove_prefix(take);
      if (m_head.size() < 2) return true;
      const auto b0 = static_cast<unsigned char>(m_head[0]);
      const auto b1 = static_cast<unsigned char>(m_head[1]);
      if (!start((b0 & 0x0F) == 8 && (b0 * 256 + b1) % 31 == 0 ? MAX_WBITS : -MAX_WBITS))
        return false;
      const std::string head = std::move(m_head);
      if (!pump(head, out)) return false;
    }
    return pump(in, out);
  }

 private:
  bool start(int bits) {
    m_started = inflateInit2(&m_z, bits) == Z_OK;
    return m_started;
  }
  // Everything `in` decodes to, the output zlib still holds included (a full buffer may leave
  // some behind: it is drained before returning).
  template <typename Out>
  bool pump(std::string_view in, Out& out) {
    m_z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    m_z.avail_in = static_cast<uInt>(in.size());
    bool pending = true;  // zlib may hold output
    while (m_z.avail_in > 0 || (pending && !m_ended)) {
      if (m_ended) {
        if (!m_gzip) return true;  // what follows a deflate stream is ignored, as libcurl does
        inflateReset(&m_z);        // another gzip member
        m_ended = false;
        m_more = true;
      }
      m_z.next_out = reinterpret_cast<Bytef*>(m_buffer);
      m_z.avail_out = sizeof m_buffer;
      const int rc = inflate(&m_z, Z_NO_FLUSH);
      const std::size_t n = sizeof m_buffer - m_z.avail_out;
      pending = m_z.avail_out == 0;
      if (rc == Z_BUF_ERROR && n == 0) break;  // nothing more until more input comes
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        if (!m_more) return false;
        m_ended = true;  // bytes after a whole member that are no gzip: ignored, as libcurl does
        m_gzip = false;
        return true;
      }
      if (n > 0 && !out(std::string_view(m_buffer, n))) return false;
      if (rc == Z_STREAM_END) m_ended = true;
    }
    return true;
  }

  bool m_gzip;
  bool m_started = false;
  bool m_ended = false;
  bool m_more = false;    // past the first gzip member
  bool m_broken = false;  // zlib could not start
  std::string m_head;     // deflate: its first bytes, until there are two
  z_stream m_z{};
  char m_buffer[16u << 10];
};

// Content codings undone for one body, at most: each costs a decoder of 16 KiB and 44 KiB of
// zlib's, and none of the web's sends more than one.
constexpr std::size_t k_max_codings = 3;

struct Transfer {
  CURL* easy = nullptr;
  Response response;
  std::uint64_t cap = 0;                            // bytes received, at most
  std::optional<std::uint64_t> keep_bytes;          // the request's own keep limit
  std::optional<std::uint64_t> keep_body_bytes;     // and for a body of a type kept
  std::function<bool(std::string_view)> keep_also;  // Request::keep_also
  std::uint64_t keep_also_bytes = 0;
  std::uint64_t keep = 0;  // bytes kept, at most: decided at the first byte
  std::size_t share = 0;   // what the budget always grants a body
  const Options* options = nullptr;
  std::size_t header_bytes = 0;  // of the response being received
  bool headers_too_large = false;
  bool bad_encoding = false;
  bool bad_data = false;  // the body's coded data is broken
  bool body_started = false;
  std::vector<std::unique_ptr<Inflater>> codings;  // the response's, in the order applied
  std::unique_ptr<Tap> tap;
  char error[CURL_ERROR_SIZE] = {};
};

// Gives `body` a capacity of exactly `capacity` (std::string::reserve may double instead): the
// budget is charged what is allocated.
void reserve_exact(std::string& body, std::size_t capacity) {
  std::string grown;
  grown.reserve(capacity);  // from an empty string's capacity: exactly this much
  grown.append(body);
  body.swap(grown);
}

// Makes room for `more` kept bytes, growing the string's capacity (what the memory is) only as
// the budget allows: by doubling when it can, else by what is needed. The hold is charged the
// capacity, so it always covers what the body takes.
bool room_for(Transfer& t, std::size_t more) {
  std::string& body = t.response.body;
  const std::size_t needed = body.size() + more;
  const std::size_t current = std::max<std::size_t>(body.capacity(), t.response.hold.bytes());
  if (needed <= body.capacity()) return true;
  for (std::size_t want : {std::max(needed, std::min<std::size_t>(2 * current, t.keep)), needed}) {
    if (want <= current && want <= body.capacity()) continue;
    if (t.response.hold.grow(want > current ? want - current : 0)) {
      reserve_exact(body, want);
      return true;
    }
  }
  return false;
}

// The decoded body: counted against the cap, and kept as the keep limit and the body memory
// allow. False once the cap is reached: the transfer ends there.
bool take_decoded(Transfer& t, std::string_view data) {
  Response& r = t.response;
  const std::size_t room = t.cap - std::min<std::size_t>(t.cap, r.body_bytes);
  const std::size_t accepted = std::min(data.size(), room);
  r.body_bytes += accepted;
  if (!r.memory_cut && r.body.size() < t.keep) {
    std::size_t kept = std::min<std::size_t>(accepted, t.keep - r.body.size());
    if (!room_for(t, kept)) {
      kept = std::min<std::size_t>(kept, r.body.capacity() - r.body.size());
      r.memory_cut = true;
    }
    r.body.append(data.data(), kept);
  }
  if (accepted < data.size()) {
    r.truncated = true;
    return false;
  }
  return true;
}

// Undoes codings[from..] (the last applied first) and takes what comes out.
bool decode(Transfer& t, std::size_t from, std::string_view data) {
  if (from == 0) return take_decoded(t, data);
  return t.codings[from - 1]->feed(
      data, [&t, from](std::string_view out) { return decode(t, from - 1, out); });
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  Response& r = t->response;
  const std::size_t bytes = size * n;
  if (!t->body_started) {
    t->body_started = true;
    char* type = nullptr;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
    std::string ct = type != nullptr ? type : "";
    ct = ct.substr(0, ct.find(';'));
    ct.erase(ct.find_last_not_of(" \t") + 1);
    std::transform(ct.begin(), ct.end(), ct.begin(), ::tolower);
    const Options& o = *t->options;
    t->keep = t->keep_bytes                      ? *t->keep_bytes
              : !o.keep_body || o.keep_body(ct)  ? t->keep_body_bytes.value_or(o.keep_body_bytes)
              : t->keep_also && t->keep_also(ct) ? t->keep_also_bytes
                                                 : 0;
    t->keep = std::min(t->keep, t->cap);
    // One allocation for the kept part when the server says its length, within the body's own
    // share: a length announced is not a length sent, and the pool is for bytes that came.
    curl_off_t length = -1;
    if (t->codings.empty() &&
        curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0) {
      const std::size_t want = std::min({static_cast<std::size_t>(length), t->keep, t->share});
      if (want > 0 && r.hold.grow(want)) reserve_exact(r.body, want);
    }
  }
  // As received, within the cap too (coded data a little longer than what it decodes to).
  const std::size_t raw = std::min<std::size_t>(bytes, t->cap - std::min(t->cap, r.raw_bytes));
  r.raw_bytes += raw;
  if (t->tap) t->tap->body(std::string_view(data, raw));
  if (!decode(*t, t->codings.size(), std::string_view(data, raw))) {
    if (!r.truncated) t->bad_data = true;
    return 0;  // ends the transfer: the cap is reached, or the data is broken
  }
  if (raw < bytes) {
    r.truncated = true;
    return 0;
  }
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  // A status line starts a response (a redirect followed, or a 100 Continue): count afresh.
  if (line.starts_with("HTTP/")) {
    t->header_bytes = 0;
    t->response.location.clear();
    t->response.retry_after.clear();
    t->codings.clear();
  }
  // A line after the body began is a chunked body's trailer: part of the transfer coding.
  if (t->tap && !t->body_started) t->tap->header(line);
  t->header_bytes += line.size();
  if (t->header_bytes > k_max_header_bytes) {
    t->headers_too_large = true;
    return 0;  // ends the transfer
  }
  // The value of a header named `name` (lower case, with its colon), trimmed; nullopt otherwise.
  auto header = [&line](std::string_view name) -> std::optional<std::string_view> {
    if (line.size() <= name.size() || strncasecmp(line.data(), name.data(), name.size()) != 0)
      return std::nullopt;
    std::string_view value = line.substr(name.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ' ||
                              value.back() == '\t'))
      value.remove_suffix(1);
    return value;
  };
  if (auto v = header("retry-after:")) t->response.retry_after = std::string(*v);
  // As the server wrote it: the worker resolves it as a browser would (lib/url), not as libcurl.
  else if (auto where = header("location:"))
    t->response.location = std::string(*where);
  else if (auto coding = header("content-encoding:")) {
    // Only what was asked for (k_accept_encoding): libcurl would decode brotli or zstd too.
    std::string c(*coding);
    std::transform(c.begin(), c.end(), c.begin(), ::tolower);
    std::size_t start = 0;
    while (start < c.size()) {
      std::size_t comma = c.find(',', start);
      if (comma == std::string::npos) comma = c.size();
      std::string one = c.substr(start, comma - start);
      one.erase(0, one.find_first_not_of(" \t"));
      one.erase(one.find_last_not_of(" \t") + 1);
      if (one == "gzip" || one == "x-gzip" || one == "deflate") {
        if (t->codings.size() >= k_max_codings) {
          t->bad_encoding = true;
          return 0;
        }
        t->codings.push_back(std::make_unique<Inflater>(one != "deflate"));
      } else if (!one.empty() && one != "identity") {
        t->bad_encoding = true;
        return 0;  // ends the transfer
      }
      start = comma + 1;
    }
  }
  return size * n;
}

// A request's head as libcurl sent it, for the tap.
int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (type == CURLINFO_HEADER_OUT && t->tap) t->tap->sent(std::string_view(data, size));
  return 0;
}

// zlib's decoders keep a 32 KiB window; brotli's and zstd's one as large as the sender declares.
constexpr const char* k_accept_encoding = "gzip, deflate";

}  // namespace

std::string_view charset_parameter(std::string_view type) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  std::size_t at = type.find(';');
  while (at != std::string_view::npos) {
    ++at;
    while (at < type.size() && space(type[at])) ++at;
    if (type.size() - at >= 7 && strncasecmp(type.data() + at, "charset", 7) == 0) {
      std::size_t v = at + 7;
      while (v < type.size() && space(type[v])) ++v;
      if (v < type.size() && type[v] == '=') {
        ++v;
        while (v < type.size() && space(type[v])) ++v;
        if (v < type.size() && type[v] == '"') {
          const std::size_t close = type.find('"', v + 1);
          return type.substr(v + 1, close == std::string_view::npos ? close : close - v - 1);
        }
        const std::size_t end = type.find(';', v);
        std::string_view value = type.substr(v, end == std::string_view::npos ? end : end - v);
        while (!value.empty() && space(value.back())) value.remove_suffix(1);
        return value;
      }
    }
    at = type.find(';', at);
  }
  return {};
}

bool BodyBudget::take(std::uint64_t held, std::uint64_t more) {
  // Only the fetch loop takes; givers (any thread) only lower the counts meanwhile.
  const std::uint64_t beyond = held + more > m_share ? held + more - std::max(held, m_share) : 0;
  if (beyond > 0 && m_pool_used.load() + beyond > m_pool) return false;
  m_pool_used.fetch_add(beyond);
  m_used.fetch_add(more);
  return true;
}

void BodyBudget::give(std::uint64_t held) {
  m_pool_used.fetch_sub(held > m_share ? held - m_share : 0);
  m_used.fetch_sub(held);
}

BodyHold::BodyHold(BodyHold&& other) noexcept
    : m_budget(std::move(other.m_budget)), m_bytes(std::exchange(other.m_bytes, 0)) {}

BodyHold& BodyHold::operator=(BodyHold&& other) noexcept {
  if (this != &other) {
    release();
    m_budget = std::move(other.m_budget);
    m_bytes = std::exchange(other.m_bytes, 0);
  }
  return *this;
}

bool BodyHold::grow(std::uint64_t more) {
  if (!m_budget || !m_budget->take(m_bytes, more)) return false;
  m_bytes += more;
  return true;
}

void BodyHold::release() {
  if (m_budget && m_bytes > 0) m_budget->give(m_bytes);
  m_bytes = 0;
}

struct Fetcher::Impl {
  Options options;
  std::shared_ptr<BodyBudget> budget;
  std::size_t share = 0;
  CURLM* multi = nullptr;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::vector<CURL*> spare;  // finished easy handles, reset and reused

  CURL* easy_handle() {
    if (spare.empty()) return curl_easy_init();
    CURL* e = spare.back();
    spare.pop_back();
    curl_easy_reset(e);
    return e;
  }

  void finish(CURL* easy, CURLcode code, std::vector<Response>& done) {
    auto it = transfers.find(easy);
    if (it == transfers.end()) return;
    Transfer& t = *it->second;
    Response& r = t.response;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
    char* type = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
      std::string ct(type);
      r.charset = std::string(charset_parameter(ct));
      ct = ct.substr(0, ct.find(';'));
      ct.erase(ct.find_last_not_of(" \t") + 1);
      std::transform(ct.begin(), ct.end(), ct.begin(), ::tolower);
      r.content_type = std::move(ct);
    }
    curl_off_t micros = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &micros);
    r.elapsed_ms = micros / 1000;
    char* ip = nullptr;
    if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr) r.ip = ip;
    r.tap = std::move(t.tap);
    // Stopping at the cap is not a failure: the body is cut and marked.
    // One header line over libcurl's own limit (100 KiB) fails the transfer before our count
    // sees it, as "Out of memory": in the headers, that is what it means.
    if (t.headers_too_large || (code == CURLE_OUT_OF_MEMORY && !t.body_started)) {
      r.failure = Failure::headers;
      r.error = fmt::format("the response's headers are over {} KiB", k_max_header_bytes >> 10);
    } else if (t.bad_encoding) {
      r.failure = Failure::encoding;
      r.error =
          fmt::format("a Content-Encoding other than the gzip and deflate asked for, or over {}",
                      k_max_codings);
    } else if (t.bad_data) {
      r.failure = Failure::protocol;
      r.error = "the body's gzip or deflate data is broken";
    } else if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && r.truncated)) {
      r.failure = classify(code);
      r.error = t.error[0] != '\0' ? t.error : curl_easy_strerror(code);
    }
    done.push_back(std::move(r));
    curl_multi_remove_handle(multi, easy);
    spare.push_back(easy);
    transfers.erase(it);
  }
};

Fetcher::Fetcher(const Options& options) : m_impl(std::make_unique<Impl>()) {
  global_init();
  m_impl->options = options;
  // Half the memory in shares, one a transfer; the other half goes first come.
  const std::uint64_t share =
      options.body_memory / (2 * std::max<std::size_t>(1, options.max_connections));
  m_impl->budget = std::make_shared<BodyBudget>(share, options.body_memory / 2);
  m_impl->share = static_cast<std::size_t>(share);
  m_impl->multi = curl_multi_init();
  curl_multi_setopt(m_impl->multi, CURLMOPT_MAXCONNECTS,
                    static_cast<long>(options.max_connections));
}

Fetcher::~Fetcher() {
  abort_all();
  for (CURL* e : m_impl->spare) curl_easy_cleanup(e);
  curl_multi_cleanup(m_impl->multi);
}

void Fetcher::add(Request request) {
  const Options& o = m_impl->options;
  auto t = std::make_unique<Transfer>();
  t->easy = m_impl->easy_handle();
  t->cap = o.max_body_bytes;
  t->keep_bytes = request.keep_bytes;
  t->keep_body_bytes = request.keep_body_bytes;
  t->keep_also = std::move(request.keep_also);
  t->keep_also_bytes = request.keep_also_bytes;
  t->share = m_impl->share;
  t->options = &m_impl->options;
  t->response.hold = BodyHold(m_impl->budget);
  t->tap = std::move(request.tap);
  t->response.id = request.id;
  t->response.url = request.url;
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, t->response.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, k_accept_encoding);
  // Bodies come as received, and are decoded here: a tap sees them before that.
  curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  if (t->tap) {
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, t.get());
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);  // the debug function sees the heads sent
  }
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.count()));
  if (o.low_speed_bytes > 0) {
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(o.low_speed_bytes));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                     std::max<long>(1, static_cast<long>(o.low_speed_time.count() / 1000)));
  }
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_multi_add_handle(m_impl->multi, e);
  m_impl->transfers.emplace(e, std::move(t));
}

std::size_t Fetcher::active() const {
  return m_impl->transfers.size();
}

std::vector<Response> Fetcher::poll(std::chrono::milliseconds timeout) {
  std::vector<Response> done;
  int running = 0;
  curl_multi_perform(m_impl->multi, &running);
  auto collect = [&] {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(m_impl->multi, &left))
      if (msg->msg == CURLMSG_DONE) m_impl->finish(msg->easy_handle, msg->data.result, done);
  };
  collect();
  if (!done.empty()) return done;
  curl_multi_poll(m_impl->multi, nullptr, 0, static_cast<int>(timeout.count()), nullptr);
  curl_multi_perform(m_impl->multi, &running);
  collect();
  return done;
}

void Fetcher::wake() {
  curl_multi_wakeup(m_impl->multi);
}

std::uint64_t Fetcher::body_memory_used() const {
  return m_impl->budget->used();
}

void Fetcher::cancel(std::uint64_t id) {
  for (auto it = m_impl->transfers.begin(); it != m_impl->transfers.end(); ++it)
    if (it->second->response.id == id) {
      curl_multi_remove_handle(m_impl->multi, it->first);
      curl_easy_cleanup(it->first);
      m_impl->transfers.erase(it);
      return;
    }
}

void Fetcher::abort_all() {
  for (auto& [easy, transfer] : m_impl->transfers) {
    curl_multi_remove_handle(m_impl->multi, easy);
    curl_easy_cleanup(easy);
  }
  m_impl->transfers.clear();
}

}  // namespace crawl::fetch
