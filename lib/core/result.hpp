#pragma once
// Expected failures (a bad config line, a dead host, a 404) are values, not exceptions.

#include <string>
#include <utility>

#include <fmt/core.h>
#include <tl/expected.hpp>

namespace crawl {

// What kind of failure, for a caller that acts on it (never by matching the message):
// not_found: the thing named does not exist; invalid: it exists but cannot be used as asked;
// connection: a server could not be reached, or the connection to it was lost (a new one may
// do); remote: the server answered, with an error.
enum class ErrorKind { other, not_found, invalid, connection, remote };

// A failure the caller can report: `message` is complete and names the place (file:line,
// host, URL) so it can be printed as is.
struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::other;
};

template <class T>
using Result = tl::expected<T, Error>;

// `return fail("{}:{}: bad port", file, line);` from any function returning Result<T>.
template <class... Args>
tl::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
  return tl::unexpected<Error>(Error{fmt::format(format, std::forward<Args>(args)...)});
}

template <class... Args>
tl::unexpected<Error> fail(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  return tl::unexpected<Error>(Error{fmt::format(format, std::forward<Args>(args)...), kind});
}

inline tl::unexpected<Error> fail(Error error) {
  return tl::unexpected<Error>(std::move(error));
}

}  // namespace crawl
