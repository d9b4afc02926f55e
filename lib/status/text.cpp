#include "status/text.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "core/output.hpp"

namespace crawl::status {

void Table::print(std::FILE* out) const {
  crawl::print(out, "{}", render());
}

void Table::add(std::vector<std::string> row) {
  if (m_width.size() < row.size()) m_width.resize(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (!plain_text(row[i])) row[i] = escape_control(row[i]);
    m_width[i] = std::max(m_width[i], row[i].size());
  }
  m_rows.push_back(std::move(row));
}

std::string Table::render() const {
  std::size_t line_width = 0;
  for (std::size_t w : m_width) line_width += w + 2;
  std::string text;
  text.reserve(m_rows.size() * line_width);
  for (const auto& row : m_rows) {
    const std::size_t start = text.size();
    for (std::size_t i = 0; i < row.size(); ++i) {
      text += row[i];
      if (i + 1 < row.size()) text.append(m_width[i] - row[i].size() + 2, ' ');
    }
    while (text.size() > start && text.back() == ' ') text.pop_back();
    text += '\n';
  }
  return text;
}

}  // namespace crawl::status
