#include "redis_server.hpp"

#include <memory>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

namespace crawl::testing {
namespace {

using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;
using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

Context connect(const RedisServer& redis) {
  Context c(redisConnect(redis.host().c_str(), redis.port()), &redisFree);
  EXPECT_TRUE(c && c->err == 0) << (c ? c->errstr : "no context");
  return c;
}

Reply command(redisContext* c, const char* format, const char* a = nullptr,
              const char* b = nullptr) {
  return Reply(static_cast<redisReply*>(redisCommand(c, format, a, b)), &freeReplyObject);
}

TEST(RedisServer, RoundTripsAValue) {
  RedisServer redis;
  EXPECT_GT(redis.port(), 0);
  auto c = connect(redis);
  // A binary value with a NUL inside: %b takes a pointer and a length.
  Reply set(static_cast<redisReply*>(
                redisCommand(c.get(), "SET %s %b", "key", "va\0lue", std::size_t{6})),
            &freeReplyObject);
  ASSERT_TRUE(set);
  EXPECT_STREQ(set->str, "OK");
  auto get = command(c.get(), "GET %s", "key");
  ASSERT_TRUE(get);
  ASSERT_EQ(get->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(get->str, get->len), std::string("va\0lue", 6));
}

TEST(RedisServer, ServesItsUnixSocketToo) {
  RedisServer redis;
  Context c(redisConnectUnix(redis.unix_socket().c_str()), &redisFree);
  ASSERT_TRUE(c && c->err == 0);
  auto pong = command(c.get(), "PING");
  ASSERT_TRUE(pong);
  EXPECT_STREQ(pong->str, "PONG");
}

TEST(RedisServer, PasswordIsRequired) {
  RedisServer redis({.append_only = false, .password = "s3cret; with spaces", .extra_config = ""});
  auto c = connect(redis);
  auto denied = command(c.get(), "GET %s", "x");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->type, REDIS_REPLY_ERROR);
  auto auth = command(c.get(), "AUTH %s", "s3cret; with spaces");
  ASSERT_TRUE(auth);
  EXPECT_STREQ(auth->str, "OK");
}

TEST(RedisServer, AppendOnlyDataSurvivesRestartAndCrash) {
  RedisServer redis({.append_only = true, .password = "", .extra_config = ""});
  const int port = redis.port();
  {
    auto c = connect(redis);
    command(c.get(), "RPUSH %s %s", "frontier", "http://a/");
    command(c.get(), "RPUSH %s %s", "frontier", "http://b/");
  }
  redis.restart();
  EXPECT_EQ(redis.port(), port);
  {
    auto c = connect(redis);
    auto len = command(c.get(), "LLEN %s", "frontier");
    ASSERT_TRUE(len);
    EXPECT_EQ(len->integer, 2);
    // Once Redis has replied, the write is in the AOF file (in the kernel's page cache), which
    // survives the server being killed; only a machine crash could lose the last second.
    command(c.get(), "RPUSH %s %s", "frontier", "http://c/");
  }
  redis.kill_hard();
  EXPECT_FALSE(redis.running());
  redis.start();
  auto c = connect(redis);
  auto len = command(c.get(), "LLEN %s", "frontier");
  ASSERT_TRUE(len);
  EXPECT_EQ(len->integer, 3);
}

TEST(RedisServer, TeardownStopsOnlyItsServer) {
  pid_t first = 0;
  RedisServer other;
  {
    RedisServer redis;
    first = redis.pid();
    EXPECT_EQ(kill(first, 0), 0);
  }
  EXPECT_NE(kill(first, 0), 0);
  EXPECT_EQ(kill(other.pid(), 0), 0);
  auto c = connect(other);
  auto pong = command(c.get(), "PING");
  ASSERT_TRUE(pong);
  EXPECT_STREQ(pong->str, "PONG");
}

}  // namespace
}  // namespace crawl::testing
