#include <cstdlib>

#include <gtest/gtest.h>

#include "core/file.hpp"

namespace crawl {
namespace {

TEST(ExpandHome, TildeSlashIsTheHomeDirectoryAndNothingElseChanges) {
  const char* old = std::getenv("HOME");
  const std::string saved = old ? old : "";
  setenv("HOME", "/home/op", 1);
  EXPECT_EQ(expand_home("~/.config/crawl/redis.pass"), "/home/op/.config/crawl/redis.pass");
  EXPECT_EQ(expand_home("~"), "/home/op");
  EXPECT_EQ(expand_home("~op/x"), "~op/x");  // another user's home is not guessed
  EXPECT_EQ(expand_home("/etc/crawl/redis.pass"), "/etc/crawl/redis.pass");
  EXPECT_EQ(expand_home("rel/~/x"), "rel/~/x");
  setenv("HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace crawl
