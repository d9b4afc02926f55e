#include <gtest/gtest.h>

#include "policy/politeness.hpp"
#include "policy/robots.hpp"
#include "policy/scope.hpp"
#include "url/url.hpp"

namespace crawl::policy {
namespace {

using std::chrono::milliseconds;

TEST(RobotsMatch, WildcardsAndAnchors) {
  EXPECT_TRUE(robots_match("/", "/anything"));
  EXPECT_TRUE(robots_match("/fish", "/fish.html"));
  EXPECT_TRUE(robots_match("/fish", "/fish/salmon.html"));
  EXPECT_FALSE(robots_match("/fish", "/Fish.asp"));  // case-sensitive
  EXPECT_FALSE(robots_match("/fish", "/catfish"));
  EXPECT_TRUE(robots_match("/*.php", "/folder/filename.php?parameters"));
  EXPECT_TRUE(robots_match("/*.php$", "/filename.php"));
  EXPECT_FALSE(robots_match("/*.php$", "/filename.php?parameters"));
  EXPECT_FALSE(robots_match("/*.php$", "/filename.php5"));
  EXPECT_TRUE(robots_match("/fish*.php", "/fishheads/catfish.php?parameters"));
  EXPECT_TRUE(robots_match("/a*b*c", "/aXXbYYc/rest"));
  EXPECT_FALSE(robots_match("/a*b*c$", "/aXXbYYc/rest"));
  EXPECT_TRUE(robots_match("*", "/"));
  // A hostile pattern stays polynomial: this returns at once.
  EXPECT_FALSE(robots_match("/" + std::string(60, '*') + "x$", "/" + std::string(3000, 'a')));
}

constexpr const char* k_robots = R"(# comments are ignored
User-agent: *
Disallow: /

User-agent: CrawlWorker/2.1
user-agent: other
Disallow: /private/
Allow: /private/open.html
Disallow: /*.cgi$
Disallow: /tmp*
Crawl-delay: 1.5

User-agent: crawlworker
Disallow: /merged/
Disallow:
Allow: /page
Disallow: /page   # the same length: Allow wins

User-agent: otherbot
Disallow: /page/
)";

TEST(Robots, OurGroupsMergedStarIgnored) {
  const Robots r = parse_robots(k_robots, "crawlworker");
  EXPECT_TRUE(r.allowed("/"));
  EXPECT_TRUE(r.allowed("/page/1.html"));
  EXPECT_FALSE(r.allowed("/private/secret.html"));
  EXPECT_FALSE(r.allowed("/private/"));
  EXPECT_TRUE(r.allowed("/private/open.html"));
  EXPECT_TRUE(r.allowed("/private/open.html?x=1"));
  EXPECT_FALSE(r.allowed("/cgi/run.cgi"));
  EXPECT_TRUE(r.allowed("/cgi/run.cgi?x=1"));
  EXPECT_FALSE(r.allowed("/tmpfiles/a.html"));
  EXPECT_FALSE(r.allowed("/merged/x"));
  EXPECT_TRUE(r.allowed("/robots.txt"));
  ASSERT_TRUE(r.crawl_delay());
  EXPECT_EQ(*r.crawl_delay(), milliseconds(1500));
}

TEST(Robots, FallsBackToStarThenToNothing) {
  EXPECT_FALSE(parse_robots(k_robots, "somebot").allowed("/page/1.html"));
  EXPECT_TRUE(parse_robots(k_robots, "somebot").allowed("/robots.txt"));
  EXPECT_FALSE(parse_robots(k_robots, "otherbot").allowed("/page/1"));
  EXPECT_TRUE(parse_robots(k_robots, "otherbot").allowed("/other"));  // its own group, not "*"
  const Robots none = parse_robots("User-agent: x\nDisallow: /\n", "crawlworker");
  EXPECT_TRUE(none.allowed("/anything"));
  EXPECT_TRUE(parse_robots("", "crawlworker").allowed("/"));
  EXPECT_TRUE(parse_robots("garbage\n\x01\x02 : \nDisallow: /\n", "crawlworker").allowed("/"));
}

TEST(Robots, LongestMatchWinsWhateverTheOrder) {
  const Robots r = parse_robots(
      "User-agent: *\nAllow: /a/b\nDisallow: /a\nDisallow: /a/b/c\n"
      "Allow: /x/*.html$\nDisallow: /x/\n",
      "bot");
  EXPECT_FALSE(r.allowed("/a/x"));
  EXPECT_TRUE(r.allowed("/a/b/x"));
  EXPECT_FALSE(r.allowed("/a/b/c/d"));
  EXPECT_TRUE(r.allowed("/x/page.html"));
  EXPECT_FALSE(r.allowed("/x/page.htm"));
}

TEST(Robots, PatternsCompareInNormalForm) {
  // %7E is "~" in normalised URLs; a pattern written either way matches both spellings.
  const Robots r = parse_robots("User-agent: *\nDisallow: /%7Euser/\nDisallow: /a b\n", "bot");
  EXPECT_FALSE(r.allowed("/~user/x"));
  EXPECT_FALSE(r.allowed("/a%20b"));
}

TEST(Robots, StatusWithoutBodyAndSerialisation) {
  EXPECT_TRUE(robots_for_status(404).allowed("/x"));
  EXPECT_TRUE(robots_for_status(403).allowed("/x"));
  EXPECT_FALSE(robots_for_status(503).allowed("/x"));
  EXPECT_FALSE(robots_for_status(0).allowed("/x"));  // unreachable
  const Robots r = parse_robots(k_robots, "crawlworker");
  const auto back = Robots::deserialize(r.serialize());
  ASSERT_TRUE(back);
  for (const char* path : {"/", "/private/open.html", "/private/x", "/cgi/run.cgi", "/merged/"})
    EXPECT_EQ(back->allowed(path), r.allowed(path)) << path;
  EXPECT_EQ(back->crawl_delay(), r.crawl_delay());
  EXPECT_FALSE(Robots::deserialize(Robots::disallow_all().serialize())->allowed("/x"));
  // A copy an older worker cached, its patterns in the normal form of its time, is not read.
  EXPECT_FALSE(Robots::deserialize("N /a%25\n"));
  EXPECT_FALSE(Robots::deserialize("X\n"));
}

// A pattern is written like the URL it is to match: the same escapes tidied the same way, also
// around a "%" that starts no escape.
TEST(Robots, PatternsMatchUrlsWrittenTheSameWay) {
  for (const char* u : {"http://h/1%/%41", "http://h/a%?%41", "http://h/%4%44", "http://h/x%%41"}) {
    const auto n = url::normalize(u);
    ASSERT_TRUE(n) << u;
    const std::string written(std::string_view(u).substr(8));
    const Robots r = parse_robots("User-agent: *\nDisallow: " + written + "\n", "bot");
    const url::Parts p = url::split(*n);
    const std::string path =
        std::string(p.path) + (p.query.empty() ? "" : "?" + std::string(p.query));
    EXPECT_FALSE(r.allowed(path)) << u << " -> " << path;
  }
}

TEST(Robots, ReadsOnly512KiB) {
  std::string big = "User-agent: *\n";
  while (big.size() < 600 * 1024) big += "Allow: /filler/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
  big += "Disallow: /late\n";
  EXPECT_TRUE(parse_robots(big, "bot").allowed("/late"));
}

// The line cut by the 512 KiB limit is dropped, not read as a shorter rule.
TEST(Robots, TheCutIsAtALineBoundary) {
  std::string big = "User-agent: *\nDisallow: /private\n";
  while (big.size() < 512 * 1024 - 16) big += "Disallow: /filler/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
  big.resize(512 * 1024 - 16, 'x');         // pad the last filler rule up to just before the cut
  big += "\nAllow: /private-but-public\n";  // the cut falls right after "Allow: /private"
  ASSERT_EQ(
      big.substr(big.find("Allow: /private-but"), 512 * 1024 - big.find("Allow: /private-but")),
      "Allow: /private");
  const Robots r = parse_robots(big, "bot");
  EXPECT_FALSE(r.allowed("/private/x")) << "half a line became 'Allow: /private'";
  EXPECT_FALSE(r.allowed("/private-but-public"));  // its rule was past the cut
}

// Shapes of robots.txt found on real sites, each of which used to make rules disappear.
TEST(Robots, ByteOrderMarksGroupsAcrossOtherLinesAndBareCarriageReturns) {
  // A UTF-8 byte order mark before the first user-agent line.
  EXPECT_FALSE(
      parse_robots("\xEF\xBB\xBFUser-agent: *\nDisallow: /private\n", "bot").allowed("/private"));
  // A line between two user-agent lines does not end their group (RFC 9309 2.2.4).
  const Robots shared =
      parse_robots("User-agent: CrawlWorker\nCrawl-delay: 5\nUser-agent: *\nDisallow: /private\n",
                   "crawlworker");
  EXPECT_FALSE(shared.allowed("/private"));
  EXPECT_EQ(shared.crawl_delay(), std::chrono::milliseconds(5000));
  EXPECT_FALSE(
      parse_robots("User-agent: other\nSitemap: http://x/s.xml\nUser-agent: bot\nDisallow: /a\n",
                   "bot")
          .allowed("/a"));
  // A rule ends the run: the next user-agent line starts a new group.
  const Robots two =
      parse_robots("User-agent: bot\nDisallow: /a\nUser-agent: other\nDisallow: /b\n", "bot");
  EXPECT_FALSE(two.allowed("/a"));
  EXPECT_TRUE(two.allowed("/b"));
  // Bare CR and CR LF line endings are lines.
  const Robots cr = parse_robots("User-agent: *\rDisallow: /private\rAllow: /private/ok\r", "bot");
  EXPECT_FALSE(cr.allowed("/private"));
  EXPECT_TRUE(cr.allowed("/private/ok"));
  EXPECT_FALSE(parse_robots("User-agent: *\r\nDisallow: /p\r\n", "bot").allowed("/p"));
}

JobOptions options(Scope scope) {
  JobOptions o;
  o.scope = scope;
  o.max_depth = 3;
  return o;
}

TEST(LinkFilter, ScopeByHostOrDomain) {
  auto host = LinkFilter::create(options(Scope::host), {"www.example.co.uk:8080"});
  ASSERT_TRUE(host);
  EXPECT_EQ(host->judge("http://www.example.co.uk:8080/a", 1), Drop::none);
  EXPECT_EQ(host->judge("http://www.example.co.uk/a", 1), Drop::offsite);  // another port
  EXPECT_EQ(host->judge("http://cdn.example.co.uk:8080/a", 1), Drop::offsite);
  auto domain = LinkFilter::create(options(Scope::domain), {"www.example.co.uk:8080"});
  ASSERT_TRUE(domain);
  EXPECT_EQ(domain->judge("https://cdn.example.co.uk/a", 1), Drop::none);
  EXPECT_EQ(domain->judge("https://other.co.uk/a", 1), Drop::offsite);
  EXPECT_EQ(registrable_domain("www.example.co.uk"), "example.co.uk");
  EXPECT_EQ(registrable_domain("127.0.0.1"), "127.0.0.1");
  auto any = LinkFilter::create(options(Scope::any), {"a.example"});
  EXPECT_EQ(any->judge("http://b.example/x", 1), Drop::none);
}

TEST(LinkFilter, DepthTrapsAndPatterns) {
  JobOptions o = options(Scope::host);
  o.deny = {"\\.pdf$", "/logout"};
  o.allow = {"/docs/", "/blog/"};
  o.max_url_length = 60;
  auto f = LinkFilter::create(o, {"example.org"});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->judge("http://example.org/docs/a", 3), Drop::none);
  EXPECT_EQ(f->judge("http://example.org/docs/a", 4), Drop::depth);
  EXPECT_EQ(f->judge("http://example.org/docs/a.pdf", 1), Drop::denied);
  EXPECT_EQ(f->judge("http://example.org/shop/", 1), Drop::not_allowed);
  EXPECT_EQ(f->judge("http://example.org/docs/" + std::string(60, 'x'), 1), Drop::trap_length);
  EXPECT_EQ(f->judge("http://example.org/docs/a/b/a/b/a/b", 1), Drop::trap_repeat);
  EXPECT_TRUE(repeats_segments("/x/x/x", 3));
  EXPECT_FALSE(repeats_segments("/x/y/x/y", 3));
  JobOptions broken;
  broken.deny = {"(unclosed"};
  auto bad = LinkFilter::create(broken, {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad pattern '(unclosed'"), std::string::npos);
}

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
