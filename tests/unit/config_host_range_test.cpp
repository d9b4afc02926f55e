#include <gtest/gtest.h>

#include "config/host_range.hpp"

namespace crawl::config {
namespace {

std::vector<std::string> expand(std::string_view pattern, std::size_t cap = 1000) {
  auto r = expand_range(pattern, cap);
  EXPECT_TRUE(r.has_value()) << pattern << ": " << r.error().message;
  return r ? *r : std::vector<std::string>{};
}

std::string error_of(std::string_view pattern, std::size_t cap = 1000) {
  auto r = expand_range(pattern, cap);
  EXPECT_FALSE(r.has_value()) << pattern;
  return r ? "" : r.error().message;
}

TEST(HostRange, PlainNameIsItself) {
  EXPECT_EQ(expand("crawl01.dc1"), std::vector<std::string>{"crawl01.dc1"});
  EXPECT_FALSE(has_range("crawl01.dc1"));
  EXPECT_TRUE(has_range("crawl[01-02]"));
}

TEST(HostRange, ZeroPaddingFollowsTheStartBound) {
  EXPECT_EQ(expand("crawl[01-03].dc1"),
            (std::vector<std::string>{"crawl01.dc1", "crawl02.dc1", "crawl03.dc1"}));
  EXPECT_EQ(expand("n[8-11]"), (std::vector<std::string>{"n8", "n9", "n10", "n11"}));
  EXPECT_EQ(expand("n[008-010]"), (std::vector<std::string>{"n008", "n009", "n010"}));
  EXPECT_EQ(expand("n[98-100]"), (std::vector<std::string>{"n98", "n99", "n100"}));
}

TEST(HostRange, ListsMixSingleValuesAndRanges) {
  EXPECT_EQ(expand("crawl[01-03,07]"),
            (std::vector<std::string>{"crawl01", "crawl02", "crawl03", "crawl07"}));
  EXPECT_EQ(expand("r[a-c]"), (std::vector<std::string>{"ra", "rb", "rc"}));
  EXPECT_EQ(expand("r[x,1]"), (std::vector<std::string>{"rx", "r1"}));
}

TEST(HostRange, SeveralBracketsMultiplyLeftmostSlowest) {
  EXPECT_EQ(expand("[a-b]-[1-2]"), (std::vector<std::string>{"a-1", "a-2", "b-1", "b-2"}));
}

TEST(HostRange, RejectsMalformedAndEmptyRanges) {
  EXPECT_NE(error_of("n[5-1]").find("empty"), std::string::npos);
  EXPECT_NE(error_of("n[c-a]").find("empty"), std::string::npos);
  EXPECT_NE(error_of("n[]").find("empty item"), std::string::npos);
  EXPECT_NE(error_of("n[1-2").find("unclosed"), std::string::npos);
  EXPECT_NE(error_of("n1-2]").find("without"), std::string::npos);
  EXPECT_NE(error_of("n[1-]").find("bad item"), std::string::npos);
  EXPECT_NE(error_of("n[1,,2]").find("empty item"), std::string::npos);
  EXPECT_NE(error_of("n[aa-b]").find("bad item"), std::string::npos);
  EXPECT_NE(error_of("n[Y-b]").find("one case"), std::string::npos);  // would span punctuation
}

TEST(HostRange, StopsAtTheCapBeforeExpanding) {
  EXPECT_EQ(expand("n[1-100]", 100).size(), 100u);
  EXPECT_NE(error_of("n[1-101]", 100).find("more than 100"), std::string::npos);
  EXPECT_NE(error_of("n[1-20]-[1-20]", 100).find("more than 100"), std::string::npos);
  // A billion-name range is refused without allocating it.
  EXPECT_NE(error_of("n[1-999999999]", 100000).find("more than"), std::string::npos);
}

}  // namespace
}  // namespace crawl::config
