#include <gtest/gtest.h>

#include "core/redact.hpp"

namespace crawl {
namespace {

TEST(RedactPassword, HidesThePasswordOnly) {
  EXPECT_EQ(redact_password("redis://:pw@10.0.0.1:6379/0"), "redis://:***@10.0.0.1:6379/0");
  EXPECT_EQ(redact_password("redis://user:pw@h/0"), "redis://user:***@h/0");
  EXPECT_EQ(redact_password("redis://h:6379/0"), "redis://h:6379/0");
  EXPECT_EQ(redact_password("redis://user@h:6379"), "redis://user@h:6379");
  EXPECT_EQ(redact_password(""), "");
  EXPECT_EQ(redact_password("not a url"), "not a url");
}

TEST(RedactPassword, PasswordsWithSlashesAndAts) {
  // Base64 passwords hold '/', '+' and '='; people write them unencoded.
  EXPECT_EQ(redact_password("redis://:pa/ss+w=rd@h:6379/0"), "redis://:***@h:6379/0");
  EXPECT_EQ(redact_password("redis://u:p@ss@h/0"), "redis://u:***@h/0");
  EXPECT_EQ(redact_password("redis://:a?b#c@h/0"), "redis://:***@h/0");
}

}  // namespace
}  // namespace crawl
