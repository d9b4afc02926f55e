#include "url/url.hpp"

#include <curl/curl.h>
#include <idn2.h>
#include <xxhash.h>

#include <algorithm>
#include <optional>
#include <vector>

namespace crawl::url {

std::string_view to_string(Reject reject) {
  switch (reject) {
    case Reject::empty: return "empty";
    case Reject::not_http: return "not_http";
    case Reject::malformed: return "malformed";
    case Reject::too_long: return "too_long";
  }
  return "?";
}

namespace {

struct CurlUrlFree {
  void operator()(CURLU* h) const { curl_url_cleanup(h); }
};
using Handle = std::unique_ptr<CURLU, CurlUrlFree>;

struct CurlFree {
  void operator()(char* p) const { curl_free(p); }
};
using CurlString = std::unique_ptr<char, CurlFree>;

constexpr unsigned k_set_flags = CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE;

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_unreserved(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_sub_delim(char c) {
  return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
         c == '+' || c == ',' || c == ';' || c == '=';
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_escape(std::string& out, unsigned char byte) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  out += '%';
  out += k_hex[byte >> 4];
  out += k_hex[byte & 15];
}

// One consistent percent-encoding for a path or a query (RFC 3986 6.2.2): unreserved escapes
// decoded, other escapes upper-cased, characters outside pchar (plus "/" and "?") encoded, and a
// "%" that starts no escape encoded as %25.
std::string escapes(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (std::size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    if (c == '%') {
      const int hi = i + 1 < part.size() ? hex_value(part[i + 1]) : -1;
      const int lo = i + 2 < part.size() ? hex_value(part[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        const char decoded = static_cast<char>(hi * 16 + lo);
        if (is_unreserved(decoded)) out += decoded;
        else append_escape(out, static_cast<unsigned char>(decoded));
        i += 2;
      } else {
        out += "%25";
      }
    } else if (is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/' ||
               c == '?') {
      out += c;
    } else {
      append_escape(out, static_cast<unsigned char>(c));
    }
  }
  return out;
}

// RFC 3986 5.2.4. libcurl removes dot segments while parsing, but a decoded "%2E" can form new
// ones ("/a/%2E%2E/b"), so the normal form removes them once more after decoding.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> kept;
  std::size_t start = 1;  // the path starts with "/"
  bool trailing_slash = false;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    const bool last = end == path.size();
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      trailing_slash = last;
    } else if (segment == ".") {
      trailing_slash = last;
    } else {
      kept.push_back(segment);
      trailing_slash = false;
    }
    start = end + 1;
  }
  std::string out;
  for (std::string_view segment : kept) out.append("/").append(segment);
  if (out.empty() || trailing_slash) out += '/';
  return out;
}

bool has_dot_segment(std::string_view path) {
  return path.find("/./") != std::string_view::npos || path.find("/../") != std::string_view::npos ||
         path.ends_with("/.") || path.ends_with("/..");
}

// Browser rules for an href: strip surrounding C0 controls and spaces, drop tabs and newlines
// anywhere, and read backslashes before the query as slashes.
std::string clean_reference(std::string_view text) {
  auto blank = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  std::string out;
  out.reserve(text.size());
  bool in_query = false;
  for (char c : text) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '?' || c == '#') in_query = true;
    out += c == '\\' && !in_query ? '/' : c;
  }
  return out;
}

// The scheme of an absolute reference ("HTTP:" -> "http"), or "" for a relative one.
std::string scheme_of(std::string_view ref) {
  if (ref.empty() || !is_alpha(ref[0])) return {};
  for (std::size_t i = 1; i < ref.size(); ++i) {
    const char c = ref[i];
    if (c == ':') {
      std::string scheme(ref.substr(0, i));
      std::transform(scheme.begin(), scheme.end(), scheme.begin(), lower);
      return scheme;
    }
    if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) return {};
  }
  return {};
}

CurlString get(CURLU* h, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(h, part, &value, flags) != CURLUE_OK) return nullptr;
  return CurlString(value);
}

// Builds the normal form from a parsed handle.
Normalized assemble(CURLU* h) {
  CurlString scheme = get(h, CURLUPART_SCHEME);
  CurlString host = get(h, CURLUPART_HOST);
  if (!scheme || !host) return tl::unexpected(Reject::malformed);
  std::string s = scheme.get();
  if (s != "http" && s != "https") return tl::unexpected(Reject::not_http);

  std::string host_text = host.get();
  const bool ascii = std::all_of(host_text.begin(), host_text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) {
    // libcurl 7.88 cannot return punycode (CURLU_PUNYCODE fails), so libidn2 converts, with
    // the UTS#46 mapping browsers use (which also lower-cases).
    char* converted = nullptr;
    if (idn2_to_ascii_8z(host_text.c_str(), &converted, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
        IDN2_OK)
      return tl::unexpected(Reject::malformed);
    host_text = converted;
    idn2_free(converted);
  }
  std::transform(host_text.begin(), host_text.end(), host_text.begin(), lower);
  while (!host_text.empty() && host_text.back() == '.') host_text.pop_back();
  if (host_text.empty()) return tl::unexpected(Reject::malformed);

  std::string out = s + "://";
  if (CurlString user = get(h, CURLUPART_USER)) {
    out += user.get();
    if (CurlString password = get(h, CURLUPART_PASSWORD)) out += std::string(":") + password.get();
    out += '@';
  }
  out += host_text;
  if (CurlString port = get(h, CURLUPART_PORT, CURLU_NO_DEFAULT_PORT)) out += std::string(":") + port.get();
  CurlString path = get(h, CURLUPART_PATH);
  std::string p = path ? escapes(path.get()) : std::string("/");
  if (p.empty()) p = "/";
  if (has_dot_segment(p)) p = remove_dot_segments(p);
  out += p;
  if (CurlString query = get(h, CURLUPART_QUERY); query && *query.get() != '\0')
    out += "?" + escapes(query.get());
  if (out.size() > k_max_length) return tl::unexpected(Reject::too_long);
  return out;
}

// Checks a cleaned reference before libcurl sees it.
std::optional<Reject> precheck(const std::string& ref, bool absolute_required) {
  if (ref.empty()) return Reject::empty;
  if (ref.size() > k_max_length) return Reject::too_long;
  const std::string scheme = scheme_of(ref);
  if (!scheme.empty() && scheme != "http" && scheme != "https") return Reject::not_http;
  if (absolute_required && scheme.empty()) return Reject::malformed;
  return std::nullopt;
}

// True when `u` is already in the normal form, so libcurl need not parse it: plain ASCII http(s);
// a lower-case host name, or a dotted IPv4 address in canonical form; no userinfo; no port, or a
// non-default one; a path and query of characters that need no escaping, with no escapes, no dot
// segments, no empty query and no fragment. Most URLs in seed lists and on the web qualify.
bool already_normal(std::string_view u) {
  std::size_t pos;
  int default_port;
  if (u.starts_with("http://")) pos = 7, default_port = 80;
  else if (u.starts_with("https://")) pos = 8, default_port = 443;
  else return false;
  // Host.
  const std::size_t host_start = pos;
  while (pos < u.size() && ((u[pos] >= 'a' && u[pos] <= 'z') || is_digit(u[pos]) || u[pos] == '.' ||
                            u[pos] == '-'))
    ++pos;
  const std::string_view host = u.substr(host_start, pos - host_start);
  if (host.empty() || host.front() == '.' || host.front() == '-' || host.back() == '.' ||
      host.find("..") != std::string_view::npos)
    return false;
  // A host whose last label starts with a digit is an IPv4 address to a URL parser: only the
  // canonical dotted quad is already normal.
  const std::string_view last = host.substr(host.rfind('.') == std::string_view::npos ? 0 : host.rfind('.') + 1);
  if (is_digit(last.front())) {
    int parts = 0;
    std::size_t i = 0;
    while (i <= host.size()) {
      std::size_t end = host.find('.', i);
      if (end == std::string_view::npos) end = host.size();
      const std::string_view octet = host.substr(i, end - i);
      if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0') ||
          !std::all_of(octet.begin(), octet.end(), is_digit) || std::stoi(std::string(octet)) > 255)
        return false;
      ++parts;
      i = end + 1;
    }
    if (parts != 4) return false;
  }
  // Port.
  if (pos < u.size() && u[pos] == ':') {
    const std::size_t start = ++pos;
    while (pos < u.size() && is_digit(u[pos])) ++pos;
    const std::string_view port = u.substr(start, pos - start);
    if (port.empty() || port.size() > 5 || port[0] == '0') return false;
    const int number = std::stoi(std::string(port));
    if (number > 65535 || number == default_port) return false;
  }
  // Path, then query.
  if (pos >= u.size() || u[pos] != '/') return false;
  const std::size_t path_start = pos;
  bool in_query = false;
  for (; pos < u.size(); ++pos) {
    const char c = u[pos];
    if (c == '?') {
      if (in_query) continue;
      in_query = true;
      if (pos + 1 == u.size()) return false;  // an empty query is dropped
      const std::string_view path = u.substr(path_start, pos - path_start);
      if (has_dot_segment(path)) return false;
      continue;
    }
    if (!(is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/')) return false;
  }
  if (!in_query && has_dot_segment(u.substr(path_start))) return false;
  return u.size() <= k_max_length;
}

}  // namespace

std::string normalize_escapes(std::string_view part) { return escapes(part); }

bool is_normal(std::string_view text) { return already_normal(text); }

Normalized normalize(std::string_view absolute) {
  if (already_normal(absolute)) return std::string(absolute);
  const std::string ref = clean_reference(absolute);
  if (auto reject = precheck(ref, true)) return tl::unexpected(*reject);
  Handle h(curl_url());
  if (!h || curl_url_set(h.get(), CURLUPART_URL, ref.c_str(), k_set_flags) != CURLUE_OK)
    return tl::unexpected(Reject::malformed);
  return assemble(h.get());
}

struct Resolver::Impl {
  Handle handle;
  Normalized base;
};

Resolver::Resolver(std::string_view base) : m_impl(std::make_unique<Impl>()) {
  m_impl->base = normalize(base);
  if (!m_impl->base) return;
  m_impl->handle.reset(curl_url());
  if (!m_impl->handle ||
      curl_url_set(m_impl->handle.get(), CURLUPART_URL, m_impl->base->c_str(), k_set_flags) !=
          CURLUE_OK)
    m_impl->base = tl::unexpected(Reject::malformed);
}

Resolver::~Resolver() = default;
Resolver::Resolver(Resolver&&) noexcept = default;
Resolver& Resolver::operator=(Resolver&&) noexcept = default;

const Normalized& Resolver::base() const { return m_impl->base; }

Normalized Resolver::resolve(std::string_view reference) const {
  if (!m_impl->base) return m_impl->base;
  const std::string ref = clean_reference(reference);
  // The document itself: libcurl 7.88 resolves "" and "#x" against the directory instead.
  if (ref.empty() || ref[0] == '#') return m_impl->base;
  if (auto reject = precheck(ref, false)) return tl::unexpected(*reject);
  Handle h(curl_url_dup(m_impl->handle.get()));
  if (!h || curl_url_set(h.get(), CURLUPART_URL, ref.c_str(), k_set_flags) != CURLUE_OK)
    return tl::unexpected(Reject::malformed);
  return assemble(h.get());
}

Normalized resolve(std::string_view base, std::string_view reference) {
  return Resolver(base).resolve(reference);
}

std::uint64_t fingerprint(std::string_view normalized) {
  return XXH3_64bits(normalized.data(), normalized.size());
}

Parts split(std::string_view u) {
  Parts parts;
  const std::size_t colon = u.find("://");
  if (colon == std::string_view::npos) return parts;
  parts.scheme = u.substr(0, colon);
  const std::size_t start = colon + 3;
  std::size_t slash = u.find('/', start);
  if (slash == std::string_view::npos) slash = u.size();
  std::string_view authority = u.substr(start, slash - start);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  parts.authority = authority;
  std::size_t port = authority.rfind(':');
  if (port != std::string_view::npos && authority.find(']', port) != std::string_view::npos)
    port = std::string_view::npos;  // a colon inside an IPv6 literal
  parts.host = authority.substr(0, port);
  const std::string_view rest = u.substr(slash);
  const std::size_t q = rest.find('?');
  parts.path = rest.substr(0, q);
  if (q != std::string_view::npos) parts.query = rest.substr(q + 1);
  return parts;
}

std::string origin(std::string_view normalized) {
  const Parts parts = split(normalized);
  if (parts.scheme.empty()) return {};
  return std::string(parts.scheme) + "://" + std::string(parts.authority);
}

}  // namespace crawl::url
