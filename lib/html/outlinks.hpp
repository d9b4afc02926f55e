#pragma once
// From an extracted page and the URL it was fetched from (after redirects) to normalised URLs.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "html/html.hpp"

namespace crawl::html {

struct Outlinks {
  std::vector<std::string> follow;  // links to follow: normalised, unique, in document order
  std::vector<std::string> images;  // image URLs: normalised, sorted, unique
  std::size_t nofollow = 0;         // links skipped for rel=nofollow or meta nofollow
  std::size_t rejected = 0;         // hrefs that are no http(s) URL (javascript:, mailto:, ...)
};

// Resolves against <base href> when there is one (itself resolved against the page URL), drops
// fragments, honours rel=nofollow and meta robots nofollow. Images are kept either way: they are
// facts about the page, not links to crawl.
Outlinks outlinks(const Page& page, std::string_view page_url);

}  // namespace crawl::html
