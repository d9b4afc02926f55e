#pragma once
// The one way a remote command is built: every value that reaches a remote shell passes through
// here, so a hostile value in hosts.yaml (spaces, quotes, ';', '$(...)', newlines) stays one word.

#include <initializer_list>
#include <string>
#include <string_view>

namespace crawl::deploy {

// POSIX sh single-quoting: `it's` -> 'it'\''s'. The result is exactly one word whatever the input.
std::string shell_quote(std::string_view word);

// A remote path as a shell word: quoted, except that a leading "~/" becomes "$HOME"/ so the
// login's home directory still applies. A relative path stays relative (to the home directory,
// where a session starts).
std::string shell_path(std::string_view path);

// A command line from words, each quoted: command({"rm", "-f", path}).
std::string command(std::initializer_list<std::string_view> words);

}  // namespace crawl::deploy
