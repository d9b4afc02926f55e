#pragma once
// From an extracted page and the URL it was fetched from (after redirects) to normalised URLs,
// within what one page may become.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "html/html.hpp"
#include "url/url.hpp"

namespace crawl::html {

// A page's links and images are kept up to a number and a number of bytes each. The bytes
// matter because a short reference can resolve to a long URL: behind a <base href> of 4,000
// characters, 6,000 links of a few bytes each become 24 MB of URLs, and every copy the worker
// and Redis make of them. 512 KiB holds 6,000 URLs of 87 bytes, more than real pages carry.
inline constexpr std::size_t k_max_link_bytes = 512u << 10;
inline constexpr std::size_t k_max_image_bytes = 512u << 10;

struct Limits {
  std::size_t links = 6000;   // links kept (the job's max_links_per_page)
  std::size_t images = 6000;  // images kept (the same)
  std::size_t link_bytes = k_max_link_bytes;
  std::size_t image_bytes = k_max_image_bytes;
};

struct Outlinks {
  std::vector<std::string> follow;  // links to follow: normalised, unique, in document order
  std::vector<std::uint64_t> follow_fingerprints;  // url::fingerprint of each, in the same order
  std::vector<std::string> images;                 // image URLs: normalised, unique, sorted
  std::string canonical;     // <link rel=canonical>, normalised under the rules ("" if none or bad)
  std::string refresh;       // a meta refresh's URL, the same way (Page::refresh_href)
  std::size_t nofollow = 0;  // links skipped for rel=nofollow or meta nofollow
  std::size_t rejected = 0;  // hrefs that are no http(s) URL (javascript:, mailto:, ...)
  std::size_t links_dropped = 0;   // unique links to follow past the limits, not kept
  std::size_t images_dropped = 0;  // unique images past the limits, not kept
};

// Resolves against <base href> when there is one (itself resolved against the page URL), drops
// fragments, honours rel=nofollow and meta robots nofollow. Images are kept either way: they are
// facts about the page, not links to crawl. Links and images are kept in document order until
// the next would pass a limit; the unique ones after it are only counted. What this takes beyond
// its result is a fingerprint per unique URL and one URL at a time.
// `query_encoder`: the document's, when it is in a legacy encoding (html::query_encoder());
// `rules`: the job's rules for its URLs (links to follow; images are facts, kept as written).
Outlinks outlinks(const Page& page, std::string_view page_url, const Limits& limits = {},
                  const url::QueryEncoder& query_encoder = {}, const url::Rules& rules = {});

}  // namespace crawl::html
