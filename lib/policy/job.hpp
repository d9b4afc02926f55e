#pragma once
// The options a crawl job carries (set by `crawlctl submit`, read by every worker), and the
// per-link decision they imply. Pure.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crawl::policy {

enum class Scope {
  host,    // the hosts of the seed URLs
  domain,  // their registrable domains (example.org covers www.example.org and cdn.example.org)
  any,     // everything; other rules still apply
};

std::string_view to_string(Scope scope);
bool parse_scope(std::string_view text, Scope& out);

struct JobOptions {
  Scope scope = Scope::host;
  int max_depth = 16;  // links followed from a seed; seeds are depth 0
  std::uint64_t max_pages =
      0;  // URLs admitted to be fetched (links filtered as found not counted), 0 = no limit
  std::vector<std::string>
      allow;                      // POSIX extended regexes: when any is given, a URL must match one
  std::vector<std::string> deny;  // a URL matching any is dropped
  bool respect_robots = true;
  // Politeness, fleet-wide and per site (scheme://host:port). The defaults are for the public
  // web; raising them is for sites you run.
  std::chrono::milliseconds delay{1000};  // at least this between the starts of two requests
  int host_concurrency = 1;               // at most this many requests in flight at once
  std::chrono::milliseconds max_crawl_delay{
      30'000};                    // a robots.txt Crawl-delay is honoured up
                                  // to this; a site asking for more is not crawled
  int max_links_per_page = 6000;  // links (and images) recorded per page; the rest counted
  // Bytes of a page parsed (html::k_max_parse_bytes by default); the rest is not read, and the
  // record says parse_cut: size.
  std::uint64_t max_parse_bytes = 2u << 20;
  int max_retries = 2;  // for timeouts, connection errors, 429 and 5xx
  std::uint64_t max_url_length = 2048;
  int max_repeats = 3;  // a path segment repeated this often is a trap: /a/b/a/b/a/b
  // URL rules beyond the normal form (url::Rules): off unless asked, as they can merge pages.
  bool sort_query = false;  // one URL for any order of a query's parameters
  bool canonical = false;   // a page whose rel=canonical differs admits that URL, not its links
  bool sitemaps = false;    // each site's sitemaps (robots.txt's, /sitemap.xml) are read
  bool warc = false;        // each worker keeps what it fetches in WARC files (worker.warc_dir)
  std::vector<std::string> strip_query;  // parameters whose whole name matches one: dropped
  // Records that wait in Redis to be drained (crawlctl drain, wait, results or serve take them
  // home) before the job's claims stop until they are: Redis holds the crawl's state, not its
  // output. 0 = no limit.
  std::uint64_t records_backlog = 100'000;
  // Where `crawlctl serve` POSTs a summary when the job finishes, is cancelled or stalls ("" =
  // nowhere): an http or https URL.
  std::string notify;
};

// Why a discovered link is not crawled. Each is a "filtered:<reason>" terminal state.
enum class Drop { none, offsite, depth, denied, not_allowed, trap_length, trap_repeat };
std::string_view to_string(Drop drop);

}  // namespace crawl::policy
