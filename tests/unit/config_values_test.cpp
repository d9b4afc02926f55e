#include <gtest/gtest.h>

#include "config/values.hpp"

namespace crawl::config {
namespace {

using std::chrono::milliseconds;

TEST(Duration, UnitsAndBareSeconds) {
  EXPECT_EQ(*parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(*parse_duration("30s"), milliseconds(30'000));
  EXPECT_EQ(*parse_duration("2m"), milliseconds(120'000));
  EXPECT_EQ(*parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(*parse_duration("1.5"), milliseconds(1'500));
  EXPECT_EQ(*parse_duration("10"), milliseconds(10'000));
}

TEST(Duration, RejectsJunk) {
  EXPECT_FALSE(parse_duration("fast"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("3 days"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_NE(parse_duration("5y").error().message.find("unknown unit 'y'"), std::string::npos);
}

TEST(Size, BinaryAndDecimalUnits) {
  EXPECT_EQ(*parse_size("512"), 512u);
  EXPECT_EQ(*parse_size("64KiB"), 65536u);
  EXPECT_EQ(*parse_size("4k"), 4096u);
  EXPECT_EQ(*parse_size("10MiB"), 10u * 1048576u);
  EXPECT_EQ(*parse_size("10MB"), 10'000'000u);
  EXPECT_EQ(*parse_size("1.5GiB"), 1610612736u);
}

TEST(Size, RejectsJunk) {
  EXPECT_FALSE(parse_size("big"));
  EXPECT_FALSE(parse_size("-5"));
  EXPECT_FALSE(parse_size("5 parsecs"));
  EXPECT_FALSE(parse_size("1e30"));
}

}  // namespace
}  // namespace crawl::config
