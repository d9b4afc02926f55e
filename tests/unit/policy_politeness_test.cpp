// Retry-After, the retry back-off and which statuses are retried (policy/politeness).

#include <gtest/gtest.h>

#include "policy/politeness.hpp"

namespace crawl::policy {
namespace {

using std::chrono::milliseconds;

TEST(Politeness, RetryAfterAndBackoff) {
  EXPECT_EQ(parse_retry_after("120", 0), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", 0), milliseconds(0));
  // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 s after the epoch.
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480000 - 5000),
            milliseconds(5000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480000 + 5000),
            milliseconds(0));
  EXPECT_FALSE(parse_retry_after("soon", 0));
  EXPECT_FALSE(parse_retry_after("-5", 0));
  EXPECT_EQ(retry_delay(1, milliseconds(500), milliseconds(60000), 0, std::nullopt),
            milliseconds(500));
  EXPECT_EQ(retry_delay(3, milliseconds(500), milliseconds(60000), 0, std::nullopt),
            milliseconds(2000));
  EXPECT_EQ(retry_delay(30, milliseconds(500), milliseconds(60000), 0, std::nullopt),
            milliseconds(60000));
  EXPECT_EQ(retry_delay(1, milliseconds(1000), milliseconds(60000), 0.999, std::nullopt),
            milliseconds(1249));
  EXPECT_EQ(retry_delay(1, milliseconds(500), milliseconds(60000), 0, milliseconds(7000)),
            milliseconds(7000));
  EXPECT_TRUE(retryable_status(0));
  EXPECT_TRUE(retryable_status(429));
  EXPECT_TRUE(retryable_status(503));
  EXPECT_FALSE(retryable_status(404));
  EXPECT_FALSE(retryable_status(200));
}

}  // namespace
}  // namespace crawl::policy
