#include "status/text.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "core/output.hpp"

namespace crawl::status {

void Table::print(std::FILE* out) const {
  crawl::print(out, "{}", render());
}

std::string Table::render() const {
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
  std::string text;
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line + "\n";
  }
  return text;
}

}  // namespace crawl::status
