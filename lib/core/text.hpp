#pragma once
// Text for a terminal or a log line from values that may be hostile or large.

#include <cstdint>
#include <string>
#include <string_view>

namespace crawl {

// One line of text for a table cell or a log line: shown_text(text, Lines::escape) of
// core/output.hpp (control characters, C1 controls and bytes that are not UTF-8 escaped, newlines
// and tabs too), so a hostile value can neither drive the terminal nor break a layout.
std::string escape_control(const std::string& text);

// The length of the well-formed UTF-8 character at the start of `text` (RFC 3629), or 0: an
// overlong form, a surrogate, past U+10FFFF, a stray or missing continuation byte, no byte.
std::size_t utf8_length(std::string_view text);

// The longest prefix of `text` of at most `max` bytes that does not end inside a UTF-8 character.
std::string_view utf8_prefix(std::string_view text, std::size_t max);

// "950 B", "1.2 MB"; "4.2s", "38s", "3m07s", "2h05m", "3d04h".
std::string human_bytes(double bytes);
// A decimal number of at most 19 digits, nothing else (no sign, no spaces); false otherwise.
bool parse_decimal(std::string_view text, std::uint64_t& out);
std::string human_duration(double seconds);

// A time (ms since the epoch) in UTC, by strftime's `format` ("%Y-%m-%dT%H:%M:%SZ"); with
// `millis`, its milliseconds follow, after `millis` ("." gives ".123"; "" gives "123").
std::string utc_text(std::int64_t unix_ms, const char* format, const char* millis = nullptr);

}  // namespace crawl
