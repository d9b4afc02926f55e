#pragma once
// HTTP transfers in parallel over one libcurl multi handle: add requests, poll, collect the
// finished ones. Keep-alive connections and the DNS cache are shared by all transfers; bodies
// are decoded (gzip, br, zstd) and cut at a size cap. Redirects are not followed here: the
// caller re-checks every hop against its scope and robots.txt. Knows nothing of HTML.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace crawl::fetch {

struct Options {
  std::string user_agent = "crawlworker/0.1";
  std::uint64_t max_body_bytes = 10u << 20;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};
  std::uint64_t low_speed_bytes = 1024;  // abort below this many bytes per second...
  std::chrono::milliseconds low_speed_time{10'000};  // ...for this long
  std::size_t max_connections = 64;      // cached connections, at least the concurrency
};

struct Request {
  std::uint64_t id = 0;
  std::string url;
  bool follow_redirects = false;  // only for robots.txt, which is fetched as the RFC says
};

// Why a transfer produced no HTTP response to judge. headers: the response's headers are over
// k_max_header_bytes (libcurl's own limit, 100 KiB, would say only "Out of memory").
enum class Failure { none, timeout, connect, resolve, tls, protocol, redirects, headers, other };
inline constexpr std::size_t k_max_header_bytes = 64u << 10;
std::string_view to_string(Failure failure);

struct Response {
  std::uint64_t id = 0;
  std::string url;
  Failure failure = Failure::none;
  std::string error;          // libcurl's words for a failure
  long status = 0;            // 0 when no response arrived
  std::string content_type;   // lower-case, without parameters
  std::string location;       // a redirect's Location, as the server wrote it (maybe relative)
  std::string retry_after;    // the header, verbatim
  std::string body;
  bool truncated = false;     // longer than max_body_bytes: cut there
  std::int64_t elapsed_ms = 0;
};

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

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace crawl::fetch
