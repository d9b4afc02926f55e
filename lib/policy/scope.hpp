#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "policy/job.hpp"
#include "url/url.hpp"

namespace crawl::policy {

// Decides for one job whether a discovered URL is crawled. Built once per job (it compiles the
// job's patterns); judge() is then cheap and thread-safe.
class LinkFilter {
 public:
  // `authorities`: "host[:port]" of the job's seed URLs, which define its hosts or domains.
  // Fails on a pattern that does not compile, naming it.
  static Result<LinkFilter> create(const JobOptions& options,
                                   const std::vector<std::string>& authorities);
  ~LinkFilter();
  LinkFilter(LinkFilter&&) noexcept;
  LinkFilter& operator=(LinkFilter&&) noexcept;

  // `url` normalised; `depth` the depth it would be crawled at.
  Drop judge(std::string_view url, int depth) const;
  // The job's rules for its URLs (sort_query, strip_query), applied to every URL it admits:
  // seeds, links and redirect targets.
  const url::Rules& url_rules() const;

 private:
  LinkFilter();
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// The registrable domain of a host ("www.example.co.uk" -> "example.co.uk") from the Public
// Suffix List; the host itself for IP addresses and hosts without a known suffix.
std::string registrable_domain(std::string_view host);

// True when a path segment recurs `limit` times or more ("/a/b/a/b/a/b", "/x/x/x").
bool repeats_segments(std::string_view path, int limit);

}  // namespace crawl::policy
