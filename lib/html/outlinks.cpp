#include "html/outlinks.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "url/url.hpp"

namespace crawl::html {

namespace {

// URLs kept in document order up to a count and a byte budget; unique ones past them counted.
class Keeper {
 public:
  // `fingerprints`, when given, receives the fingerprint of each URL kept.
  Keeper(std::vector<std::string>& out, std::size_t max, std::size_t max_bytes,
         std::vector<std::uint64_t>* fingerprints = nullptr)
      : m_out(out), m_fingerprints(fingerprints), m_max(max), m_max_bytes(max_bytes) {}

  void offer(std::string&& u, std::size_t& dropped) {
    const std::uint64_t fp = url::fingerprint(u);
    if (!m_seen.insert(fp).second) return;
    if (m_full || m_out.size() >= m_max || m_bytes + u.size() > m_max_bytes) {
      m_full = true;  // in document order: nothing after the first that does not fit
      ++dropped;
      return;
    }
    m_bytes += u.size();
    m_out.push_back(std::move(u));
    if (m_fingerprints) m_fingerprints->push_back(fp);
  }

 private:
  std::vector<std::string>& m_out;
  std::vector<std::uint64_t>* m_fingerprints;
  std::size_t m_max, m_max_bytes, m_bytes = 0;
  bool m_full = false;
  std::unordered_set<std::uint64_t> m_seen;
};

}  // namespace

Outlinks outlinks(const Page& page, std::string_view page_url, const Limits& limits,
                  const url::QueryEncoder& query_encoder, const url::Rules& rules) {
  Outlinks out;
  url::Resolver r(page_url, query_encoder);
  if (!page.base_href.empty())
    if (auto base = r.resolve(page.base_href)) r = url::Resolver(*base, query_encoder);

  Keeper links(out.follow, limits.links, limits.link_bytes, &out.follow_fingerprints);
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
    links.offer(rules.empty() ? std::move(*u) : url::apply(rules, *u), out.links_dropped);
  }
  if (!page.canonical_href.empty())
    if (auto u = r.resolve(page.canonical_href))
      out.canonical = rules.empty() ? std::move(*u) : url::apply(rules, *u);
  if (!page.refresh_href.empty())
    if (auto u = r.resolve(page.refresh_href))
      out.refresh = rules.empty() ? std::move(*u) : url::apply(rules, *u);
  Keeper images(out.images, limits.images, limits.image_bytes);
  for (const std::string& src : page.images)
    if (auto u = r.resolve(src)) images.offer(std::move(*u), out.images_dropped);
  std::sort(out.images.begin(), out.images.end());
  return out;
}

}  // namespace crawl::html
