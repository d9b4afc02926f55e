#include "policy/job_options.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "core/units.hpp"

namespace crawl::policy {

namespace {

using Kind = OptionRule::Kind;
constexpr std::int64_t k_max_count = std::numeric_limits<std::int64_t>::max();

OptionRule integer(std::int64_t low, std::int64_t high) {
  return {Kind::integer, low, high, {}};
}
OptionRule duration(std::int64_t low, std::int64_t high) {
  return {Kind::duration, low, high, {}};
}

}  // namespace

const std::vector<JobOption>& job_options() {
  using J = JobOptions;
  static const std::vector<JobOption> options{
      {"scope",
       "--scope",
       "",
       {Kind::choice, 0, 2, {"host", "domain", "any"}},
       &J::scope,
       false,
       "host (the seeds' hosts), domain (their registrable domains) or any"},
      {"max_depth", "--depth", "", integer(0, 1'000'000), &J::max_depth, false,
       "Links followed from a seed (seeds are depth 0)"},
      {"max_pages", "--max-pages", "", integer(0, k_max_count), &J::max_pages, true,
       "Stop admitting URLs to fetch after this many; links filtered out do not count (0 = no "
       "limit)"},
      {"records_backlog", "--records-backlog", "records_backlog", integer(0, k_max_count),
       &J::records_backlog, true,
       "Records waiting in Redis to be drained home (crawlctl drain, wait, results or serve) "
       "before the job's claims pause until they are (0 = no limit)"},
      {"allow",
       "--allow",
       "",
       {Kind::patterns, 0, 0, {}},
       &J::allow,
       false,
       "Only URLs matching one of these regexes (POSIX extended); repeat for more"},
      {"deny",
       "--deny",
       "",
       {Kind::patterns, 0, 0, {}},
       &J::deny,
       false,
       "Never URLs matching one of these regexes; repeat for more"},
      {"respect_robots",
       "--no-robots",
       "",
       {Kind::boolean, 0, 1, {}},
       &J::respect_robots,
       false,
       "Ignore robots.txt (only for sites you run)"},
      {"delay_ms", "--delay", "delay", duration(0, 3'600'000), &J::delay, true,
       "At least this between the starts of two requests to a site, fleet-wide (a site is "
       "scheme://host:port)"},
      {"host_concurrency", "--host-concurrency", "host_concurrency", integer(1, 1024),
       &J::host_concurrency, true, "At most this many requests in flight at a site, fleet-wide"},
      {"max_crawl_delay_ms", "--max-crawl-delay", "max_crawl_delay", duration(0, 86'400'000),
       &J::max_crawl_delay, true,
       "Honour a robots.txt Crawl-delay up to this; a site asking for more is not crawled (its "
       "URLs: filtered, crawl_delay)"},
      {"max_links_per_page", "--max-links", "max_links_per_page", integer(0, 1'000'000),
       &J::max_links_per_page, false,
       "Links (and images) recorded per page; the rest are counted, not kept"},
      {"max_parse_bytes", "--max-parse-bytes", "max_parse_bytes", integer(64 << 10, 16 << 20),
       &J::max_parse_bytes, false,
       "Bytes of a page parsed; the rest is not read (its record says parse_cut: size). Each "
       "parser thread holds up to about ten times this in Gumbo's tree while it parses"},
      {"max_retries", "--retries", "max_retries", integer(0, 100), &J::max_retries, false,
       "Retries for timeouts, connection errors, 429 and 5xx"},
      {"max_url_length", "--max-url-length", "", integer(16, 65'536), &J::max_url_length, false,
       "Longer URLs are not crawled (filtered, trap_length)"},
      {"max_repeats", "--max-repeats", "", integer(1, 1000), &J::max_repeats, false,
       "A path segment repeated this often marks a trap, as in /a/b/a/b/a/b (filtered, "
       "trap_repeat)"},
      {"sort_query",
       "--sort-query",
       "",
       {Kind::boolean, 0, 1, {}},
       &J::sort_query,
       false,
       "One URL for any order of a query's parameters (?a=1&b=2 and ?b=2&a=1): for sites where "
       "the order means nothing"},
      {"canonical",
       "--canonical",
       "",
       {Kind::boolean, 0, 1, {}},
       &J::canonical,
       false,
       "A page whose <link rel=canonical> names another URL admits that URL instead of its own "
       "links (its record says canonical either way)"},
      {"sitemaps",
       "--sitemaps",
       "",
       {Kind::boolean, 0, 1, {}},
       &J::sitemaps,
       false,
       "Reads each site's sitemaps (those its robots.txt names, and /sitemap.xml): their URLs, "
       "and those of sitemap indexes, are admitted as links are"},
      {"warc",
       "--warc",
       "",
       {Kind::boolean, 0, 1, {}},
       &J::warc,
       false,
       "Each worker keeps every request and response of the job, as it crossed the wire, in WARC "
       "files in its worker.warc_dir (brought home by crawlctl collect)"},
      {"strip_query",
       "--strip-query",
       "",
       {Kind::patterns, 0, 0, {}},
       &J::strip_query,
       false,
       "Drop query parameters, and ;name=value path parameters, whose whole name matches this "
       "regex (POSIX extended), e.g. 'utm_.*' or 'j?sessionid'; repeat for more"},
      {"notify",
       "--notify",
       "",
       {Kind::url, 0, 2048, {}},
       &J::notify,
       false,
       "POST a JSON summary to this http(s) URL once the job finishes, is cancelled or stalls "
       "(sent by crawlctl serve)"},
  };
  return options;
}

const JobOption* find_job_option(std::string_view field) {
  for (const auto& o : job_options())
    if (o.field == field || (!o.key.empty() && o.key == field)) return &o;
  return nullptr;
}

const JobOption* find_job_flag(std::string_view flag) {
  for (const auto& o : job_options())
    if (o.flag == flag) return &o;
  return nullptr;
}

std::int64_t option_integer(const JobOptions& options, const JobOption& option) {
  return std::visit(
      [&](auto member) -> std::int64_t {
        using T = std::remove_cvref_t<decltype(options.*member)>;
        const T& v = options.*member;
        if constexpr (std::is_same_v<T, std::chrono::milliseconds>)
          return v.count();
        else if constexpr (std::is_same_v<T, std::vector<std::string>> ||
                           std::is_same_v<T, std::string>)
          return 0;
        else
          return static_cast<std::int64_t>(v);
      },
      option.member);
}

Result<void> set_option(JobOptions& options, const JobOption& option, std::int64_t value) {
  const OptionRule& r = option.rule;
  if (r.kind == Kind::patterns) return fail("expected a pattern, not a number");
  if (r.kind == Kind::url) return fail("expected a URL, not a number");
  if (value < r.low || value > r.high) {
    if (r.kind == Kind::duration)
      return fail("{} is out of range ({} to {})",
                  format_duration(std::chrono::milliseconds(value)),
                  format_duration(std::chrono::milliseconds(r.low)),
                  format_duration(std::chrono::milliseconds(r.high)));
    return fail("{} is out of range ({} to {})", value, r.low, r.high);
  }
  std::visit(
      [&](auto member) {
        using T = std::remove_cvref_t<decltype(options.*member)>;
        T& out = options.*member;
        if constexpr (std::is_same_v<T, std::chrono::milliseconds>)
          out = std::chrono::milliseconds(value);
        else if constexpr (std::is_same_v<T, bool>)
          out = value != 0;
        else if constexpr (!std::is_same_v<T, std::vector<std::string>> &&
                           !std::is_same_v<T, std::string>)
          out = static_cast<T>(value);
      },
      option.member);
  return {};
}

void set_option_clamped(JobOptions& options, const JobOption& option, std::int64_t value) {
  (void)set_option(options, option, std::clamp(value, option.rule.low, option.rule.high));
}

Result<void> set_option(JobOptions& options, const JobOption& option, std::string_view text) {
  const OptionRule& r = option.rule;
  switch (r.kind) {
    case Kind::integer: {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || end != text.data() + text.size())
        return fail("'{}' is not a whole number", text);
      return set_option(options, option, n);
    }
    case Kind::duration: {
      auto d = parse_duration(text);
      if (!d) return fail(d.error());
      return set_option(options, option, static_cast<std::int64_t>(d->count()));
    }
    case Kind::boolean:
      if (text == "true" || text == "1") return set_option(options, option, 1);
      if (text == "false" || text == "0") return set_option(options, option, 0);
      return fail("expected true or false, not '{}'", text);
    case Kind::choice: {
      auto it = std::find(r.choices.begin(), r.choices.end(), text);
      if (it == r.choices.end())
        return fail("must be {}, not '{}'", fmt::join(r.choices, ", "), text);
      return set_option(options, option, static_cast<std::int64_t>(it - r.choices.begin()));
    }
    case Kind::url: {
      const bool scheme = text.starts_with("http://") || text.starts_with("https://");
      if (!text.empty() && !scheme)
        return fail("'{}' is not an http or https URL", text.substr(0, 100));
      if (text.size() > static_cast<std::size_t>(r.high))
        return fail("a URL longer than {} bytes", r.high);
      if (std::any_of(text.begin(), text.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
        return fail("a URL with a space or a control character");
      options.*std::get<std::string JobOptions::*>(option.member) = std::string(text);
      return {};
    }
    case Kind::patterns: {
      if (text.empty()) return fail("an empty pattern");
      auto member = std::get<std::vector<std::string> JobOptions::*>(option.member);
      (options.*member).emplace_back(text);
      return {};
    }
  }
  return {};
}

std::string option_text(const JobOptions& options, const JobOption& option) {
  const OptionRule& r = option.rule;
  const std::int64_t n = option_integer(options, option);
  switch (r.kind) {
    case Kind::integer:
      return std::to_string(n);
    case Kind::duration:
      return format_duration(std::chrono::milliseconds(n));
    case Kind::boolean:
      return n != 0 ? "true" : "false";
    case Kind::choice:
      return n >= 0 && static_cast<std::size_t>(n) < r.choices.size()
                 ? std::string(r.choices[static_cast<std::size_t>(n)])
                 : std::to_string(n);
    case Kind::patterns: {
      const auto& list = options.*std::get<std::vector<std::string> JobOptions::*>(option.member);
      return list.empty() ? std::string() : list.front();
    }
    case Kind::url:
      return options.*std::get<std::string JobOptions::*>(option.member);
  }
  return {};
}

}  // namespace crawl::policy
