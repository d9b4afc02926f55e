#include "table.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace crawl::ctl {

std::string escape_control(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (byte < 0x20 || byte == 0x7f) out += fmt::format("\\x{:02x}", byte);
    else out += c;
  }
  return out;
}

void Table::print(std::FILE* out) const {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width;
  for (const auto& row : m_rows) {
    auto& escaped = cells.emplace_back();
    for (std::size_t i = 0; i < row.size(); ++i) {
      escaped.push_back(escape_control(row[i]));
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], escaped.back().size());
    }
  }
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    fmt::print(out, "{}\n", line);
  }
}

}  // namespace crawl::ctl
