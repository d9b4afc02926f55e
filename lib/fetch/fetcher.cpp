#include "fetch/fetcher.hpp"

#include <curl/curl.h>

#include <strings.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

namespace crawl::fetch {

std::string_view to_string(Failure failure) {
  switch (failure) {
    case Failure::none: return "none";
    case Failure::timeout: return "timeout";
    case Failure::connect: return "connect";
    case Failure::resolve: return "resolve";
    case Failure::tls: return "tls";
    case Failure::protocol: return "protocol";
    case Failure::redirects: return "too_many_redirects";
    case Failure::headers: return "headers_too_large";
    case Failure::other: return "other";
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
    case CURLE_OPERATION_TIMEDOUT: return Failure::timeout;
    case CURLE_COULDNT_CONNECT: return Failure::connect;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return Failure::resolve;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE: return Failure::tls;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_BAD_CONTENT_ENCODING: return Failure::protocol;
    case CURLE_TOO_MANY_REDIRECTS: return Failure::redirects;  // only when following them
    default: return Failure::other;
  }
}

struct Transfer {
  CURL* easy = nullptr;
  Response response;
  std::uint64_t cap = 0;
  std::size_t header_bytes = 0;  // of the response being received
  bool headers_too_large = false;
  bool body_started = false;
  char error[CURL_ERROR_SIZE] = {};
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  t->body_started = true;
  if (t->response.body.empty()) {
    // One allocation for the whole body when the server says its length (capped).
    curl_off_t length = -1;
    if (curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length > 0)
      t->response.body.reserve(std::min<std::size_t>(static_cast<std::size_t>(length), t->cap));
  }
  const std::size_t room = t->cap - std::min<std::size_t>(t->cap, t->response.body.size());
  if (bytes > room) {
    t->response.body.append(data, room);
    t->response.truncated = true;
    return 0;  // ends the transfer: the cap is reached
  }
  t->response.body.append(data, bytes);
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
  }
  t->header_bytes += line.size();
  if (t->header_bytes > k_max_header_bytes) {
    t->headers_too_large = true;
    return 0;  // ends the transfer
  }
  // The value of a header named `name` (lower case, with its colon), trimmed; nullopt otherwise.
  auto header = [&line](std::string_view name) -> std::optional<std::string_view> {
    if (line.size() <= name.size() || strncasecmp(line.data(), name.data(), name.size()) != 0) return std::nullopt;
    std::string_view value = line.substr(name.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ' || value.back() == '\t'))
      value.remove_suffix(1);
    return value;
  };
  if (auto v = header("retry-after:")) t->response.retry_after = std::string(*v);
  // As the server wrote it: the worker resolves it as a browser would (lib/url), not as libcurl.
  else if (auto where = header("location:")) t->response.location = std::string(*where);
  return size * n;
}

}  // namespace

struct Fetcher::Impl {
  Options options;
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
      ct = ct.substr(0, ct.find(';'));
      ct.erase(ct.find_last_not_of(" \t") + 1);
      std::transform(ct.begin(), ct.end(), ct.begin(), ::tolower);
      r.content_type = std::move(ct);
    }
    curl_off_t micros = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &micros);
    r.elapsed_ms = micros / 1000;
    // Stopping at the cap is not a failure: the body is cut and marked.
    // One header line over libcurl's own limit (100 KiB) fails the transfer before our count
    // sees it, as "Out of memory": in the headers, that is what it means.
    if (t.headers_too_large || (code == CURLE_OUT_OF_MEMORY && !t.body_started)) {
      r.failure = Failure::headers;
      r.error = fmt::format("the response's headers are over {} KiB", k_max_header_bytes >> 10);
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
  m_impl->multi = curl_multi_init();
  curl_multi_setopt(m_impl->multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.max_connections));
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
  t->response.id = request.id;
  t->response.url = request.url;
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, t->response.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding this libcurl decodes
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

std::size_t Fetcher::active() const { return m_impl->transfers.size(); }

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

void Fetcher::wake() { curl_multi_wakeup(m_impl->multi); }

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
