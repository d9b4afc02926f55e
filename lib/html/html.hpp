#pragma once
// What a crawler needs from an HTML document: its links, images, title, <base href> and robots
// directives. Pure: bytes in, facts out, URLs exactly as written (see outlinks.hpp to resolve
// them). Gumbo parses, so broken markup is read the way a browser reads it: nothing inside a
// comment or a script is a link.

#include <string>
#include <string_view>
#include <vector>

namespace crawl::html {

struct Link {
  std::string href;       // the attribute value, entities decoded, otherwise as written
  bool nofollow = false;  // rel="... nofollow ..."
};

struct Page {
  std::string title;           // text of the first <title>, white space collapsed, at most
                               // k_max_title_bytes (cut at a character boundary)
  std::string base_href;       // the first <base href>, or ""
  std::string canonical_href;  // the first <link rel="canonical" href>, or ""
  // The first <meta http-equiv="refresh"> that names a URL, within k_max_refresh_seconds: its
  // URL as written ("" if none). A refresh without a URL reloads the page itself: not kept.
  std::string refresh_href;
  bool refresh_seen = false;  // a meta refresh was met (the first one counts, whatever it says)
  std::vector<Link> links;    // <a href>, <area href>, <link rel=next|prev href>, in document order
  std::vector<std::string> images;  // <img src>, and every srcset candidate of <img>/<source>
  bool meta_nofollow = false;       // <meta name="robots" content="nofollow"> (or "none")
  bool meta_noindex = false;        // <meta name="robots" content="noindex"> (or "none")
  bool nesting_cut = false;         // nested deeper than k_max_depth: parsed only up to there
  bool size_cut = false;            // longer than the bytes to parse: parsed only up to there
  bool elements_cut = false;  // more than k_max_elements elements and comments: parsed up to there
};

// Gumbo's tree takes about ten times the bytes it parses (a 10 MiB page: 107 MB), so only this
// much of a body is parsed, unless a job says otherwise (its max_parse_bytes, policy/job.hpp).
// Pages this long are rare, and their links mostly come first.
inline constexpr std::size_t k_max_parse_bytes = 2u << 20;

// Gumbo's tree takes some 230 bytes an element and more with attributes and text (2 MiB of
// "<p>", 700,000 elements: 160 MB), so a document is parsed only up to its k_max_elements-th
// start tag or comment: 50,000 of "<a href=b>x</a>" take 33 MB with what is extracted. Real
// pages hold a few thousand; the largest, a few tens of thousands.
inline constexpr std::size_t k_max_elements = 50'000;

// A title is a line of text; a <title> of megabytes is kept only this far.
inline constexpr std::size_t k_max_title_bytes = 2048;

// Gumbo's time grows with the square of element nesting (40,000 nested <div>s: 2 s), so a
// document is parsed only up to where its nesting passes this depth; real pages stay far below.
inline constexpr int k_max_depth = 4096;

// A meta refresh is followed like a redirect when it fires within this many seconds (Scrapy's
// METAREFRESH_MAXDELAY): a page that moves on after minutes is a page to read first.
inline constexpr double k_max_refresh_seconds = 100;

// The URL of a meta refresh's content ("0; url='/next'"), read as HTML's shared declarative
// refresh steps read it, if it names one and fires within `max_seconds`; else "".
std::string refresh_url(std::string_view content, double max_seconds = k_max_refresh_seconds);
// Whether a meta refresh's content parses as one at all (a time, then the end or a separator).
bool refresh_parses(std::string_view content);

// Parses at most `max_bytes` of `body` (past them: size_cut).
Page extract(std::string_view body, std::size_t max_bytes = k_max_parse_bytes);

// The URLs of an HTML srcset attribute ("a.png 1x, b.png 2x"), per the HTML standard's parsing
// rules (a candidate URL may itself hold commas).
std::vector<std::string> srcset_urls(std::string_view srcset);

}  // namespace crawl::html
