#include "html/outlinks.hpp"

#include <algorithm>
#include <unordered_set>

#include "url/url.hpp"

namespace crawl::html {

Outlinks outlinks(const Page& page, std::string_view page_url) {
  Outlinks out;
  url::Resolver r(page_url);
  if (!page.base_href.empty())
    if (auto base = r.resolve(page.base_href)) r = url::Resolver(*base);

  std::unordered_set<std::string> seen;
  for (const Link& link : page.links) {
    if (link.nofollow || page.meta_nofollow) {
      ++out.nofollow;
      continue;
    }
    auto u = r.resolve(link.href);
    if (!u) {
      ++out.rejected;
      continue;
    }
    if (seen.insert(*u).second) out.follow.push_back(std::move(*u));
  }
  for (const std::string& src : page.images)
    if (auto u = r.resolve(src)) out.images.push_back(std::move(*u));
  std::sort(out.images.begin(), out.images.end());
  out.images.erase(std::unique(out.images.begin(), out.images.end()), out.images.end());
  return out;
}

}  // namespace crawl::html
