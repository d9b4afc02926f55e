#include "status/text.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "core/output.hpp"

namespace crawl::status {

void Table::print(std::FILE* out) const {
  crawl::print(out, "{}", render());
}

void Table::add(const std::vector<std::string>& row) {
  if (m_width.size() < row.size()) m_width.resize(row.size());
  m_rows.push_back(m_ends.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    const std::size_t start = m_text.size();
    if (plain_text(row[i]))
      m_text += row[i];
    else
      m_text += escape_control(row[i]);
    m_ends.push_back(m_text.size());
    m_width[i] = std::max(m_width[i], m_text.size() - start);
  }
}

std::string Table::render() const {
  std::string text;
  render_to(text);
  return text;
}

void Table::render_to(std::string& text) const {
  std::size_t line_width = 0;
  for (std::size_t w : m_width) line_width += w + 2;
  text.reserve(text.size() + m_rows.size() * line_width);
  for (std::size_t r = 0; r < m_rows.size(); ++r) {
    const std::size_t first = m_rows[r],
                      last = r + 1 < m_rows.size() ? m_rows[r + 1] : m_ends.size();
    const std::size_t line = text.size();
    for (std::size_t c = first; c < last; ++c) {
      const std::size_t start = c == 0 ? 0 : m_ends[c - 1], size = m_ends[c] - start;
      text.append(m_text, start, size);
      if (c + 1 < last) text.append(m_width[c - first] - size + 2, ' ');
    }
    while (text.size() > line && text.back() == ' ') text.pop_back();
    text += '\n';
  }
}

}  // namespace crawl::status
