// Sitemaps (sitemap/sitemap.hpp): what a urlset and an index give, gzip'd or not, and what is
// refused whole: a DTD (XML bombs), more than sitemaps.org's 50,000 URLs or 50 MB decoded, deep
// nesting. The gzip'd inputs are made here by zlib, which the reader only inflates.

#include "sitemap/sitemap.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

namespace crawl::sitemap {
namespace {

std::string gzip(std::string_view text, int level = Z_DEFAULT_COMPRESSION) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string urlset(int n, std::string_view prefix = "http://a.test/p") {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
  for (int i = 0; i < n; ++i)
    xml += "<url><loc>" + std::string(prefix) + std::to_string(i) + "</loc></url>\n";
  return xml + "</urlset>\n";
}

TEST(Sitemap, AUrlsetGivesItsLocsTrimmedWithEntitiesDecoded) {
  const Sitemap s = parse(
      "\xEF\xBB\xBF<?xml version='1.0'?>\n"
      "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'\n"
      "        xmlns:image='http://www.google.com/schemas/sitemap-image/1.1'>\n"
      "  <url>\n    <loc>\n      http://a.test/a?x=1&amp;y=2\n    </loc>\n"
      "    <lastmod>2026-01-01</lastmod>\n"
      "    <image:image><image:loc>http://a.test/img.png</image:loc></image:image>\n"
      "  </url>\n"
      "  <url><loc><![CDATA[http://a.test/b]]></loc></url>\n"
      "  <url><loc></loc></url>\n"
      "  <loc>http://a.test/not-in-a-url</loc>\n"
      "</urlset>");
  EXPECT_EQ(s.kind, Sitemap::Kind::urlset);
  EXPECT_EQ(s.locs, (std::vector<std::string>{"http://a.test/a?x=1&y=2", "http://a.test/b"}));
  EXPECT_EQ(s.refused, "");
  EXPECT_EQ(s.error, "");
}

TEST(Sitemap, AnIndexGivesItsSitemapsAndNoNamespaceIsAcceptedToo) {
  const Sitemap s = parse(
      "<sitemapindex><sitemap><loc>http://a.test/s1.xml.gz</loc></sitemap>"
      "<sitemap><loc>http://a.test/s2.xml</loc><lastmod>x</lastmod></sitemap></sitemapindex>");
  EXPECT_EQ(s.kind, Sitemap::Kind::index);
  EXPECT_EQ(s.locs, (std::vector<std::string>{"http://a.test/s1.xml.gz", "http://a.test/s2.xml"}));
}

TEST(Sitemap, GzipIsReadByItsMagicBytesOneMemberOrSeveral) {
  const std::string xml = urlset(3);
  EXPECT_EQ(parse(gzip(xml)).locs.size(), 3u);
  // The same text in two gzip members, one after the other (as `cat a.gz b.gz` makes).
  const std::string split = gzip(xml.substr(0, 100)) + gzip(xml.substr(100));
  const Sitemap s = parse(split);
  EXPECT_EQ(s.locs.size(), 3u);
  EXPECT_EQ(s.error, "");
  // Cut short: the URLs before the cut, and why it stopped.
  const std::string whole = gzip(urlset(2000));
  const Sitemap cut = parse(std::string_view(whole).substr(0, whole.size() / 2));
  EXPECT_GT(cut.locs.size(), 100u);
  EXPECT_LT(cut.locs.size(), 2000u);
  EXPECT_NE(cut.error.find("ends early"), std::string::npos) << cut.error;
  // Not gzip after all.
  EXPECT_NE(parse("\x1f\x8bnot gzip at all").error, "");
}

TEST(Sitemap, AnXmlBombIsRefusedAtItsDoctypeBeforeAnyEntity) {
  std::string bomb =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE urlset [\n<!ENTITY a \"aaaaaaaaaaaaaaaaaaaa\">\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    bomb += "<!ENTITY " + std::string(1, c) + " \"";
    for (int k = 0; k < 10; ++k) bomb += "&" + std::string(1, static_cast<char>(c - 1)) + ";";
    bomb += "\">\n";
  }
  bomb += "]>\n<urlset><url><loc>http://a.test/&j;</loc></url></urlset>";
  const Sitemap s = parse(bomb);
  EXPECT_TRUE(s.locs.empty());
  EXPECT_NE(s.refused.find("DTD"), std::string::npos) << s.refused;
  // An external one too: nothing is fetched.
  const Sitemap external = parse(
      "<!DOCTYPE urlset SYSTEM \"http://a.test/evil.dtd\"><urlset><url><loc>http://a.test/x</loc>"
      "</url></urlset>");
  EXPECT_TRUE(external.locs.empty());
  EXPECT_NE(external.refused, "");
}

TEST(Sitemap, PastFiftyThousandUrlsOrFiftyMegabytesItIsRefusedWhole) {
  EXPECT_EQ(parse(urlset(static_cast<int>(k_max_urls))).locs.size(), k_max_urls);
  const Sitemap many = parse(gzip(urlset(static_cast<int>(k_max_urls) + 1)));
  EXPECT_TRUE(many.locs.empty());
  EXPECT_NE(many.refused.find("50,000 URLs"), std::string::npos) << many.refused;
  // A gzip bomb: 60 MB of white space inside a urlset, some 60 KB compressed.
  std::string big = "<urlset><url><loc>http://a.test/x</loc></url>";
  big.append(60'000'000, ' ');
  big += "</urlset>";
  const std::string bomb = gzip(big, 1);
  EXPECT_LT(bomb.size(), 1'000'000u);
  const Sitemap huge = parse(bomb);
  EXPECT_TRUE(huge.locs.empty());
  EXPECT_NE(huge.refused.find("50,000,000 bytes"), std::string::npos) << huge.refused;
}

TEST(Sitemap, DeepNestingIsRefusedAndOverlongLocsAreSkipped) {
  std::string deep = "<urlset><url><loc>http://a.test/x</loc></url>";
  for (int i = 0; i < 100; ++i) deep += "<a>";
  const Sitemap s = parse(deep);
  EXPECT_TRUE(s.locs.empty());
  EXPECT_NE(s.refused.find("nested"), std::string::npos) << s.refused;

  const Sitemap long_loc =
      parse("<urlset><url><loc>http://a.test/" + std::string(k_max_loc_bytes, 'x') +
            "</loc></url><url><loc>http://a.test/ok</loc></url></urlset>");
  EXPECT_EQ(long_loc.locs, std::vector<std::string>{"http://a.test/ok"});
  EXPECT_EQ(long_loc.skipped, 1u);

  // 5,000 URLs of 2,000 bytes: 10 MB of URLs, of which 8 MiB are kept.
  const Sitemap heavy = parse(urlset(5000, "http://a.test/" + std::string(1980, 'p')));
  std::size_t kept = 0;
  for (const auto& loc : heavy.locs) kept += loc.size();
  EXPECT_LE(kept, k_max_locs_bytes);
  EXPECT_GT(kept, k_max_locs_bytes - 2000);
  EXPECT_NE(heavy.error.find("8 MiB"), std::string::npos) << heavy.error;
  EXPECT_EQ(heavy.refused, "");
}

TEST(Sitemap, BrokenXmlKeepsWhatCameBeforeAndOtherXmlIsNoSitemap) {
  const Sitemap broken = parse(
      "<urlset><url><loc>http://a.test/1</loc></url><url><loc>http://a.test/?a=1&b=2</loc></url>"
      "<url><loc>http://a.test/3</loc></url></urlset>");
  EXPECT_EQ(broken.locs, std::vector<std::string>{"http://a.test/1"});
  EXPECT_NE(broken.error.find("line 1"), std::string::npos) << broken.error;
  const Sitemap rss =
      parse("<rss><channel><item><link>http://a.test/</link></item></channel></rss>");
  EXPECT_EQ(rss.kind, Sitemap::Kind::none);
  EXPECT_TRUE(rss.locs.empty());
}

TEST(Sitemap, WhatIsWorthALook) {
  for (const char* type : {"application/xml", "text/xml", "application/rss+xml", "application/gzip",
                           "application/x-gzip", "application/octet-stream", "text/plain", ""})
    EXPECT_TRUE(maybe_sitemap_type(type)) << type;
  for (const char* type : {"image/png", "application/pdf", "application/json", "text/css"})
    EXPECT_FALSE(maybe_sitemap_type(type)) << type;
  EXPECT_TRUE(looks_like_sitemap(urlset(1)));
  EXPECT_TRUE(looks_like_sitemap("\n <sitemapindex>"));
  EXPECT_TRUE(looks_like_sitemap(gzip("anything")));
  EXPECT_FALSE(looks_like_sitemap("{\"urlset\": 1}"));
  EXPECT_FALSE(looks_like_sitemap("<rss><channel/></rss>"));
}

}  // namespace
}  // namespace crawl::sitemap
