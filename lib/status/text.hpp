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
  explicit Table(std::vector<std::string> header) { add(std::move(header)); }
  // Cells are escaped here, once (most are plain and kept as they are).
  void add(std::vector<std::string> row);
  void print(std::FILE* out) const;
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> m_rows;
  std::vector<std::size_t> m_width;
};

}  // namespace crawl::status
