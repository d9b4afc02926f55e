#pragma once
// robots.txt as RFC 9309 defines it: the group for our product token (merged if it appears more
// than once, else the "*" groups), the longest matching rule wins, Allow wins a tie, "*" matches
// any run of characters and a final "$" anchors the end. Pure.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crawl::policy {

class Robots {
 public:
  // Everything allowed: no robots.txt (4xx), or no group applies to us.
  static Robots allow_all();
  // Nothing allowed: robots.txt unreachable (5xx, network error), per RFC 9309 section 2.3.1.4.
  static Robots disallow_all();

  // `path_and_query` of a normalised URL ("/a/b?x=1"). /robots.txt itself is always allowed.
  bool allowed(std::string_view path_and_query) const;

  // robots.txt could not be fetched (5xx, network): nothing may be crawled for now, but the
  // site has not said so; callers retry later instead of recording the URLs as disallowed.
  bool unreachable() const { return m_disallow_all; }

  // Crawl-delay of our group, if it gives one (not in RFC 9309, but widely written).
  std::optional<std::chrono::milliseconds> crawl_delay() const { return m_crawl_delay; }

  // The Sitemap: lines' URLs as written, in order, wherever they stand in the file (they belong
  // to no group), at most k_max_robots_sitemaps of at most 2,048 bytes each.
  const std::vector<std::string>& sitemaps() const { return m_sitemaps; }

  // A compact text form to cache in Redis and read back: one rule a line, after a format line.
  // nullopt for text of another format (an older worker's copy): fetch robots.txt again.
  std::string serialize() const;
  static std::optional<Robots> deserialize(std::string_view text);

 private:
  friend Robots parse_robots(std::string_view text, std::string_view agent);
  struct Rule {
    bool allow;
    std::string pattern;  // percent-encoding normalised as URLs are
  };
  std::vector<Rule> m_rules;
  bool m_disallow_all = false;
  std::optional<std::chrono::milliseconds> m_crawl_delay;
  std::vector<std::string> m_sitemaps;
};

inline constexpr std::size_t k_max_robots_sitemaps = 64;

// How much of a robots.txt is read (RFC 9309 2.5: at least 500 KiB).
inline constexpr std::size_t k_max_robots_bytes = 512 * 1024;

// Parses a robots.txt body for the crawler whose product token is `agent` (matched without
// regard to case). Only the whole lines of the first 512 KiB are read, as RFC 9309 allows; a
// UTF-8 byte order mark is skipped; lines end with LF, CR LF or CR.
Robots parse_robots(std::string_view text, std::string_view agent);

// What to do with a robots.txt fetch that gave no body to parse: 4xx allows all, 5xx and
// network failures disallow all until the next attempt.
Robots robots_for_status(int http_status);

// True when `pattern` (robots.txt syntax) matches the start of `path`.
bool robots_match(std::string_view pattern, std::string_view path);

}  // namespace crawl::policy
