#pragma once
// Text tables for the terminal.

#include <cstdio>
#include <string>
#include <vector>

#include "core/text.hpp"

namespace crawl::status {

// Prints rows as left-aligned columns separated by two spaces. Control characters in cells are
// shown escaped (\n, \t, \xNN) so a hostile value cannot break the layout.
class Table {
 public:
  explicit Table(const std::vector<std::string>& header) { add(header); }
  // Cells are escaped here, once (most are plain and kept as they are), and kept end to end in
  // one string: a table of 10,000 workers is one buffer, not 80,000 strings.
  void add(const std::vector<std::string>& row);
  void print(std::FILE* out) const;
  std::string render() const;
  // The same, appended to `out`.
  void render_to(std::string& out) const;

 private:
  std::string m_text;                // every cell, end to end
  std::vector<std::size_t> m_ends;   // where each cell ends in m_text
  std::vector<std::size_t> m_rows;   // where each row's cells start in m_ends
  std::vector<std::size_t> m_width;  // of each column
};

}  // namespace crawl::status
