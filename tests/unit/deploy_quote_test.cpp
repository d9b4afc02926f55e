// Every value that reaches a remote shell goes through deploy/quote: one word, whatever it holds;
// paths under the login's home keep it.

#include <gtest/gtest.h>

#include "deploy/quote.hpp"

namespace crawl::deploy {
namespace {

TEST(ShellQuote, EveryValueIsOneWord) {
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("plain"), "'plain'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("a b;$(rm -rf /)`x`\n"), "'a b;$(rm -rf /)`x`\n'");
  EXPECT_EQ(command({"rm", "-f", "a b"}), "'rm' '-f' 'a b'");
}

TEST(ShellQuote, HomeRelativePathsKeepTheHome) {
  EXPECT_EQ(shell_path("~/crawl dir"), "\"$HOME\"/'crawl dir'");
  EXPECT_EQ(shell_path("~"), "\"$HOME\"");
  EXPECT_EQ(shell_path("/srv/crawl"), "'/srv/crawl'");
  EXPECT_EQ(shell_path("~user/x"), "'~user/x'");  // only the login's own home is expanded
}

}  // namespace
}  // namespace crawl::deploy
