#pragma once
// URLs as the crawler keys them: absolute http(s) URLs in one normal form, so that every way of
// writing the same address ("../a.html", "HTTP://Host:80/./a.html#top", "/a%2Ehtml") becomes the
// same string, and so the same fingerprint. Pure.
//
// Parsing and resolution follow the WHATWG URL Standard for http(s), which is what browsers do
// and the web is written against: "http:/x" and "http:x" are relative on an http page, a
// backslash is a slash, hosts are IDNA-mapped (libidn2, UTS #46) and IPv4 addresses read in
// every form browsers read ("0x7f.1"), and the Standard's percent-encode sets apply.
// docs/url-conformance.md measures it against the Standard's own tests.
//
// The normal form is the Standard's serialisation with these deliberate differences: no
// userinfo (never sent, never stored), no fragment, no empty query, no trailing dot on the
// host (unless nothing else is left, or what is left would read as an IPv4 address: "4.." is
// a name, "4" would be 0.0.0.4); percent-escapes of unreserved characters decoded and all other
// escapes in upper-case hex (RFC 3986 6.2.2: the same resource); and a control character inside a
// URL (NUL, ESC, ...) rejects it, where the Standard would percent-encode it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace crawl::url {

// Why a string is not a crawlable URL. The crawler counts these; none is worth an exception.
enum class Reject {
  empty,      // nothing but spaces, or nothing at all
  not_http,   // another scheme: javascript:, mailto:, data:, tel:, ftp:, ...
  malformed,  // no parse: bad host, bad port, a relative reference where an absolute is needed
  control,    // a control character (NUL, ESC, DEL, ...) inside it
  too_long,   // longer than k_max_length before or after normalising
};

std::string_view to_string(Reject reject);

using Normalized = tl::expected<std::string, Reject>;

// Longer URLs are rejected: no server is obliged to take them and they mark crawler traps.
inline constexpr std::size_t k_max_length = 4096;

// The normal form of an absolute http(s) URL.
Normalized normalize(std::string_view absolute);

// True when the absolute URL as written holds userinfo ("http://user:pass@host/"), which the
// normal form drops: for callers that refuse such URLs rather than crawl them without.
bool has_userinfo(std::string_view absolute);

// True when `text` is already in the normal form (normalize() would return it unchanged); a
// cheap check without parsing, true for most URLs in seed lists.
bool is_normal(std::string_view text);

// The URL Standard's query encoding for a document in a legacy encoding (windows-1252,
// Shift_JIS, ...): given a query's text as UTF-8, the same text in the document's encoding, each
// character that encoding cannot hold written as "%26%23" decimal "%3B" (an escaped "&#N;").
// Its bytes are then percent-encoded as any query's are.
using QueryEncoder = std::function<std::string(std::string_view utf8)>;

// Resolves references written in one document against that document's URL (or its <base href>),
// as a browser does: surrounding spaces are stripped, tabs and newlines dropped, backslashes are
// slashes, "" and "#frag" mean the document itself. Parses the base once for many references.
class Resolver {
 public:
  // `base` must be absolute; an unusable base makes every resolve() fail with its reason. A
  // document in a legacy encoding gives its `query_encoder`: the queries of its references are
  // encoded in it, as a browser encodes them (paths and hosts are UTF-8 whatever the document).
  explicit Resolver(std::string_view base, QueryEncoder query_encoder = {});
  ~Resolver();
  Resolver(Resolver&&) noexcept;
  Resolver& operator=(Resolver&&) noexcept;

  Normalized resolve(std::string_view reference) const;
  const Normalized& base() const;  // the base in normal form

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// One-off resolve; prefer a Resolver for the many links of one page.
Normalized resolve(std::string_view base, std::string_view reference);

// A job's rules for its URLs beyond the normal form, as w3lib's canonicalize_url and
// StormCrawler's normaliser offer them: the query's parameters in one order (so that "?a=1&b=2"
// and "?b=2&a=1" are one URL), and the parameters a job names dropped, from the query and as
// ";name=value" path parameters (utm_source, sessionid, ;jsessionid=...). Off unless a job asks:
// either can merge pages a site tells apart.
struct Rules {
  bool sort_query = false;
  std::function<bool(std::string_view name)> strip;  // a parameter's name (as written): drop it
  bool empty() const { return !sort_query && !strip; }
};

// `normalized` under `rules`: a URL in normal form still (an emptied query is dropped).
// Parameters are sorted by their text as written ("a=1" < "a=2" < "b"), a stable order for any
// order they came in.
std::string apply(const Rules& rules, std::string_view normalized);

// 64-bit fingerprint of a normalised URL (XXH3): the key for exact deduplication.
std::uint64_t fingerprint(std::string_view normalized);

// The parts of a normalised URL, as views into it. Only meaningful on normalize() output.
struct Parts {
  std::string_view scheme;     // "http" or "https"
  std::string_view authority;  // "host" or "host:port"
  std::string_view host;       // "example.org", "127.0.0.1", "[::1]"
  std::string_view path;       // starts with "/"
  std::string_view query;      // without "?", may be empty
};
Parts split(std::string_view normalized);

// The percent-encoding of the normal form applied to a path (and query) or a robots.txt pattern:
// what the path (after "?": the query) percent-encode set holds encoded, unreserved escapes
// decoded, other escapes upper-cased.
std::string normalize_escapes(std::string_view part);

// "scheme://host[:port]": the unit of robots.txt and politeness.
std::string origin(std::string_view normalized);
// The same as a view into a URL in normal form (which has no userinfo), without a copy.
std::string_view origin_view(std::string_view normalized);

}  // namespace crawl::url
