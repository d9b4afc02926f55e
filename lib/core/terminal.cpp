#include "core/terminal.hpp"

#include <cstdio>

#include <termios.h>

namespace crawl {

std::optional<std::string> read_secret(const std::string& prompt) {
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
  char buffer[1024] = {};
  const bool got = std::fgets(buffer, sizeof buffer, tty) != nullptr;
  if (can_hide) tcsetattr(fd, TCSAFLUSH, &old);
  std::fprintf(tty, "\n");
  std::fclose(tty);
  if (!got) return std::nullopt;
  std::string line = buffer;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace crawl
