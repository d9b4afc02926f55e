#include "html/html.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include "html/outlinks.hpp"

namespace crawl::html {
namespace {

std::vector<std::string> hrefs(const Page& p) {
  std::vector<std::string> out;
  for (const auto& l : p.links) out.push_back(l.href + (l.nofollow ? " [nofollow]" : ""));
  return out;
}

TEST(Extract, LinksImagesTitleInDocumentOrder) {
  const Page p = extract(R"html(<!DOCTYPE html><html><head>
    <title>  A   &amp; B
      title </title><link rel="next" href="/p2"><link rel="stylesheet" href="/s.css">
    <link rel="PREV nofollow" href="/p0"></head>
    <body><a href="a.html">a</a> <A HREF='/b.html'>b</A> <a href=c.html?x=1&amp;y=2>c</a>
    <a>no href</a> <a href="">empty</a>
    <img src="i.png"><img src=""><img srcset="s1.png 1x, s2.png 2x" src="s0.png">
    <picture><source srcset="p.webp 100w"><img src="p.png"></picture>
    <map><area href="/area.html"></map>
    <a rel="external nofollow" href="/nf.html">nf</a><a rel="NoFollow" href="/nf2.html">nf</a>
    </body></html>)html");
  EXPECT_EQ(p.title, "A & B title");
  EXPECT_EQ(hrefs(p), (std::vector<std::string>{"/p2", "/p0 [nofollow]", "a.html", "/b.html",
                                                "c.html?x=1&y=2", "", "/area.html",
                                                "/nf.html [nofollow]", "/nf2.html [nofollow]"}));
  EXPECT_EQ(p.images,
            (std::vector<std::string>{"i.png", "s0.png", "s1.png", "s2.png", "p.webp", "p.png"}));
  EXPECT_FALSE(p.meta_nofollow);
  EXPECT_EQ(p.base_href, "");
}

TEST(Extract, NothingInsideCommentsScriptsOrSvgIsALink) {
  const Page p = extract(R"html(<body>
    <!-- <a href="/comment.html">x</a> -->
    <script>document.write('<a href="/script.html">x</a>');</script>
    <noscript><a href="/noscript.html">ok</a></noscript>
    <textarea><a href="/textarea.html"></a></textarea>
    <svg><a href="/svg.html"><title>svg title</title></a></svg>
    <title>late title</title>
    <a href="/real.html">real</a></body>)html");
  EXPECT_EQ(hrefs(p), (std::vector<std::string>{"/noscript.html", "/real.html"}));
  EXPECT_EQ(p.title, "late title");
}

TEST(Extract, BaseAndMetaRobots) {
  Page p = extract(R"html(<head><base href="/deep/dir/"><base href="/second/">
    <meta name="ROBOTS" content="noindex, NOFOLLOW"></head>)html");
  EXPECT_EQ(p.base_href, "/deep/dir/");
  EXPECT_TRUE(p.meta_nofollow);
  EXPECT_TRUE(p.meta_noindex);
  p = extract(R"html(<meta name="robots" content="none">)html");
  EXPECT_TRUE(p.meta_nofollow && p.meta_noindex);
  p = extract(R"html(<meta name="description" content="nofollow">)html");
  EXPECT_FALSE(p.meta_nofollow || p.meta_noindex);
}

TEST(Extract, TheFirstCanonicalLinkIsKeptAndResolved) {
  const Page p = extract(
      R"(<link rel="alternate canonical" href="../c.html"><link rel=canonical href="/other">)"
      R"(<a rel=canonical href="/not-a-link-element">x</a>)");
  EXPECT_EQ(p.canonical_href, "../c.html");
  EXPECT_EQ(outlinks(p, "http://a.example/d/e/page.html").canonical, "http://a.example/d/c.html");
  EXPECT_EQ(extract("<link rel=next href=/n>").canonical_href, "");
  // Under the job's rules, like the links.
  url::Rules rules;
  rules.sort_query = true;
  EXPECT_EQ(outlinks(extract("<link rel=canonical href='/p?b=2&a=1'>"), "http://a.example/", {}, {},
                     rules)
                .canonical,
            "http://a.example/p?a=1&b=2");
}

// Meta refresh, read as HTML's declarative refresh steps read it (the cases of the WPT suite's
// html/semantics/document-metadata/the-meta-element/pragma-directives/attr-meta-http-equiv-refresh).
TEST(Extract, AMetaRefreshNamesItsUrlAsHtmlReadsIt) {
  EXPECT_EQ(refresh_url("0; url=/next"), "/next");
  EXPECT_EQ(refresh_url("0;URL='/a b'x"), "/a b");
  EXPECT_EQ(refresh_url(" 5 , url = \"q.html\" "), "q.html");
  EXPECT_EQ(refresh_url("1.5; /plain"), "/plain");
  EXPECT_EQ(refresh_url(".5;url=/dot"), "/dot");
  EXPECT_EQ(refresh_url("0 'quoted'more"), "quoted");
  EXPECT_EQ(refresh_url("0; urx=/u"), "urx=/u") << "not 'url': the rest is the URL";
  EXPECT_EQ(refresh_url("0; url /u"), "url /u");
  EXPECT_EQ(refresh_url("0"), "") << "a reload names no URL";
  EXPECT_EQ(refresh_url("0;  "), "");
  EXPECT_EQ(refresh_url("x; url=/a"), "") << "no time: not a refresh";
  EXPECT_EQ(refresh_url("0x; url=/a"), "");
  EXPECT_EQ(refresh_url("100; url=/a"), "/a");
  EXPECT_EQ(refresh_url("101; url=/a"), "") << "past k_max_refresh_seconds: a page to read";
  EXPECT_EQ(refresh_url("99999999999999999999999; url=/a"), "");

  const Page p = extract(
      R"(<meta http-equiv="REFRESH" content="0;url=../n.html"><meta http-equiv=refresh content="0;url=/2">)");
  EXPECT_EQ(p.refresh_href, "../n.html");
  EXPECT_EQ(outlinks(p, "http://a.example/d/e/page.html").refresh, "http://a.example/d/n.html");
  EXPECT_EQ(extract(R"(<meta name="refresh" content="0;url=/x">)").refresh_href, "");
  // The first refresh counts, as in a browser, even one that only waits; none in <noscript>.
  EXPECT_EQ(extract(R"(<meta http-equiv=refresh content="300;url=/a">)"
                    R"(<meta http-equiv=refresh content="0;url=/b">)")
                .refresh_href,
            "");
  EXPECT_EQ(extract(R"(<meta http-equiv=refresh content="bad">)"
                    R"(<meta http-equiv=refresh content="0;url=/b">)")
                .refresh_href,
            "/b");
  EXPECT_EQ(extract(R"(<noscript><meta http-equiv=refresh content="0;url=/nojs"></noscript>)")
                .refresh_href,
            "");
  EXPECT_EQ(outlinks(extract(R"html(<meta http-equiv=refresh content="0;url=javascript:x()">)html"),
                     "http://a.example/")
                .refresh,
            "");
}

TEST(Extract, SurvivesBrokenAndHostileMarkup) {
  const Page p = extract(
      "<div><p>unclosed <b>bold <table><tr><td><a href=x.html>x</span></td></div></p></li>"
      "<a href='y.html' <a href=\"z.html\">z</a><img src=\"q.png\"");
  // Tree construction moves misnested content (as browsers do), so compare as a set.
  std::vector<std::string> got = hrefs(p);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"x.html", "y.html"}));
  EXPECT_FALSE(p.nesting_cut);
}

TEST(Extract, DeepNestingIsCutNotParsedForMinutes) {
  // Deep but legal: parsed whole, walked without recursion.
  std::string deep;
  for (int i = 0; i < k_max_depth - 10; ++i) deep += "<div>";
  deep += "<a href=\"deep.html\">d</a>";
  Page p = extract(deep);
  EXPECT_EQ(hrefs(p), std::vector<std::string>{"deep.html"});
  EXPECT_FALSE(p.nesting_cut);
  // Pathological: 200,000 nested elements would take Gumbo hours; parsed up to the limit.
  std::string hostile = "<a href=\"before.html\">b</a>";
  for (int i = 0; i < 200000; ++i) hostile += "<span>";
  hostile += "<a href=\"after.html\">a</a>";
  p = extract(hostile);
  EXPECT_TRUE(p.nesting_cut);
  EXPECT_EQ(hrefs(p), std::vector<std::string>{"before.html"});
  // Stray end tags close nothing and must not hide the nesting they sit in.
  std::string evasive = "<a href=\"before.html\">b</a>";
  for (int i = 0; i < 200000; ++i) evasive += "<div></x>";
  evasive += "<a href=\"after.html\">a</a>";
  p = extract(evasive);
  EXPECT_TRUE(p.nesting_cut);
  EXPECT_EQ(hrefs(p), std::vector<std::string>{"before.html"});
  // Properly closed elements do not add up, however many.
  std::string flat;
  for (int i = 0; i < 3 * k_max_depth; ++i) flat += "<div><span>x</span></div>";
  flat += "<a href=\"flat.html\">f</a>";
  p = extract(flat);
  EXPECT_FALSE(p.nesting_cut);
  EXPECT_EQ(hrefs(p), std::vector<std::string>{"flat.html"});
  // What looks like tags inside a script or style is text: a big inline script is no nesting.
  std::string script = "<script>";
  for (int i = 0; i < 3 * k_max_depth; ++i) script += "if(i<n){x=a<b;}<div>";
  script += "</script><style>a<b{}</style><a href=\"after-script.html\">s</a>";
  p = extract(script);
  EXPECT_FALSE(p.nesting_cut);
  EXPECT_EQ(hrefs(p), std::vector<std::string>{"after-script.html"});
  // Thousands of unclosed <p>, <li> and <td> are ordinary sloppy markup, not nesting.
  std::string sloppy;
  for (int i = 0; i < 3 * k_max_depth; ++i) sloppy += "<p>para<li>item<td>cell";
  sloppy += "<a href=\"end.html\">e</a>";
  p = extract(sloppy);
  EXPECT_FALSE(p.nesting_cut);
  EXPECT_EQ(hrefs(p), std::vector<std::string>{"end.html"});
}

// Past k_max_elements start tags and comments (each a node of Gumbo's tree: 2 MiB of "<p>" took
// 160 MB), the rest of a page is not parsed.
TEST(Extract, AtMostSoManyElements) {
  std::string many = "<a href=\"first.html\">f</a>";
  for (std::size_t i = 0; i < k_max_elements; ++i) many += "<p>";
  many += "<a href=\"late.html\">l</a>";
  Page p = extract(many);
  EXPECT_TRUE(p.elements_cut);
  EXPECT_FALSE(p.size_cut);
  EXPECT_EQ(hrefs(p), std::vector<std::string>{"first.html"});
  std::string comments = "<a href=\"first.html\">f</a>";
  for (std::size_t i = 0; i < k_max_elements; ++i) comments += "<!---->";
  comments += "<a href=\"late.html\">l</a>";
  p = extract(comments);
  EXPECT_TRUE(p.elements_cut);
  EXPECT_EQ(hrefs(p), std::vector<std::string>{"first.html"});
  // End tags a parser turns into elements count too, as do bogus comments.
  for (const char* node : {"</p>", "</br>", "<!x>", "<?x>"}) {
    std::string strays = "<a href=\"first.html\">f</a>";
    for (std::size_t i = 0; i < k_max_elements; ++i) strays += node;
    strays += "<a href=\"late.html\">l</a>";
    p = extract(strays);
    EXPECT_TRUE(p.elements_cut) << node;
    EXPECT_EQ(hrefs(p), std::vector<std::string>{"first.html"}) << node;
  }
  std::string fits = "<a href=\"first.html\">f</a>";
  for (std::size_t i = 0; i + 10 < k_max_elements; ++i) fits += "<p>x</p>";
  fits += "<a href=\"last.html\">l</a>";
  p = extract(fits);
  EXPECT_FALSE(p.elements_cut);
  EXPECT_EQ(hrefs(p), (std::vector<std::string>{"first.html", "last.html"}));
}

TEST(Extract, NotHtmlAtAll) {
  // Not HTML at all.
  const std::string binary("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe", 18);
  const Page b = extract(binary);
  EXPECT_TRUE(b.links.empty());
  EXPECT_TRUE(extract("").links.empty());
}

TEST(Srcset, StandardParsing) {
  EXPECT_EQ(srcset_urls("a.png 1x, b.png 2x"), (std::vector<std::string>{"a.png", "b.png"}));
  // A comma inside a run without spaces belongs to the URL, as the standard reads it.
  EXPECT_EQ(srcset_urls("  a.png,b.png 480w ,c.png"),
            (std::vector<std::string>{"a.png,b.png", "c.png"}));
  EXPECT_EQ(srcset_urls("a.png, b.png,c.png"), (std::vector<std::string>{"a.png", "b.png,c.png"}));
  EXPECT_EQ(srcset_urls("a.png,, b.png"), (std::vector<std::string>{"a.png", "b.png"}));
  EXPECT_EQ(srcset_urls("x.png 1x (w, h), y.png"), (std::vector<std::string>{"x.png", "y.png"}));
  EXPECT_EQ(srcset_urls("data:image/png;base64,AAA= 1x, b.png 2x"),
            (std::vector<std::string>{"data:image/png;base64,AAA=", "b.png"}));
  EXPECT_TRUE(srcset_urls(" , ,").empty());
}

TEST(Outlinks, ResolvesAgainstBaseDropsJunkAndDuplicates) {
  const Page p = extract(R"html(<head><base href="/deep/dir/"></head><body>
    <a href="../../page/9.html">a</a><a href="/page/9.html#x">dup</a>
    <a href="javascript:void(0)">j</a><a href="mailto:x@example.org">m</a>
    <a href="#top">self</a><a rel="nofollow" href="/nf.html">nf</a>
    <img src="img/b.png"><img src="/img/a.png"><img srcset="/img/a.png 2x, data:image/png,x 1x">
    </body>)html");
  const Outlinks o = outlinks(p, "http://127.0.0.1:8080/page/5.html");
  EXPECT_EQ(o.follow, (std::vector<std::string>{"http://127.0.0.1:8080/page/9.html",
                                                "http://127.0.0.1:8080/deep/dir/"}));
  EXPECT_EQ(o.images, (std::vector<std::string>{"http://127.0.0.1:8080/deep/dir/img/b.png",
                                                "http://127.0.0.1:8080/img/a.png"}));
  EXPECT_EQ(o.nofollow, 1u);
  EXPECT_EQ(o.rejected, 2u);
}

TEST(Outlinks, MetaNofollowKeepsImagesOnly) {
  const Page p = extract(R"html(<meta name="robots" content="nofollow"><a href="/a">a</a>
    <img src="/i.png">)html");
  const Outlinks o = outlinks(p, "http://example.org/x");
  EXPECT_TRUE(o.follow.empty());
  EXPECT_EQ(o.nofollow, 1u);
  EXPECT_EQ(o.images, std::vector<std::string>{"http://example.org/i.png"});
}

// A long <base href> makes every short reference a long URL: links and images are kept in
// document order while they fit the limits' counts and bytes; the unique ones after are counted.
TEST(Outlinks, KeepsLinksAndImagesWithinTheirCountsAndBytes) {
  const std::string base = "/" + std::string(1000, 'b') + "/";
  std::string html = "<base href=\"" + base + "\">";
  for (int i = 0; i < 100; ++i) {
    const std::string n = std::to_string(i);
    html += "<a href=a" + n + ">x</a><a href=a" + n + ">again</a><img src=i" + n + ">";
  }
  const Page p = extract(html);
  const Outlinks o =
      outlinks(p, "http://example.org/",
               Limits{.links = 100, .images = 3, .link_bytes = 10'000, .image_bytes = 1'000'000});
  const std::size_t url_size = std::string("http://example.org").size() + base.size() + 2;
  ASSERT_EQ(o.follow.size(), 10'000 / url_size);  // 9 of about 1,022 bytes each
  EXPECT_EQ(o.follow.front(), "http://example.org" + base + "a0");
  EXPECT_EQ(o.links_dropped, 100 - o.follow.size()) << "duplicates are not counted";
  EXPECT_EQ(o.images, (std::vector<std::string>{"http://example.org" + base + "i0",
                                                "http://example.org" + base + "i1",
                                                "http://example.org" + base + "i2"}));
  EXPECT_EQ(o.images_dropped, 97u);
}

TEST(Extract, ATitleOfMegabytesIsCutAtACharacterBoundary) {
  std::string title = "x";
  for (int i = 0; i < 1'000'000; ++i) title += "\u00e9";  // 2 bytes each
  const Page p = extract("<title>" + title + "</title>");
  EXPECT_EQ(p.title.size(), k_max_title_bytes - 1);  // "x" and then whole "é"s
  EXPECT_EQ(p.title.substr(0, 3), "x\u00e9");
}

}  // namespace
}  // namespace crawl::html
