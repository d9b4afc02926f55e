#include "url/url.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <idn2.h>
#include <xxhash.h>

namespace crawl::url {

std::string_view to_string(Reject reject) {
  switch (reject) {
    case Reject::empty:
      return "empty";
    case Reject::not_http:
      return "not_http";
    case Reject::malformed:
      return "malformed";
    case Reject::control:
      return "control_character";
    case Reject::too_long:
      return "too_long";
  }
  return "?";
}

namespace {

// ---- characters --------------------------------------------------------------------------

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
bool is_slash(char c) {
  return c == '/' || c == '\\';
}  // http(s) reads a backslash as a slash

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// The URL Standard's percent-encode sets, for the parts a crawler keeps (userinfo and fragment
// are dropped). Bytes of 0x80 and above (UTF-8) are always encoded.
bool in_query_set(unsigned char c) {  // the special-query set: http(s) queries
  return c <= 0x20 || c >= 0x7f || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'';
}
bool in_path_set(unsigned char c) {
  return c <= 0x20 || c >= 0x7f || c == '"' || c == '#' || c == '<' || c == '>' || c == '?' ||
         c == '^' || c == '`' || c == '{' || c == '}';
}

void append_escape(std::string& out, unsigned char byte) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  out += '%';
  out += k_hex[byte >> 4];
  out += k_hex[byte & 15];
}

// The normal form's own step on top of the Standard's serialisation (RFC 3986 6.2.2, for one key
// per resource): escapes of unreserved characters decoded, other escapes in upper-case hex. A
// "%" that starts no escape stays as it is, as browsers leave it; a hex digit decoded within two
// characters after one stays escaped, or the two would make an escape that was not there
// ("%4%44" is not "%4D").
void tidy_escapes(std::string_view part, std::string& out) {
  std::size_t stray = std::string::npos;  // where in `out` the last "%" that starts no escape is
  for (std::size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    if (c == '%' && i + 2 < part.size() && is_hex(part[i + 1]) && is_hex(part[i + 2])) {
      const char decoded = static_cast<char>(hex_value(part[i + 1]) * 16 + hex_value(part[i + 2]));
      // It would join a stray "%" right before it ("%" + it), or one hex digit after one ("%4" +
      // it).
      const std::size_t distance = stray == std::string::npos ? 0 : out.size() - stray;
      const bool joins_stray =
          is_hex(decoded) && (distance == 1 || (distance == 2 && is_hex(out[stray + 1])));
      if (is_unreserved(decoded) && !joins_stray)
        out += decoded;
      else
        append_escape(out, static_cast<unsigned char>(decoded));
      i += 2;
    } else {
      if (c == '%') stray = out.size();
      out += c;
    }
  }
}

// ---- hosts ---------------------------------------------------------------------------------

bool forbidden_in_domain(unsigned char c) {
  return c <= 0x20 || c == 0x7f || c == '#' || c == '%' || c == '/' || c == ':' || c == '<' ||
         c == '>' || c == '?' || c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' ||
         c == '|';
}

// The URL Standard's IPv4 number parser: decimal, 0x hex or 0 octal; nullopt if not a number.
// Values past 2^32 saturate, which the callers refuse.
std::optional<std::uint64_t> ipv4_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int radix = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    radix = 16;
    s.remove_prefix(2);
  } else if (s.size() >= 2 && s[0] == '0') {
    radix = 8;
    s.remove_prefix(1);
  }
  std::uint64_t value = 0;
  for (char c : s) {
    const int digit = radix == 16 ? hex_value(c) : is_digit(c) ? c - '0' : -1;
    if (digit < 0 || digit >= radix) return std::nullopt;
    value = std::min<std::uint64_t>(
        value * static_cast<std::uint64_t>(radix) + static_cast<std::uint64_t>(digit),
        std::uint64_t{1} << 40);
  }
  return value;
}

std::vector<std::string_view> labels(std::string_view host) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = host.find('.', start);
    parts.push_back(
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() > 1 && parts.back().empty()) parts.pop_back();  // one trailing dot
  return parts;
}

// A host whose last label is a number is an IPv4 address, valid or not.
bool ends_in_a_number(std::string_view host) {
  const auto parts = labels(host);
  const std::string_view last = parts.back();
  if (!last.empty() && std::all_of(last.begin(), last.end(), is_digit)) return true;
  return last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') &&
         ipv4_number(last).has_value();
}

std::optional<std::string> ipv4(std::string_view host) {
  const auto parts = labels(host);
  if (parts.size() > 4) return std::nullopt;
  std::vector<std::uint64_t> numbers;
  for (std::string_view part : parts) {
    auto n = ipv4_number(part);
    if (!n) return std::nullopt;
    numbers.push_back(*n);
  }
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i)
    if (numbers[i] > 255) return std::nullopt;
  if (numbers.back() >= (std::uint64_t{1} << (8 * (5 - numbers.size())))) return std::nullopt;
  std::uint64_t address = numbers.back();
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i) address += numbers[i] << (8 * (3 - i));
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 255) + "." +
         std::to_string((address >> 8) & 255) + "." + std::to_string(address & 255);
}

// The URL Standard's IPv6 parser and serialiser (compressing the first longest run of zeros).
std::optional<std::string> ipv6(std::string_view in) {
  std::array<std::uint16_t, 8> address{};
  std::size_t piece = 0, p = 0;
  std::optional<std::size_t> compress;
  auto at = [&](std::size_t i) { return i < in.size() ? in[i] : '\0'; };
  if (at(p) == ':') {
    if (at(p + 1) != ':') return std::nullopt;
    p += 2;
    compress = ++piece;
  }
  while (p < in.size()) {
    if (piece == 8) return std::nullopt;
    if (at(p) == ':') {
      if (compress) return std::nullopt;
      ++p;
      compress = ++piece;
      continue;
    }
    unsigned value = 0, length = 0;
    while (length < 4 && p < in.size() && is_hex(at(p))) {
      value = value * 16 + static_cast<unsigned>(hex_value(at(p)));
      ++p;
      ++length;
    }
    if (at(p) == '.') {
      if (length == 0) return std::nullopt;
      p -= length;
      if (piece > 6) return std::nullopt;
      int seen = 0;
      while (p < in.size()) {
        int v4 = -1;
        if (seen > 0) {
          if (at(p) == '.' && seen < 4)
            ++p;
          else
            return std::nullopt;
        }
        if (!is_digit(at(p))) return std::nullopt;
        while (is_digit(at(p))) {
          const int digit = at(p) - '0';
          if (v4 == -1)
            v4 = digit;
          else if (v4 == 0)
            return std::nullopt;
          else
            v4 = v4 * 10 + digit;
          if (v4 > 255) return std::nullopt;
          ++p;
        }
        address[piece] = static_cast<std::uint16_t>(address[piece] * 0x100 + v4);
        ++seen;
        if (seen == 2 || seen == 4) ++piece;
      }
      if (seen != 4) return std::nullopt;
      break;
    }
    if (at(p) == ':') {
      ++p;
      if (p >= in.size()) return std::nullopt;
    } else if (p < in.size()) {
      return std::nullopt;
    }
    address[piece++] = static_cast<std::uint16_t>(value);
  }
  if (compress) {
    std::size_t swaps = piece - *compress;
    piece = 7;
    while (piece != 0 && swaps > 0) {
      std::swap(address[piece], address[*compress + swaps - 1]);
      --piece;
      --swaps;
    }
  } else if (piece != 8) {
    return std::nullopt;
  }
  // Serialise: the first longest run of two or more zero pieces becomes "::".
  std::size_t best = 8, best_length = 1;
  for (std::size_t i = 0; i < 8;) {
    std::size_t j = i;
    while (j < 8 && address[j] == 0) ++j;
    if (j - i > best_length) {
      best = i;
      best_length = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out = "[";
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += i == 0 ? "::" : ":";
      i += best_length - 1;
      continue;
    }
    std::string hex;
    for (unsigned v = address[i]; v > 0 || hex.empty(); v >>= 4)
      hex.insert(hex.begin(), k_hex[v & 15]);
    out += hex;
    if (i != 7) out += ':';
  }
  return out + "]";
}

// The URL Standard's host parser for http(s), then the normal form's one step more: no trailing
// dot (the same DNS name).
std::optional<std::string> parse_host(std::string_view input) {
  if (input.empty()) return std::nullopt;
  if (input.front() == '[') {
    if (input.back() != ']') return std::nullopt;
    return ipv6(input.substr(1, input.size() - 2));
  }
  std::string domain;  // percent-decoded bytes (UTF-8)
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (input[i] == '%' && i + 2 < input.size() && is_hex(input[i + 1]) && is_hex(input[i + 2])) {
      domain += static_cast<char>(hex_value(input[i + 1]) * 16 + hex_value(input[i + 2]));
      i += 2;
    } else {
      domain += input[i];
    }
  }
  // Domain to ASCII: UTS #46 (non-transitional, as browsers) through libidn2 for a host with a
  // non-ASCII label; an ASCII one is only lower-cased. Its A-labels ("xn--") are taken as
  // written: the Standard checks them, but libidn2's stricter IDNA2008 rules would refuse some it
  // accepts (docs/url-conformance.md), and a bad one fails at DNS anyway.
  const bool ascii = std::all_of(domain.begin(), domain.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::string host;
  if (ascii) {
    host = domain;
    std::transform(host.begin(), host.end(), host.begin(), lower);
  }
  if (!ascii) {
    if (domain.find('\0') != std::string::npos) return std::nullopt;
    char* converted = nullptr;
    if (idn2_to_ascii_8z(domain.c_str(), &converted, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) !=
        IDN2_OK)
      return std::nullopt;
    host = converted;
    idn2_free(converted);
    std::transform(host.begin(), host.end(), host.begin(), lower);
  }
  if (host.empty() || std::any_of(host.begin(), host.end(), [](char c) {
        return forbidden_in_domain(static_cast<unsigned char>(c));
      }))
    return std::nullopt;
  if (ends_in_a_number(host)) return ipv4(host);
  // Trailing dots go, unless nothing would be left ("." stays) or what is left would read as an
  // IPv4 address ("4.." is a name; "4" would be 0.0.0.4).
  const std::size_t kept = host.find_last_not_of('.');
  if (kept != std::string::npos && kept + 1 < host.size() &&
      !ends_in_a_number(host.substr(0, kept + 1)))
    host.resize(kept + 1);
  return host;
}

// ---- the URL record and its parser -------------------------------------------------------

// What the crawler keeps of a URL: no userinfo (never sent, never stored), no fragment.
struct Record {
  std::string scheme;                // "http" or "https"
  std::string host;                  // serialised
  std::string port;                  // "" = the scheme's default
  std::vector<std::string> path;     // segments, percent-encoded
  std::optional<std::string> query;  // percent-encoded, without "?"
};

bool is_default_port(const std::string& scheme, const std::string& port) {
  return (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
}

// Path state: appends the segments of `in` (up to "?" or "#") to `path`; returns where it stopped.
std::size_t parse_path(std::string_view in, std::size_t p, std::vector<std::string>& path) {
  std::string buffer;
  // "." and "..", also written with %2e (either case).
  auto dot_at = [](const std::string& s, std::size_t i) {
    if (i < s.size() && s[i] == '.') return std::size_t{1};
    if (i + 2 < s.size() && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] == 'e' || s[i + 2] == 'E'))
      return std::size_t{3};
    return std::size_t{0};
  };
  auto is_dot = [&](const std::string& s) {
    const std::size_t n = dot_at(s, 0);
    return n > 0 && n == s.size();
  };
  auto is_dot_dot = [&](const std::string& s) {
    const std::size_t n = dot_at(s, 0);
    if (n == 0) return false;
    const std::size_t m = dot_at(s, n);
    return m > 0 && n + m == s.size();
  };
  while (true) {
    const bool end = p >= in.size() || in[p] == '?' || in[p] == '#';
    if (end || is_slash(in[p])) {
      if (is_dot_dot(buffer)) {
        if (!path.empty()) path.pop_back();
        if (end) path.emplace_back();
      } else if (is_dot(buffer)) {
        if (end) path.emplace_back();
      } else {
        path.push_back(buffer);
      }
      buffer.clear();
      if (end) return p;
    } else {
      const auto c = static_cast<unsigned char>(in[p]);
      if (in_path_set(c))
        append_escape(buffer, c);
      else
        buffer += in[p];
    }
    ++p;
  }
}

// After "?": the query, up to "#"; in the document's encoding when it gives an encoder and the
// query holds more than ASCII.
std::string parse_query(std::string_view in, std::size_t p, const QueryEncoder* encoder) {
  std::size_t end = in.find('#', p);
  if (end == std::string_view::npos) end = in.size();
  std::string_view text = in.substr(p, end - p);
  std::string encoded;
  if (encoder != nullptr && *encoder &&
      std::any_of(text.begin(), text.end(), [](char c) { return (c & 0x80) != 0; })) {
    encoded = (*encoder)(text);
    text = encoded;
  }
  std::string query;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (in_query_set(c))
      append_escape(query, c);
    else
      query += ch;
  }
  return query;
}

// From the authority (after the slashes) to the end: host, port, path, query.
std::optional<Reject> parse_authority_and_rest(std::string_view in, std::size_t p, Record& url,
                                               const QueryEncoder* encoder) {
  std::size_t end = p;
  while (end < in.size() && !is_slash(in[end]) && in[end] != '?' && in[end] != '#') ++end;
  std::string_view authority = in.substr(p, end - p);
  // Userinfo ends at the last "@"; the crawler keeps none of it.
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
    if (authority.empty()) return Reject::malformed;
  }
  // The port starts at the first ":" outside brackets.
  std::size_t colon = std::string_view::npos;
  bool bracket = false;
  for (std::size_t i = 0; i < authority.size(); ++i) {
    if (authority[i] == '[')
      bracket = true;
    else if (authority[i] == ']')
      bracket = false;
    else if (authority[i] == ':' && !bracket) {
      colon = i;
      break;
    }
  }
  auto host = parse_host(authority.substr(0, colon));
  if (!host) return Reject::malformed;
  url.host = std::move(*host);
  url.port.clear();
  if (colon != std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(), is_digit)) return Reject::malformed;
    while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
    if (port.size() > 5 || (!port.empty() && std::stoul(std::string(port)) > 65535))
      return Reject::malformed;
    url.port = std::string(port);
    if (is_default_port(url.scheme, url.port)) url.port.clear();
  }
  url.path.clear();
  url.query.reset();
  p = end;
  if (p < in.size() && is_slash(in[p])) ++p;  // path start: the first slash is the path's own
  p = parse_path(in, p, url.path);
  if (p < in.size() && in[p] == '?') url.query = parse_query(in, p + 1, encoder);
  return std::nullopt;
}

// The preprocessing every URL gets: surrounding C0 controls and spaces stripped, tabs and
// newlines dropped anywhere. Any other control character refuses the URL: the Standard would
// percent-encode it, but no site means one, and a NUL would cut the URL short further on.
std::optional<Reject> clean(std::string_view text, std::string& out) {
  auto blank = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  if (text.size() > k_max_length) return Reject::too_long;
  out.clear();
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return Reject::control;
    out += c;
  }
  return std::nullopt;
}

// The scheme of `in` ("HTTP:" -> "http"), with the position after its ":"; "" when `in` has none.
std::string scheme_of(std::string_view in, std::size_t& after) {
  if (in.empty() || !is_alpha(in[0])) return {};
  for (std::size_t i = 1; i < in.size(); ++i) {
    const char c = in[i];
    if (c == ':') {
      std::string scheme(in.substr(0, i));
      std::transform(scheme.begin(), scheme.end(), scheme.begin(), lower);
      after = i + 1;
      return scheme;
    }
    if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) return {};
  }
  return {};
}

// The URL Standard's basic URL parser, for http(s) inputs against an http(s) base (or none).
std::optional<Reject> parse(std::string_view text, const Record* base, Record& url,
                            const QueryEncoder* encoder = nullptr) {
  std::string in;
  if (auto reject = clean(text, in)) return reject;
  if (in.empty() && base == nullptr) return Reject::empty;
  std::size_t p = 0;
  const std::string scheme = scheme_of(in, p);
  if (!scheme.empty()) {
    if (scheme != "http" && scheme != "https") return Reject::not_http;
    url.scheme = scheme;
    // "http:x" on an http base is relative; on another base, or none, an authority follows,
    // whatever number of slashes comes first.
    if (base == nullptr || base->scheme != scheme ||
        (p + 1 < in.size() && is_slash(in[p]) && is_slash(in[p + 1]))) {
      while (p < in.size() && is_slash(in[p])) ++p;
      return parse_authority_and_rest(in, p, url, encoder);
    }
  } else {
    if (base == nullptr) return Reject::malformed;
    url.scheme = base->scheme;
  }
  // Relative to the base.
  if (p < in.size() && is_slash(in[p])) {
    if (p + 1 < in.size() && is_slash(in[p + 1])) {
      while (p < in.size() && is_slash(in[p])) ++p;
      return parse_authority_and_rest(in, p, url, encoder);
    }
    url.host = base->host;
    url.port = base->port;
    url.path.clear();
    p = parse_path(in, p + 1, url.path);
    if (p < in.size() && in[p] == '?') url.query = parse_query(in, p + 1, encoder);
    return std::nullopt;
  }
  url.host = base->host;
  url.port = base->port;
  url.path = base->path;
  url.query = base->query;
  if (p >= in.size() || in[p] == '#') return std::nullopt;  // the document itself
  if (in[p] == '?') {
    url.query = parse_query(in, p + 1, encoder);
    return std::nullopt;
  }
  url.query.reset();
  if (!url.path.empty()) url.path.pop_back();
  p = parse_path(in, p, url.path);
  if (p < in.size() && in[p] == '?') url.query = parse_query(in, p + 1, encoder);
  return std::nullopt;
}

// The normal form of a parsed URL.
Normalized serialize(const Record& url) {
  std::string out = url.scheme + "://" + url.host;
  if (!url.port.empty()) out += ":" + url.port;
  if (url.path.empty()) out += '/';
  for (const std::string& segment : url.path) {
    out += '/';
    tidy_escapes(segment, out);
  }
  if (url.query && !url.query->empty()) {
    out += '?';
    tidy_escapes(*url.query, out);
  }
  if (out.size() > k_max_length) return tl::unexpected(Reject::too_long);
  return out;
}

bool has_dot_segment(std::string_view path) {
  return path.find("/./") != std::string_view::npos ||
         path.find("/../") != std::string_view::npos || path.ends_with("/.") ||
         path.ends_with("/..");
}

// True when `u` is already in the normal form, so it need not be parsed: plain ASCII http(s); a
// lower-case host name, or a dotted IPv4 address in canonical form; no userinfo; no port, or a
// non-default one; a path and query of characters that need no escaping, with no escapes, no dot
// segments, no empty query and no fragment. Most URLs in seed lists and on the web qualify; the
// rest go through the parser, which gives the same answer for these.
bool already_normal(std::string_view u) {
  std::size_t pos;
  int default_port;
  if (u.starts_with("http://"))
    pos = 7, default_port = 80;
  else if (u.starts_with("https://"))
    pos = 8, default_port = 443;
  else
    return false;
  // Host.
  const std::size_t host_start = pos;
  while (pos < u.size() &&
         ((u[pos] >= 'a' && u[pos] <= 'z') || is_digit(u[pos]) || u[pos] == '.' || u[pos] == '-'))
    ++pos;
  const std::string_view host = u.substr(host_start, pos - host_start);
  if (host.empty() || host.front() == '.' || host.back() == '.' ||
      host.find("..") != std::string_view::npos || host.find("xn--") != std::string_view::npos)
    return false;
  // A host whose last label is a number is an IPv4 address to a URL parser: only the canonical
  // dotted quad is already normal. One that merely starts with a digit is left to the parser.
  const std::string_view last =
      host.substr(host.rfind('.') == std::string_view::npos ? 0 : host.rfind('.') + 1);
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
  // Path, then query: characters the parser leaves as they are, and no "%".
  if (pos >= u.size() || u[pos] != '/') return false;
  const std::size_t path_start = pos;
  bool in_query = false;
  for (; pos < u.size(); ++pos) {
    const char c = u[pos];
    const auto b = static_cast<unsigned char>(c);
    if (c == '?' && !in_query) {
      in_query = true;
      if (pos + 1 == u.size()) return false;  // an empty query is dropped
      if (has_dot_segment(u.substr(path_start, pos - path_start))) return false;
      continue;
    }
    if (c == '%' || c == '\\' || c == '#') return false;
    if (in_query ? in_query_set(b) : in_path_set(b)) return false;
  }
  if (!in_query && has_dot_segment(u.substr(path_start))) return false;
  return u.size() <= k_max_length;
}

}  // namespace

std::string normalize_escapes(std::string_view part) {
  std::string encoded;
  bool query = false;
  for (char c : part) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '?' && !query) {
      query = true;
      encoded += c;
    } else if (query ? in_query_set(b) : in_path_set(b)) {
      append_escape(encoded, b);
    } else {
      encoded += c;
    }
  }
  std::string out;
  tidy_escapes(encoded, out);
  return out;
}

bool is_normal(std::string_view text) {
  return already_normal(text);
}

Normalized normalize(std::string_view absolute) {
  if (already_normal(absolute)) return std::string(absolute);
  Record url;
  if (auto reject = parse(absolute, nullptr, url)) return tl::unexpected(*reject);
  return serialize(url);
}

bool has_userinfo(std::string_view absolute) {
  std::string in;
  if (clean(absolute, in)) return false;
  std::size_t p = 0;
  if (scheme_of(in, p).empty()) return false;
  while (p < in.size() && is_slash(in[p])) ++p;
  std::size_t end = p;
  while (end < in.size() && !is_slash(in[end]) && in[end] != '?' && in[end] != '#') ++end;
  return in.substr(p, end - p).find('@') != std::string::npos;
}

struct Resolver::Impl {
  Record record;
  Normalized base;
  QueryEncoder query_encoder;
};

Resolver::Resolver(std::string_view base, QueryEncoder query_encoder)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->query_encoder = std::move(query_encoder);
  if (auto reject = parse(base, nullptr, m_impl->record)) {
    m_impl->base = tl::unexpected(*reject);
    return;
  }
  m_impl->base = serialize(m_impl->record);
}

Resolver::~Resolver() = default;
Resolver::Resolver(Resolver&&) noexcept = default;
Resolver& Resolver::operator=(Resolver&&) noexcept = default;

const Normalized& Resolver::base() const {
  return m_impl->base;
}

Normalized Resolver::resolve(std::string_view reference) const {
  if (!m_impl->base) return m_impl->base;
  Record url;
  if (auto reject = parse(reference, &m_impl->record, url, &m_impl->query_encoder))
    return tl::unexpected(*reject);
  return serialize(url);
}

Normalized resolve(std::string_view base, std::string_view reference) {
  return Resolver(base).resolve(reference);
}

std::string apply(const Rules& rules, std::string_view u) {
  if (rules.empty()) return std::string(u);
  const std::size_t q = u.find('?');
  std::string_view before = u.substr(0, q), query;
  if (q != std::string_view::npos) query = u.substr(q + 1);
  std::string out;
  out.reserve(u.size());
  // Path parameters: ";name=value" (or ";name") within a path segment, dropped when named.
  const std::size_t path = before.find('/', before.find("://") + 3);
  if (rules.strip && path != std::string_view::npos &&
      before.find(';', path) != std::string_view::npos) {
    out.append(before.substr(0, path));
    std::size_t at = path;
    while (at < before.size()) {
      const std::size_t semi = before.find(';', at);
      const std::size_t slash = before.find('/', at + 1);
      if (semi == std::string_view::npos || (slash != std::string_view::npos && slash < semi)) {
        const std::size_t end = slash == std::string_view::npos ? before.size() : slash;
        out.append(before.substr(at, end - at));
        at = end;
        continue;
      }
      out.append(before.substr(at, semi - at));
      std::size_t end = semi + 1;
      while (end < before.size() && before[end] != ';' && before[end] != '/') ++end;
      const std::string_view param = before.substr(semi + 1, end - semi - 1);
      if (!rules.strip(param.substr(0, param.find('='))))
        out.append(before.substr(semi, end - semi));
      at = end;
    }
  } else {
    out.append(before);
  }
  if (query.empty()) return out;
  std::vector<std::string_view> params;
  for (std::size_t at = 0; at <= query.size();) {
    std::size_t end = query.find('&', at);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view param = query.substr(at, end - at);
    if (!param.empty() && !(rules.strip && rules.strip(param.substr(0, param.find('=')))))
      params.push_back(param);
    at = end + 1;
  }
  if (rules.sort_query) std::stable_sort(params.begin(), params.end());
  for (std::size_t i = 0; i < params.size(); ++i) {
    out += i == 0 ? '?' : '&';
    out.append(params[i]);
  }
  return out;
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

std::string_view origin_view(std::string_view normalized) {
  const Parts parts = split(normalized);
  if (parts.scheme.empty()) return {};
  // Everything up to the authority's end: the normal form carries no userinfo before it.
  return normalized.substr(0, static_cast<std::size_t>(parts.authority.data() +
                                                       parts.authority.size() - normalized.data()));
}

}  // namespace crawl::url
