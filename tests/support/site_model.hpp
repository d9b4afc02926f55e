#pragma once
// The generated test website as data: every file, every special server behaviour, and the
// manifest of what a correct crawl of it records. Pure: no files, no sockets. TestSite serves it.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace crawl::testing {

struct SiteOptions {
  int pages = 200;                    // numbered pages /page/0.html ... (at least 20)
  std::size_t page_bytes = 2048;      // filler text per page, roughly
  std::uint64_t body_cap = 1u << 20;  // the crawl's max body: /big.html is twice as long
  int max_redirects = 5;              // the crawl's limit: /redirect/long/0 needs one more hop
  std::string robots_agent = "crawlworker";  // the crawl's robots.txt product token
  int slow_seconds = 60;  // /slow.html answers after this long (above any timeout)
  unsigned seed = 42;     // the link graph; the same seed gives the same site
  // Sitemaps (robots.txt's and /sitemap.xml, an index of gzip'd ones, a bomb, two past the
  // limits), and a manifest for a crawl that reads them (--sitemaps).
  bool sitemaps = false;
};

// One URL a correct crawl meets, and how it must end.
struct ManifestEntry {
  std::string url;                  // normalised: lower-case scheme, no fragment, dot segments gone
  std::string expect;               // "done", "failed" or "filtered"
  std::string reason;               // failed: http_404, timeout, redirect_loop, too_many_redirects;
                                    // filtered: offsite, robots
  int status = 0;                   // the last HTTP status the server sends (0: none arrives)
  std::string final_url;            // the last URL fetched after redirects ("" when filtered)
  std::string content_type;         // of the final response, without parameters
  std::vector<std::string> images;  // normalised image URLs of the page: sorted, unique
  std::string title;                // of a page, as its <title> reads ("" for other files)
  bool truncated = false;           // the body is longer than the cap and cut there
  std::string canonical;            // a page's <link rel=canonical>, normalised ("" if none)
  std::string encoding;             // a page: the encoding it is read in ("": not checked)
  std::string encoding_from;        // and how that is found: bom, header, meta ("": not checked)
};

struct Manifest {
  std::string root;                    // the seed: http://127.0.0.1:PORT/
  std::string robots_txt;              // as served
  SiteOptions options;                 // the crawl settings this manifest assumes
  std::vector<ManifestEntry> entries;  // sorted by url

  const ManifestEntry* find(std::string_view url) const;
  std::string to_json() const;
};

// What nginx must do beyond serving files.
struct SpecialLocation {
  std::string path;
  enum class Kind { redirect, slow, trickle, html_type, content_type } kind;
  int status = 0;        // redirect
  std::string location;  // redirect target as sent in Location (relative or absolute); for
                         // content_type, the Content-Type header sent
};

struct Site {
  std::string base;                          // http://127.0.0.1:PORT
  std::map<std::string, std::string> files;  // path under the document root -> content
  std::vector<SpecialLocation> specials;
  Manifest manifest;
};

// Builds the whole site for a server at http://127.0.0.1:port.
Site generate_site(const SiteOptions& options, int port);

}  // namespace crawl::testing
