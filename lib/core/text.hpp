#pragma once
// Text for a terminal or a log line from values that may be hostile or large.

#include <string>
#include <string_view>

namespace crawl {

// Control characters shown escaped (\n, \t, \r, \xNN), so a hostile value cannot drive the
// terminal or break a layout.
std::string escape_control(const std::string& text);

// The longest prefix of `text` of at most `max` bytes that does not end inside a UTF-8 character.
std::string_view utf8_prefix(std::string_view text, std::size_t max);

// "950 B", "1.2 MB"; "4.2s", "38s", "3m07s", "2h05m", "3d04h".
std::string human_bytes(double bytes);
std::string human_duration(double seconds);

}  // namespace crawl
