// Text on its way to a terminal or a log: what a terminal would obey is shown escaped.

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/logging.hpp"
#include "core/output.hpp"
#include "core/text.hpp"

namespace crawl {
namespace {

TEST(Output, WhatATerminalWouldObeyIsShownEscaped) {
  EXPECT_EQ(shown_text("plain text, caf\xc3\xa9 \xe6\x97\xa5\n\tok", Lines::keep),
            "plain text, caf\xc3\xa9 \xe6\x97\xa5\n\tok");
  EXPECT_EQ(shown_text("a\nb\tc\rd", Lines::escape), "a\\nb\\tc\\rd");
  EXPECT_EQ(shown_text("\x1b]0;owned\x07\x7f", Lines::keep), "\\x1b]0;owned\\x07\\x7f");
  // C1 controls, as UTF-8 (U+009B is CSI), and bytes that are not UTF-8.
  EXPECT_EQ(shown_text("\xc2\x9b"
                       "2J \xc2\xa0",
                       Lines::keep),
            "\\u009b2J \xc2\xa0");
  EXPECT_EQ(shown_text("\xff\xc3 \xed\xa0\x80 \xf0\x82\x82\xac \xc0\xaf", Lines::keep),
            "\\xff\\xc3 \\xed\\xa0\\x80 \\xf0\\x82\\x82\\xac \\xc0\\xaf");
  EXPECT_EQ(escape_control("x\x1b[2Jy\n"), "x\\x1b[2Jy\\n");
  EXPECT_TRUE(plain_text("http://example.org/caf%C3%A9 caf\xc3\xa9"));
  EXPECT_FALSE(plain_text("a\rb"));
  EXPECT_FALSE(plain_text("\xc2\x9b"));
}

// The worker's log: a value from outside in a message (a URL, an error) is one line, escaped.
TEST(Output, ALogLineShowsItsMessageEscaped) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("crawl-log-" + std::to_string(getpid()))).string();
  // The file takes stdout and stderr too (a worker's own output goes to its log): kept aside.
  const int out = dup(STDOUT_FILENO), err = dup(STDERR_FILENO);
  const bool opened = setup_file_logging("output-test", false, path, 1 << 20, 1);
  spdlog::info("event=outcome url={}", "http://a.example/\x1b[2J\nfake event=line");
  spdlog::default_logger()->flush();
  setup_logging("output-test", false);
  dup2(out, STDOUT_FILENO);
  dup2(err, STDERR_FILENO);
  close(out);
  close(err);
  ASSERT_TRUE(opened);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove(path);
  const std::string log = text.str();
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
  EXPECT_NE(log.find("url=http://a.example/\\x1b[2J\\nfake event=line\n"), std::string::npos)
      << log;
}

}  // namespace
}  // namespace crawl
