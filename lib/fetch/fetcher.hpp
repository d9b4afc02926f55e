#pragma once
// HTTP transfers in parallel over one libcurl multi handle: add requests, poll, collect the
// finished ones. Keep-alive connections and the DNS cache are shared by all transfers; bodies
// are decoded here (gzip, deflate: libcurl passes them on as received, for a Tap to see) and
// cut at a size cap. Redirects are not followed here: the
// caller re-checks every hop against its scope and robots.txt. Knows nothing of HTML.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crawl::fetch {

// The memory that bodies kept in memory may take at once, all transfers and whoever holds their
// bodies afterwards (the parsers) together. Each body may always grow to `share` bytes (so one
// hostile site cannot starve the others' pages); past that it takes from a common pool, first
// come, and when the pool is spent its kept part ends there (Response::memory_cut). With at most
// `bodies` bodies alive, memory stays under bodies x share + pool.
class BodyBudget {
 public:
  BodyBudget(std::uint64_t share, std::uint64_t pool) : m_share(share), m_pool(pool) {}
  // Grants `more` bytes to a body that holds `held`; false if it may not grow.
  bool take(std::uint64_t held, std::uint64_t more);
  // Gives back what a body that held `held` took.
  void give(std::uint64_t held);
  std::uint64_t used() const { return m_used.load(); }

 private:
  const std::uint64_t m_share, m_pool;
  std::atomic<std::uint64_t> m_used{0};       // all bodies' bytes
  std::atomic<std::uint64_t> m_pool_used{0};  // their bytes beyond their shares
};

// What a kept body holds of the budget, given back when it is destroyed: it travels with the
// body (to the parser, say) and is moved, never copied.
class BodyHold {
 public:
  BodyHold() = default;
  explicit BodyHold(std::shared_ptr<BodyBudget> budget) : m_budget(std::move(budget)) {}
  ~BodyHold() { release(); }
  BodyHold(BodyHold&& other) noexcept;
  BodyHold& operator=(BodyHold&& other) noexcept;
  BodyHold(const BodyHold&) = delete;
  BodyHold& operator=(const BodyHold&) = delete;

  bool grow(std::uint64_t more);  // false: the budget is spent
  std::uint64_t bytes() const { return m_bytes; }
  void release();

 private:
  std::shared_ptr<BodyBudget> m_budget;
  std::uint64_t m_bytes = 0;
};

// Sees a transfer's bytes as they crossed the wire, for an archive (a WARC writer), on the
// thread that polls: each request's head as sent (one per redirect hop followed), each
// response's head a line at a time (a status line starts a hop's; the blank line ends it), and
// the final response's body with its content coding kept and its transfer coding removed, up to
// Options::max_body_bytes. A redirect's body, which libcurl drops when it follows one, is not
// seen.
class Tap {
 public:
  virtual ~Tap() = default;
  virtual void sent(std::string_view request_head) = 0;
  virtual void header(std::string_view line) = 0;
  virtual void body(std::string_view raw) = 0;
};

struct Options {
  std::string user_agent = "crawlworker/0.1";
  std::uint64_t max_body_bytes = 10u << 20;  // received (decoded) bytes of a body, then it is cut
  // Of those, what is kept in memory: only bodies `keep_body` picks by their content type (all,
  // if unset), up to keep_body_bytes each, within body_memory for all bodies alive at once.
  std::uint64_t keep_body_bytes = 10u << 20;
  std::function<bool(std::string_view content_type)> keep_body;
  std::uint64_t body_memory = 32u << 20;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};
  std::uint64_t low_speed_bytes = 1024;              // abort below this many bytes per second...
  std::chrono::milliseconds low_speed_time{10'000};  // ...for this long
  std::size_t max_connections = 64;                  // cached connections, at least the concurrency
};

struct Request {
  std::uint64_t id = 0;
  std::string url;
  bool follow_redirects = false;            // only for robots.txt, which is fetched as the RFC says
  std::optional<std::uint64_t> keep_bytes;  // keep this much of the body, whatever its type
  // For a body Options::keep_body keeps: this much instead of Options::keep_body_bytes.
  std::optional<std::uint64_t> keep_body_bytes = std::nullopt;
  // A body of a type Options::keep_body does not keep is kept all the same, up to
  // keep_also_bytes, when this says yes to its content type (a worker reading sitemaps).
  std::function<bool(std::string_view content_type)> keep_also = nullptr;
  std::uint64_t keep_also_bytes = 0;
  std::unique_ptr<Tap> tap = nullptr;  // sees the bytes as they crossed the wire; in the Response
};

// Why a transfer produced no HTTP response to judge. headers: the response's headers are over
// k_max_header_bytes (libcurl's own limit, 100 KiB, would say only "Out of memory"). encoding:
// a Content-Encoding other than gzip or deflate, the only ones asked for (brotli's and zstd's
// decoders keep a window as large as the sender declares: up to 16 MiB and 128 MiB, filled by a
// few KB of a hostile body; zlib's is 32 KiB). protocol: among others, a body whose gzip or
// deflate data is broken.
enum class Failure {
  none,
  timeout,
  connect,
  resolve,
  tls,
  protocol,
  redirects,
  headers,
  encoding,
  other
};
inline constexpr std::size_t k_max_header_bytes = 64u << 10;
std::string_view to_string(Failure failure);

struct Response {
  std::uint64_t id = 0;
  std::string url;
  Failure failure = Failure::none;
  std::string error;             // libcurl's words for a failure
  long status = 0;               // 0 when no response arrived
  std::string content_type;      // lower-case, without parameters
  std::string charset;           // the Content-Type's charset parameter, as written ("" if none)
  std::string location;          // a redirect's Location, as the server wrote it (maybe relative)
  std::string retry_after;       // the header, verbatim
  std::string body;              // the part kept (Options::keep_body)
  std::uint64_t body_bytes = 0;  // received and decoded, kept or not (at most max_body_bytes)
  std::uint64_t raw_bytes = 0;   // of it, as received: before content decoding
  bool truncated = false;        // longer than max_body_bytes: cut there
  bool memory_cut = false;       // the kept part ends early: the body memory was spent
  BodyHold hold;                 // the kept part's share of the body memory
  std::int64_t elapsed_ms = 0;
  std::string ip;            // the server's address, when a connection was made
  std::unique_ptr<Tap> tap;  // the request's, back with what it saw
};

// The charset parameter of a Content-Type value ("text/html; charset=\"Shift_JIS\"" ->
// "Shift_JIS"), or "".
std::string_view charset_parameter(std::string_view content_type);

class Fetcher {
 public:
  explicit Fetcher(const Options& options);
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  void add(Request request);
  std::size_t active() const;
  // Drives transfers for up to `timeout` (less when one finishes or wake() is called) and
  // returns the transfers that finished.
  std::vector<Response> poll(std::chrono::milliseconds timeout);
  // Makes a poll() in progress return early; safe from any thread.
  void wake();
  // Ends every transfer in progress; they are not returned.
  void abort_all();
  // Ends the transfer of request `id`, if it is in progress; it is not returned.
  void cancel(std::uint64_t id);
  // Bytes of bodies kept in memory now, by transfers and by the responses they returned.
  std::uint64_t body_memory_used() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace crawl::fetch
