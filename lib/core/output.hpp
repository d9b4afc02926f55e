#pragma once
// The one place where the programs' text reaches a terminal (or whatever stdout and stderr are).
// Text from outside (a Redis value, a remote host's log or stderr, a page's title, a host name a
// Sentinel gave) may hold bytes that drive a terminal: ESC sequences that retitle it, move the
// cursor or rewrite what was shown, a carriage return that hides a line. Everything the programs
// print goes through print() here, so none of those bytes arrives as it is (shown_text() says
// how each is shown). The programs' own cursor control, a line drawn again in place or a screen
// cleared, goes through write_control(), which is never given outside text.
// scripts/check-layers.sh checks that nothing else in the programs writes to stdout or stderr.

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace crawl {

// How text is shown: newlines kept (a page of lines) or escaped too (one cell, one log line).
enum class Lines { keep, escape };

// `text` as it may be shown: printable ASCII and UTF-8 as they are; '\n' kept with
// Lines::keep and '\t' kept with it; every other control byte as \r, \t, \n or \xNN; a C1
// control (U+0080 to U+009F, which terminals also obey) as \u0080 to \u009f; a byte that is not
// part of valid UTF-8 as \xNN.
std::string shown_text(std::string_view text, Lines lines);

// Writes shown_text(text, Lines::keep) to `stream`.
void write_shown(std::FILE* stream, std::string_view text);

// True when shown_text(text, Lines::escape) is `text` itself (fast for plain ASCII).
bool plain_text(std::string_view text);

// A JSON document as text to print: ASCII only (every other character \u-escaped) and any byte
// that is not UTF-8 replaced, so it stays valid JSON and write_shown leaves it as it is.
template <class Json>
std::string json_text(const Json& json, int indent = 2) {
  return json.dump(indent, ' ', true, Json::error_handler_t::replace);
}

// The program's own terminal control ("\r\033[K", "\033[H\033[2J"), written as it is.
void write_control(std::FILE* stream, std::string_view sequence);

// fmt::print, through write_shown.
template <class... Args>
void print(std::FILE* stream, fmt::format_string<Args...> format, Args&&... args) {
  write_shown(stream, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void print(fmt::format_string<Args...> format, Args&&... args) {
  write_shown(stdout, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace crawl
