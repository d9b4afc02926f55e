#include <gtest/gtest.h>

#include "core/suggest.hpp"

namespace crawl {
namespace {

TEST(EditDistance, CountsEditsAndAdjacentSwaps) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);  // one swap
  EXPECT_EQ(edit_distance("worker", "workers"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(Nearest, SuggestsOnlyPlausibleTypos) {
  const std::vector<std::string_view> keys{"port", "user", "workers", "remote_dir"};
  EXPECT_EQ(nearest("prot", keys), "port");
  EXPECT_EQ(nearest("worker", keys), "workers");
  EXPECT_EQ(nearest("remotedir", keys), "remote_dir");
  EXPECT_EQ(nearest("colour", keys), "");
  EXPECT_EQ(did_you_mean("usr", keys), " (did you mean 'user'?)");
  EXPECT_EQ(did_you_mean("zzzz", keys), "");
}

}  // namespace
}  // namespace crawl
