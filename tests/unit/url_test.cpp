#include "url/url.hpp"

#include <set>

#include <gtest/gtest.h>

namespace crawl::url {
namespace {

struct Case {
  const char* input;
  const char* expected;  // nullptr: rejected
  Reject reject = Reject::malformed;
};

std::string describe(const Normalized& n) {
  return n ? *n : "reject:" + std::string(to_string(n.error()));
}

// Each case's input through `f` gives what the case expects.
template <std::size_t N, class F>
void expect_cases(const Case (&cases)[N], F&& f) {
  for (const Case& c : cases) {
    const std::string want =
        c.expected != nullptr ? c.expected : "reject:" + std::string(to_string(c.reject));
    EXPECT_EQ(describe(f(c.input)), want) << "input: '" << c.input << "'";
  }
}

TEST(Normalize, Table) {
  const Case cases[] = {
      {"http://example.org", "http://example.org/"},
      {"HTTP://Example.ORG:80/", "http://example.org/"},
      {"https://example.org:443/a", "https://example.org/a"},
      {"https://example.org:8443/a", "https://example.org:8443/a"},
      {"http://example.org:443/", "http://example.org:443/"},
      {"http://example.org/a/./b/../c", "http://example.org/a/c"},
      {"http://example.org/a#frag", "http://example.org/a"},
      {"http://example.org/a?#frag", "http://example.org/a"},
      {"http://example.org/a?b=1&c=2", "http://example.org/a?b=1&c=2"},
      {"http://example.org/%7euser/%2fx%2F", "http://example.org/~user/%2Fx%2F"},
      {"http://example.org/%41%62%2D%5f%2e", "http://example.org/Ab-_."},
      {"http://example.org/a b", "http://example.org/a%20b"},
      {"http://example.org/ü?q=ä", "http://example.org/%C3%BC?q=%C3%A4"},
      // A "%" that starts no escape stays as browsers leave it.
      {"http://example.org/100%", "http://example.org/100%"},
      {"http://example.org/%zz", "http://example.org/%zz"},
      // The path percent-encode set; "|" is not in it.
      {"http://example.org/a\"<>`{}|^", "http://example.org/a%22%3C%3E%60%7B%7D|%5E"},
      {"http://example.org/p;a=1/:@!$&'()*+,=", "http://example.org/p;a=1/:@!$&'()*+,="},
      {"http://example.org/?q=a/b?c", "http://example.org/?q=a/b?c"},
      {"http://example.org.", "http://example.org/"},
      {"http://EXAMPLE.org./x", "http://example.org/x"},
      {"https://bücher.de/", "https://xn--bcher-kva.de/"},
      {"https://BÜCHER.de/", "https://xn--bcher-kva.de/"},
      {"http://[::1]:8080/x", "http://[::1]:8080/x"},
      {"http://127.0.0.1:8080/page/%34.html", "http://127.0.0.1:8080/page/4.html"},
      {"  http://example.org/a  ", "http://example.org/a"},
      {"http://exa\nmple.org/\ta", "http://example.org/a"},
      // Backslashes are slashes before the query, themselves in it.
      {"http:\\\\example.org\\a\\b?x=\\", "http://example.org/a/b?x=\\"},
      // Credentials are neither sent nor stored.
      {"http://user:pw@example.org/", "http://example.org/"},
      {"http://us\xC3\xA9r:p%40ss@example.org/a", "http://example.org/a"},
      // A query's quote is encoded (the special-query set), a path's is not.
      {"http://example.org/it's?q='x'", "http://example.org/it's?q=%27x%27"},
      // A decoded %2E makes dot segments of its own: they go too.
      {"http://example.org/a/%2E%2E/b", "http://example.org/b"},
      {"http://example.org/a/%2e/b/%2E%2e", "http://example.org/a/"},
      {"http://example.org/%2E%2E/%2E%2E/x", "http://example.org/x"},
      {"http://example.org/a/.%2E./b", "http://example.org/a/.../b"},
      // Rejections.
      {"", nullptr, Reject::empty},
      {"   ", nullptr, Reject::empty},
      {"javascript:void(0)", nullptr, Reject::not_http},
      {"JavaScript:alert(1)", nullptr, Reject::not_http},
      {"mailto:a@example.org", nullptr, Reject::not_http},
      {"data:text/html,hi", nullptr, Reject::not_http},
      {"ftp://example.org/file", nullptr, Reject::not_http},
      {"tel:+100", nullptr, Reject::not_http},
      {"/relative/path", nullptr, Reject::malformed},
      {"http://exa mple.org/", nullptr, Reject::malformed},
      {"http://example.org/a\x01"
       "b",
       nullptr, Reject::control},
      {"http://example.org/a\x01", "http://example.org/a"},  // trailing controls are stripped
      {"http://user@/x", nullptr, Reject::malformed},
      {"http://example.org:99999/", nullptr, Reject::malformed},
      {"http://", nullptr, Reject::malformed},
  };
  expect_cases(cases, [](std::string_view input) { return normalize(input); });
}

TEST(Normalize, IsIdempotent) {
  for (const char* input : {"HTTP://Example.ORG:80/a/./b/%7e?x=%2f#f", "https://bücher.de/ä b",
                            "http://example.org/100%", "http://example.org/a/%2E%2E/b/%2e",
                            "http://example.org/x/%2e%2E/%2E"}) {
    const Normalized once = normalize(input);
    ASSERT_TRUE(once) << input;
    EXPECT_EQ(describe(normalize(*once)), *once);
  }
}

TEST(Normalize, RejectsOverlongUrls) {
  const std::string long_path(k_max_length, 'a');
  EXPECT_EQ(describe(normalize("http://example.org/" + long_path)), "reject:too_long");
  // Short enough as written, too long once its 2000 spaces become %20.
  EXPECT_EQ(describe(normalize("http://example.org/" + std::string(2000, ' ') + "x")),
            "reject:too_long");
  const std::string fits(k_max_length - 19, 'a');
  EXPECT_TRUE(normalize("http://example.org/" + fits));
}

TEST(Resolve, RelativeReferencesAgainstADocument) {
  const Resolver r("http://127.0.0.1:8080/page/3.html?x=1#top");
  ASSERT_TRUE(r.base());
  EXPECT_EQ(*r.base(), "http://127.0.0.1:8080/page/3.html?x=1");
  const Case cases[] = {
      {"4.html", "http://127.0.0.1:8080/page/4.html"},
      {"./4.html", "http://127.0.0.1:8080/page/4.html"},
      {"../page/4.html", "http://127.0.0.1:8080/page/4.html"},
      {"../../../4.html", "http://127.0.0.1:8080/4.html"},
      {"/page/sub/../4.html#s2", "http://127.0.0.1:8080/page/4.html"},
      {"HTTP://127.0.0.1:8080/page/./4.html#frag", "http://127.0.0.1:8080/page/4.html"},
      {"//127.0.0.9:8080/x", "http://127.0.0.9:8080/x"},
      {"?view=%70rint#x", "http://127.0.0.1:8080/page/3.html?view=print"},
      {"  4.html\n", "http://127.0.0.1:8080/page/4.html"},
      {"4\t.html", "http://127.0.0.1:8080/page/4.html"},
      {"sub\\4.html", "http://127.0.0.1:8080/page/sub/4.html"},
      {"/page/%34.html", "http://127.0.0.1:8080/page/4.html"},
      {"https://Other.example/", "https://other.example/"},
      // The document itself: libcurl alone would answer the directory.
      {"", "http://127.0.0.1:8080/page/3.html?x=1"},
      {"#top", "http://127.0.0.1:8080/page/3.html?x=1"},
      {"  ", "http://127.0.0.1:8080/page/3.html?x=1"},
      {"javascript:void(0)", nullptr, Reject::not_http},
      {"mailto:x@example.org", nullptr, Reject::not_http},
      {"data:image/png;base64,iVBO", nullptr, Reject::not_http},
      {"ftp://127.0.0.1/file", nullptr, Reject::not_http},
      {"http://bad host/", nullptr, Reject::malformed},
  };
  expect_cases(cases, [&r](std::string_view input) { return r.resolve(input); });
}

// The URL Standard's rules where they differ from RFC 3986 (and from libcurl, which the crawler
// used before): its own examples and those of its tests (web-platform-tests urltestdata.json).
TEST(Resolve, AsTheUrlStandardDoes) {
  const Resolver r("http://example.org/foo/bar");
  const Case cases[] = {
      // A scheme like the base's, without "//", is a relative reference.
      {"http:/example.com/", "http://example.org/example.com/"},
      {"http:example.com/", "http://example.org/foo/example.com/"},
      {"http:foo.com", "http://example.org/foo/foo.com"},
      {"http:", "http://example.org/foo/bar"},
      // Another scheme takes an authority, however many slashes come first.
      {"https:example.com/", "https://example.com/"},
      {"https:/example.com/", "https://example.com/"},
      {"https:////example.com///", "https://example.com///"},
      {"////x/y", "http://x/y"},
      {"\\\\x\\hello", "http://x/hello"},
      {"/\\/\\//example.org/../path", "http://example.org/path"},
      // Dot segments, also written with %2e.
      {"/foo/%2e%2E/bar", "http://example.org/bar"},
      {"/foo/.%2e/bar/./%2e", "http://example.org/bar/"},
      {"/a/%2e.%2e/b", "http://example.org/a/.../b"},  // three dots: a name
      // Hosts: IPv4 in any form a browser reads, IPv6 compressed, percent-decoded, IDNA-mapped.
      {"http://0x7f.1/", "http://127.0.0.1/"},
      {"http://192.168.257/", "http://192.168.1.1/"},
      {"http://999999999./", "http://59.154.201.255/"},
      {"http://[0:0:0:0:0:0:13.1.68.3]/", "http://[::d01:4403]/"},
      {"http://[::127.0.0.1]/", "http://[::7f00:1]/"},
      {"http://ex%61mple.com/", "http://example.com/"},
      {"http://\xEF\xBC\xA7\xEF\xBD\x8F.com/", "http://go.com/"},  // fullwidth letters
      {"http://@www.example.com", "http://www.example.com/"},
      {"http://a:b@c:29/d", "http://c:29/d"},
      {"http://example.com:0080/", "http://example.com/"},
      // What browsers refuse.
      {"http://1.2.3.4.5/", nullptr, Reject::malformed},
      {"http://256.256.256.256/", nullptr, Reject::malformed},
      {"http://0x100000000/", nullptr, Reject::malformed},
      {"http://a|b/", nullptr, Reject::malformed},
      {"http://a^b/", nullptr, Reject::malformed},
      {"http://ho%25st/", nullptr, Reject::malformed},
      {"http://[::%31]/", nullptr, Reject::malformed},
      {"http://example.com:65536/", nullptr, Reject::malformed},
      // A stray "%" stays; a NUL or other control character rejects the URL (the Standard
      // would encode it; the crawler used to cut the URL at the NUL).
      {"/foo%2zbar", "http://example.org/foo%2zbar"},
      {"/a\x1b[31m", nullptr, Reject::control},
      {"/a\x7f", nullptr, Reject::control},
  };
  expect_cases(cases, [&r](std::string_view input) { return r.resolve(input); });
  EXPECT_EQ(describe(r.resolve(std::string_view("/a\0b", 4))), "reject:control_character");
  EXPECT_TRUE(has_userinfo("http://user:pass@example.org/"));
  EXPECT_TRUE(has_userinfo("http://@example.org/"));
  EXPECT_FALSE(has_userinfo("http://example.org/@x"));
  EXPECT_FALSE(has_userinfo("http://example.org/?a@b"));
}

TEST(Resolve, UnusableBaseRejectsEverything) {
  const Resolver r("mailto:someone@example.org");
  EXPECT_FALSE(r.base());
  EXPECT_EQ(describe(r.resolve("a.html")), "reject:not_http");
  EXPECT_EQ(describe(resolve("not a url", "a.html")), "reject:malformed");
}

TEST(Fingerprint, EqualForEqualFormsAndSpreadOtherwise) {
  EXPECT_EQ(fingerprint(*normalize("HTTP://Example.org:80/a/../b#x")),
            fingerprint(*normalize("http://example.org/b")));
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 100000; ++i)
    seen.insert(fingerprint("http://example.org/page/" + std::to_string(i) + ".html"));
  EXPECT_EQ(seen.size(), 100000u);
}

TEST(Split, PartsOfANormalizedUrl) {
  Parts p = split("https://user:pw@example.org:8443/a/b?x=1&y=2");
  EXPECT_EQ(p.scheme, "https");
  EXPECT_EQ(p.authority, "example.org:8443");
  EXPECT_EQ(p.host, "example.org");
  EXPECT_EQ(p.path, "/a/b");
  EXPECT_EQ(p.query, "x=1&y=2");
  p = split("http://[::1]/");
  EXPECT_EQ(p.host, "[::1]");
  EXPECT_EQ(p.authority, "[::1]");
  EXPECT_EQ(p.query, "");
  EXPECT_EQ(split("http://[::1]:81/").host, "[::1]");
  EXPECT_EQ(origin("http://example.org:81/a?b"), "http://example.org:81");
  EXPECT_EQ(origin("http://example.org"), "http://example.org");
  EXPECT_EQ(origin("http://user:pw@example.org:81/a"), "http://example.org:81");  // no credentials
  EXPECT_EQ(origin_view("http://example.org:81/a?b"), "http://example.org:81");
  EXPECT_EQ(origin_view("https://example.org/?q"), "https://example.org");
  EXPECT_EQ(origin_view("not a url"), "");
}

}  // namespace
}  // namespace crawl::url

namespace crawl::url {
namespace {

// normalize() returns URLs already in normal form without parsing them; Resolver::resolve()
// always goes through libcurl. On every input both must agree.
TEST(Normalize, FastPathAgreesWithTheFullParser) {
  const Resolver full("http://unrelated.example/");
  std::vector<std::string> inputs{"http://example.org/",
                                  "https://example.org/a/b?c=d&e=f",
                                  "http://a-b.example.org:8080/x",
                                  "http://127.0.0.1:8080/page/1.html",
                                  "http://10.0.0.255/",
                                  "https://example.org:443/",
                                  "http://example.org:80/",
                                  "http://example.org:0080/",
                                  "http://example.org:99999/",
                                  "http://EXAMPLE.org/",
                                  "http://example.org",
                                  "http://example.org?x",
                                  "http://example.org/?",
                                  "http://example.org/a/./b",
                                  "http://example.org/a/../b",
                                  "http://example.org/a/..",
                                  "http://example.org/a/.",
                                  "http://example.org/a?b/../c",
                                  "http://example.org/%7E",
                                  "http://example.org/a#f",
                                  "http://example.org./",
                                  "http://.example.org/",
                                  "http://example..org/",
                                  "http://-x.example/",
                                  "http://127.1/",
                                  "http://127.0.0.01/",
                                  "http://256.0.0.1/",
                                  "http://0x7f.0.0.1/",
                                  "http://1.2.3.4.5/",
                                  "http://user@example.org/",
                                  "http://example.org/a b",
                                  "http://example.org/'()*+,;=:@!$&~_-.",
                                  "http://example.org/a?q=?&r=/",
                                  "http://xn--bcher-kva.de/",
                                  "http://example.org//double//slash",
                                  "http://example.org/a\\b",
                                  "http://a.b.c.d.example.org/x.html?y",
                                  "https://example.org:8443/?a=1#x",
                                  "http://exa_mple.org/"};
  for (int i = 0; i < 200; ++i)
    inputs.push_back("http://host" + std::to_string(i % 7) + ".example.org/section/" +
                     std::to_string(i) + "/page-" + std::to_string(i * 31) + ".html" +
                     (i % 3 == 0 ? "?p=" + std::to_string(i) : ""));
  for (const std::string& u : inputs)
    EXPECT_EQ(describe(normalize(u)), describe(full.resolve(u))) << u;
}

}  // namespace
}  // namespace crawl::url
