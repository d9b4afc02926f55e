#include "core/json_writer.hpp"

#include <cmath>
#include <iterator>
#include <string_view>

#include <fmt/format.h>

#include "core/text.hpp"

namespace crawl {

namespace {

// How many bytes after a lead byte at the start of `text` continue its character rightly, up to
// where it stops short (0 when the first byte starts no character): RFC 3629's ranges.
std::size_t valid_continuation(std::string_view text) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  unsigned char low = 0x80, high = 0xBF;  // the second byte's range
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) low = 0xA0;
    if (c == 0xED) high = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  std::size_t k = 1;
  for (; k < n && k < text.size(); ++k) {
    const unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xBF;
    if (b(k) < lo || b(k) > hi) break;
  }
  return k - 1;
}

}  // namespace

void JsonWriter::newline(std::size_t depth) {
  if (m_indent < 0) return;
  m_out += '\n';
  m_out.append(depth * static_cast<std::size_t>(m_indent), ' ');
}

void JsonWriter::element() {
  if (m_sink && m_out.size() >= (64u << 10)) m_sink(m_out);
  if (m_after_key) {
    m_after_key = false;
    return;
  }
  if (m_empty.empty()) return;  // the document itself
  if (!m_empty.back()) m_out += ',';
  m_empty.back() = false;
  newline(m_empty.size());
}

JsonWriter& JsonWriter::open(char bracket) {
  element();
  m_out += bracket;
  m_empty.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  const bool empty = m_empty.back();
  m_empty.pop_back();
  if (!empty) newline(m_empty.size());
  m_out += bracket;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  element();
  append_string(m_out, name);
  m_out += m_indent < 0 ? ":" : ": ";
  m_after_key = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  element();
  append_string(m_out, text);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  element();
  m_out += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t n) {
  element();
  fmt::format_to(std::back_inserter(m_out), "{}", n);
  return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t n) {
  element();
  fmt::format_to(std::back_inserter(m_out), "{}", n);
  return *this;
}

JsonWriter& JsonWriter::value(double x) {
  if (!std::isfinite(x)) return null();
  element();
  // As nlohmann writes it ("12.5", "1.0", "1e+15"), by nlohmann: its form is its own (Grisu2,
  // exponents from 1e15), and a double is rare enough here to afford the call.
  m_out += nlohmann::json(x).dump();
  return *this;
}

JsonWriter& JsonWriter::null() {
  element();
  m_out += "null";
  return *this;
}

JsonWriter& JsonWriter::value(const nlohmann::ordered_json& json) {
  element();
  const std::string text = json.dump(m_indent, ' ', true, nlohmann::json::error_handler_t::replace);
  if (m_indent < 0 || m_empty.empty()) {
    m_out += text;
    return *this;
  }
  // Its lines indented as deep as it sits.
  const std::string indent(m_empty.size() * static_cast<std::size_t>(m_indent), ' ');
  for (char c : text) {
    m_out += c;
    if (c == '\n') m_out += indent;
  }
  return *this;
}

void JsonWriter::append_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
      }
      ++i;
      continue;
    }
    const std::size_t n = utf8_length(text.substr(i));
    if (n == 0) {
      // As nlohmann replaces it: one U+FFFD for a byte that starts no character, or for the
      // start of one and as much of the rest as is right before it stops (cut, or a wrong byte,
      // which is then read again).
      out += "\\ufffd";
      i += 1 + valid_continuation(text.substr(i));
      continue;
    }
    std::uint32_t cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < n; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    if (cp < 0x10000) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", cp);
    } else {
      cp -= 0x10000;
      fmt::format_to(std::back_inserter(out), "\\u{:04x}\\u{:04x}", 0xD800 + (cp >> 10),
                     0xDC00 + (cp & 0x3FF));
    }
    i += n;
  }
  out += '"';
}

}  // namespace crawl
