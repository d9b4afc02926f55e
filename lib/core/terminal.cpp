#include "core/terminal.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>

#include <termios.h>
#include <unistd.h>

namespace crawl {

std::optional<Secret> read_secret(const std::string& prompt) {
  FILE* tty = std::fopen("/dev/tty", "r+");
  if (!tty) return std::nullopt;
  std::fprintf(tty, "%s", prompt.c_str());
  std::fflush(tty);
  termios old{};
  const int fd = fileno(tty);
  const bool can_hide = tcgetattr(fd, &old) == 0;
  if (can_hide) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  // Read unbuffered, a byte at a time, into a buffer wiped after: no copy of the line is left
  // in stdio's buffer or on the stack.
  char buffer[1024];
  std::size_t n = 0;
  bool got = false;
  for (char c; n < sizeof buffer && ::read(fd, &c, 1) == 1;) {
    got = true;  // an empty line is an answer too (an empty passphrase)
    if (c == '\n') break;
    buffer[n++] = c;
  }
  if (can_hide) tcsetattr(fd, TCSAFLUSH, &old);
  std::fprintf(tty, "\n");
  std::fclose(tty);
  while (n > 0 && buffer[n - 1] == '\r') --n;
  std::optional<Secret> line;
  if (got) line = Secret::copy_of(std::string_view(buffer, n));
  ::explicit_bzero(buffer, sizeof buffer);
  return line;
}

}  // namespace crawl
