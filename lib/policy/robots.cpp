#include "policy/robots.hpp"

#include <algorithm>
#include <charconv>

#include <strings.h>

#include "url/url.hpp"

namespace crawl::policy {

namespace {

constexpr std::size_t k_max_bytes = k_max_robots_bytes;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The product token of a user-agent line: "CrawlWorker/1.0 (+url)" -> "CrawlWorker".
std::string_view product_token(std::string_view value) {
  std::size_t n = 0;
  while (n < value.size() &&
         (std::isalpha(static_cast<unsigned char>(value[n])) || value[n] == '-' || value[n] == '_'))
    ++n;
  return value.substr(0, n);
}

}  // namespace

bool robots_match(std::string_view pattern, std::string_view path) {
  const bool anchored = !pattern.empty() && pattern.back() == '$';
  if (anchored) pattern.remove_suffix(1);
  // Greedy wildcard match with backtracking to the last '*': O(len(pattern) * len(path)) at
  // worst, whatever a hostile robots.txt holds.
  std::size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = s;
    } else if (p < pattern.size() && pattern[p] == path[s]) {
      ++p;
      ++s;
    } else if (p == pattern.size() && !anchored) {
      return true;  // the pattern is a prefix of the path
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Robots Robots::allow_all() {
  return Robots{};
}

Robots Robots::disallow_all() {
  Robots r;
  r.m_disallow_all = true;
  return r;
}

bool Robots::allowed(std::string_view path_and_query) const {
  if (path_and_query == "/robots.txt") return true;
  if (m_disallow_all) return false;
  std::size_t best = 0;
  bool allow = true;
  for (const Rule& rule : m_rules) {
    // The most specific rule has the most octets (RFC 9309 2.2.2), counted as written, '*' and
    // '$' included, as Google's reference parser counts them.
    const std::size_t length = rule.pattern.size();
    if (length < best || (length == best && !rule.allow)) continue;
    if (!robots_match(rule.pattern, path_and_query)) continue;
    if (length > best || rule.allow) allow = rule.allow;
    best = length;
  }
  return allow;
}

// The first line of the cached form: patterns are kept in the URL normal form of their time, so
// a copy written by an older worker (whose normal form differed) is not read as this one; R3
// added the Sitemap: URLs ("S" lines).
constexpr std::string_view k_format = "R3\n";

std::string Robots::serialize() const {
  std::string out(k_format);
  if (m_disallow_all) return out + "X\n";
  if (m_crawl_delay) out += "D " + std::to_string(m_crawl_delay->count()) + "\n";
  for (const Rule& rule : m_rules) out += (rule.allow ? "A " : "N ") + rule.pattern + "\n";
  for (const std::string& sitemap : m_sitemaps) out += "S " + sitemap + "\n";
  return out;
}

std::optional<Robots> Robots::deserialize(std::string_view text) {
  if (!text.starts_with(k_format)) return std::nullopt;
  text.remove_prefix(k_format.size());
  Robots r;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line == "X") r.m_disallow_all = true;
    if (line.size() < 2) continue;
    const std::string_view value = line.substr(2);
    if (line[0] == 'D') {
      long ms = 0;
      std::from_chars(value.data(), value.data() + value.size(), ms);
      r.m_crawl_delay = std::chrono::milliseconds(ms);
    } else if (line[0] == 'A' || line[0] == 'N') {
      r.m_rules.push_back({line[0] == 'A', std::string(value)});
    } else if (line[0] == 'S') {
      r.m_sitemaps.emplace_back(value);
    }
  }
  return r;
}

Robots parse_robots(std::string_view text, std::string_view agent) {
  // Only whole lines of the first 512 KiB: half a rule at the cut could mean another path
  // ("Allow: /private-but-public" cut to "Allow: /private").
  if (text.size() > k_max_bytes) {
    const std::size_t last_break = text.substr(0, k_max_bytes + 1).find_last_of("\r\n");
    text = text.substr(0, last_break == std::string_view::npos ? 0 : last_break);
  }
  // A UTF-8 byte order mark is not part of the first line.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  struct Group {
    bool ours = false, star = false;
    std::vector<Robots::Rule> rules;
    std::optional<std::chrono::milliseconds> delay;
  };
  std::vector<Group> groups;
  // User-agent lines share one group until a rule ends their run; other lines (Sitemap,
  // Crawl-delay, unknown ones) do not interfere (RFC 9309 2.2.4).
  bool in_agents = false;
  std::vector<std::string> sitemaps;
  while (!text.empty()) {
    // Lines end with LF, CR LF or a bare CR.
    const std::size_t eol = text.find_first_of("\r\n");
    std::string_view line = text.substr(0, eol);
    std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    if (eol != std::string_view::npos && text[eol] == '\r' && eol + 1 < text.size() &&
        text[eol + 1] == '\n')
      ++next;
    text.remove_prefix(next);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(key, "user-agent") || iequals(key, "useragent") || iequals(key, "user agent")) {
      if (!in_agents) groups.emplace_back();
      in_agents = true;
      if (value == "*")
        groups.back().star = true;
      else if (!agent.empty() && iequals(product_token(value), agent))
        groups.back().ours = true;
      continue;
    }
    if (iequals(key, "sitemap")) {
      if (sitemaps.size() < k_max_robots_sitemaps && !value.empty() && value.size() <= 2048 &&
          value.find_first_of(" \t") == std::string_view::npos)
        sitemaps.emplace_back(value);
      continue;
    }
    if (groups.empty()) continue;  // rules before any user-agent line belong to no group
    Group& g = groups.back();
    if (iequals(key, "allow") || iequals(key, "disallow")) {
      in_agents = false;
      if (value.empty()) continue;  // "Disallow:" with no path allows everything
      // Patterns compare with normalised URLs, so their escapes are normalised the same way.
      g.rules.push_back({iequals(key, "allow"), url::normalize_escapes(value)});
    } else if (iequals(key, "crawl-delay")) {
      double seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && seconds >= 0 && seconds <= 86400)
        g.delay = std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    }
  }
  // Our own groups if any (merged), else the "*" groups (merged), else nothing applies.
  const bool have_ours = std::any_of(groups.begin(), groups.end(), [](auto& g) { return g.ours; });
  Robots robots;
  robots.m_sitemaps = std::move(sitemaps);
  for (const Group& g : groups) {
    if (have_ours ? !g.ours : !g.star) continue;
    robots.m_rules.insert(robots.m_rules.end(), g.rules.begin(), g.rules.end());
    if (g.delay && !robots.m_crawl_delay) robots.m_crawl_delay = g.delay;
  }
  return robots;
}

Robots robots_for_status(int http_status) {
  if (http_status >= 400 && http_status < 500) return Robots::allow_all();
  return Robots::disallow_all();
}

}  // namespace crawl::policy
