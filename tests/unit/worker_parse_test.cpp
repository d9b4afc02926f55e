// What a parser thread makes of a page: links judged against the job, and a record of what
// it could not read whole.

#include <gtest/gtest.h>

#include "html/html.hpp"
#include "worker/parse_pool.hpp"

namespace crawl::worker {
namespace {

std::shared_ptr<const policy::LinkFilter> filter() {
  policy::JobOptions job;
  return std::make_shared<const policy::LinkFilter>(
      std::move(*policy::LinkFilter::create(job, {"example.org"})));
}

Parsed parse_page(std::string body) {
  return parse(
      ParseJob{7, "http://example.org/dir/page.html", std::move(body), {}, false, 0, filter()});
}

TEST(WorkerParse, LinksAreResolvedAndJudged) {
  const Parsed p = parse_page(
      "<title>T</title><a href=\"a.html\">a</a><a href=\"http://other.example/\">o</a>"
      "<a href=\"a.html#x\">again</a><img src=\"i.png\">");
  EXPECT_EQ(p.task, 7u);
  EXPECT_EQ(p.title, "T");
  EXPECT_EQ(p.found, 3);
  ASSERT_EQ(p.links.size(), 2u);
  EXPECT_EQ(p.links[0].url, "http://example.org/dir/a.html");
  EXPECT_EQ(p.links[0].drop, "");
  EXPECT_EQ(p.links[1].url, "http://other.example/");
  EXPECT_EQ(p.links[1].drop, "offsite");
  EXPECT_EQ(p.images, std::vector<std::string>{"http://example.org/dir/i.png"});
  EXPECT_EQ(p.parse_cut, "");
  EXPECT_FALSE(p.noindex);
}

TEST(WorkerParse, APageReadOnlyInPartSaysSo) {
  // Longer than the parse limit: links past it are not seen, and the record tells why.
  std::string big = "<a href=\"first.html\">f</a><p>";
  big.append(html::k_max_parse_bytes, 'x');
  big += "</p><a href=\"last.html\">l</a>";
  Parsed p = parse_page(big);
  EXPECT_EQ(p.parse_cut, "size");
  ASSERT_EQ(p.links.size(), 1u);
  EXPECT_EQ(p.links[0].url, "http://example.org/dir/first.html");

  std::string deep = "<a href=\"first.html\">f</a>";
  for (std::size_t i = 0; i < 2 * html::k_max_depth; ++i) deep += "<span>";
  deep += "<a href=\"last.html\">l</a>";
  p = parse_page(deep);
  EXPECT_EQ(p.parse_cut, "nesting");
  ASSERT_EQ(p.links.size(), 1u);
}

TEST(WorkerParse, TheJobsParseCapCountsTheBytesAsTheyCame) {
  // 100 KB of text, a link after it: cut at a job's 64 KiB, read whole at the default.
  std::string page = "<a href=\"first.html\">f</a><p>" + std::string(100'000, 'x') +
                     "</p><a href=\"last.html\">l</a>";
  ParseJob job{7, "http://example.org/dir/page.html", page, {}, false, 0, filter()};
  EXPECT_EQ(parse(job).links.size(), 2u);
  job.max_parse_bytes = 64 << 10;
  Parsed p = parse(job);
  EXPECT_EQ(p.parse_cut, "size");
  EXPECT_EQ(p.links.size(), 1u);
  // In windows-1252 the same: the cap is on the bytes received, not on their UTF-8 (longer).
  std::string latin = "<meta charset=windows-1252><a href=\"first.html\">f</a><p>" +
                      std::string(60'000, '\xE9') + "</p><a href=\"last.html\">l</a>";
  job.body = latin;
  p = parse(job);
  EXPECT_EQ(p.parse_cut, "");
  EXPECT_EQ(p.encoding, "windows-1252");
  EXPECT_EQ(p.links.size(), 2u);
}

TEST(WorkerParse, NoindexIsKept) {
  EXPECT_TRUE(
      parse_page("<meta name=\"robots\" content=\"noindex\"><a href=\"a.html\">a</a>").noindex);
  EXPECT_TRUE(parse_page("<meta name=\"robots\" content=\"none\">").noindex);
}

// A sitemap's URLs: resolved, unique, judged as links; a body that is XML or gzip but no
// sitemap is no error; a refused one says why.
TEST(WorkerParse, ASitemapsUrlsAreJudgedAsLinksAndWhatIsNoSitemapIsNoError) {
  ParseJob job{7, "http://example.org/sitemap.xml", "", {}, false, 0, filter()};
  job.sitemap = true;
  job.body =
      "<urlset><url><loc>http://example.org/a</loc></url><url><loc>/b</loc></url>"
      "<url><loc>http://example.org/a#x</loc></url><url><loc>http://other.example/</loc></url>"
      "</urlset>";
  Parsed p = parse(job);
  EXPECT_EQ(p.sitemap, "urlset");
  EXPECT_EQ(p.found, 4);
  ASSERT_EQ(p.links.size(), 3u);
  EXPECT_EQ(p.links[1].url, "http://example.org/b");
  EXPECT_EQ(p.links[2].drop, "offsite");
  EXPECT_EQ(p.error, "");
  job.body = "<rss><channel></channel></rss>";
  p = parse(job);
  EXPECT_EQ(p.sitemap, "");
  EXPECT_EQ(p.parse_cut, "");
  EXPECT_EQ(p.error, "");
  job.body = "\x1f\x8b not a sitemap, not even gzip";
  p = parse(job);
  EXPECT_EQ(p.parse_cut, "");
  EXPECT_EQ(p.error, "");
  job.body = "<!DOCTYPE urlset><urlset/>";
  EXPECT_NE(parse(job).refused, "");
}

}  // namespace
}  // namespace crawl::worker
