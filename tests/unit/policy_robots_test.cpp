// robots.txt (RFC 9309): matching, groups, the longest match, the cut at 512 KiB and a line
// boundary, byte-order marks and bare carriage returns.

#include <gtest/gtest.h>

#include "policy/robots.hpp"
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

// Sitemap: lines belong to no group: every one is kept, wherever it stands, up to a bound, and
// they survive the cached form.
TEST(Robots, SitemapLinesAreKeptWhereverTheyStand) {
  const Robots r = parse_robots(
      "Sitemap: http://a.test/first.xml\nUser-agent: other\nDisallow: /\n"
      "SITEMAP:http://a.test/second.xml.gz # comment\nsitemap: \nSitemap: has space\n",
      "bot");
  EXPECT_EQ(r.sitemaps(),
            (std::vector<std::string>{"http://a.test/first.xml", "http://a.test/second.xml.gz"}));
  const auto back = Robots::deserialize(r.serialize());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sitemaps(), r.sitemaps());
  std::string many;
  for (int i = 0; i < 100; ++i) many += "Sitemap: http://a.test/" + std::to_string(i) + ".xml\n";
  EXPECT_EQ(parse_robots(many, "bot").sitemaps().size(), k_max_robots_sitemaps);
  EXPECT_FALSE(Robots::deserialize("R2\nN /a\n")) << "an older worker's copy lacks them";
}

}  // namespace
}  // namespace crawl::policy
