#pragma once
// Reading replies, for the queue's own files: numbers, hashes and lists as Redis sends them.

#include <charconv>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "queue/redis.hpp"

namespace crawl::queue {

inline long long to_number(const std::string& s) {
  long long n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

inline std::vector<std::string> strings_of(const Reply& r) {
  std::vector<std::string> out;
  for (const Reply& e : r.elements) out.push_back(e.str);
  return out;
}

// HGETALL's flat list as a map.
inline std::map<std::string, std::string> hash_of(const Reply& r) {
  std::map<std::string, std::string> f;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
    f[r.elements[i].str] = r.elements[i + 1].str;
  return f;
}

// TIME's reply in ms, 0 if it is not one.
inline std::int64_t server_ms(const Reply& time) {
  if (time.elements.size() != 2) return 0;
  return to_number(time.elements[0].str) * 1000 + to_number(time.elements[1].str) / 1000;
}

}  // namespace crawl::queue
