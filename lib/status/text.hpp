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
  explicit Table(std::vector<std::string> header) { m_rows.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
  void print(std::FILE* out) const;
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> m_rows;
};

}  // namespace crawl::status
