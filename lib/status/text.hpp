#pragma once

#include <cstdio>
#include <string>
#include <vector>

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

std::string escape_control(const std::string& text);

// "950 B", "1.2 MB"; "4.2s", "38s", "3m07s", "2h05m", "3d04h".
std::string human_bytes(double bytes);
std::string human_duration(double seconds);

}  // namespace crawl::status
