#pragma once
// Sitemaps (sitemaps.org): the <loc> URLs of a <urlset> or a <sitemapindex>, gzip'd or not.
// Read by expat as a stream (the decoded text is never held whole), with no DTD: a document
// that declares one is refused before any entity is defined, which is how XML bombs are made,
// and expat neither fetches nor expands anything external. Bounded as sitemaps.org bounds a
// file: 50,000 URLs and 50 MB decoded; past either, the file is refused whole. Pure.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace crawl::sitemap {

inline constexpr std::size_t k_max_urls = 50'000;
inline constexpr std::uint64_t k_max_decoded_bytes = 50'000'000;
// Elements nested deeper than this are refused: a sitemap is three levels deep, four or five
// with extensions (image:image, news:news).
inline constexpr int k_max_nesting = 64;
// A <loc> longer than this is skipped (sitemaps.org: under 2,048 characters).
inline constexpr std::size_t k_max_loc_bytes = 4096;
// The URLs kept of one file, in bytes: 50,000 of 160 bytes. Past it the rest is not read (what
// the worker and Redis hold of one sitemap stays bounded, as a page's links do).
inline constexpr std::size_t k_max_locs_bytes = 8u << 20;

struct Sitemap {
  enum class Kind { none, urlset, index } kind = Kind::none;  // none: not a sitemap
  std::vector<std::string> locs;  // each <loc>'s text, white space trimmed, in document order
  std::size_t skipped = 0;        // <loc>s longer than k_max_loc_bytes
  // Why the file is refused whole (a DTD, over a limit): then `locs` is empty. "" if not.
  std::string refused;
  // Why reading stopped before the end (an XML error, a truncated body or gzip stream): the
  // locs before it are kept. "" if it was read to its end.
  std::string error;
};

// Reads a sitemap from `body` as fetched: gzip'd (told by its magic bytes, as a .xml.gz file
// served without Content-Encoding is) or not.
Sitemap parse(std::string_view body);

// Whether a body fetched as `content_type` may be a sitemap worth a look: XML, gzip, or an
// unnamed type (application/octet-stream, none).
bool maybe_sitemap_type(std::string_view content_type);

// Whether the first bytes of a body say XML whose root could be a sitemap, or gzip.
bool looks_like_sitemap(std::string_view body);

}  // namespace crawl::sitemap
