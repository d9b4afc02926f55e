#include "core/output.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace crawl {

std::string shown_text(std::string_view text, Lines lines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
      ++i;
    } else if ((c == '\n' || c == '\t') && lines == Lines::keep) {
      out += c;
      ++i;
    } else if (byte < 0x80) {
      out += c == '\n'   ? "\\n"
             : c == '\t' ? "\\t"
             : c == '\r' ? "\\r"
                         : fmt::format("\\x{:02x}", byte);
      ++i;
    } else if (const std::size_t n = utf8_length(text.substr(i)); n == 0) {
      out += fmt::format("\\x{:02x}", byte);
      ++i;
    } else if (n == 2 && byte == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));  // C1
      i += 2;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool plain_text(std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) return shown_text(text, Lines::escape) == text;
  }
  return true;
}

void write_shown(std::FILE* stream, std::string_view text) {
  // Most text is printable ASCII, lines and tabs: written as it is, without a copy.
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte >= 0x20 && byte < 0x7f) || c == '\n' || c == '\t';
  });
  const std::string shown = plain ? std::string() : shown_text(text, Lines::keep);
  const std::string_view out = plain ? text : std::string_view(shown);
  std::fwrite(out.data(), 1, out.size(), stream);
  if (stream == stderr) std::fflush(stream);
}

void write_control(std::FILE* stream, std::string_view sequence) {
  std::fwrite(sequence.data(), 1, sequence.size(), stream);
  std::fflush(stream);
}

}  // namespace crawl
