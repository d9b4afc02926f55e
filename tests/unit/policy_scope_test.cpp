// A job's rules for links (policy/scope): scope by host or registrable domain, depth, traps,
// allow and deny patterns.

#include <gtest/gtest.h>

#include "policy/scope.hpp"

namespace crawl::policy {
namespace {

using std::chrono::milliseconds;

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

}  // namespace
}  // namespace crawl::policy

namespace crawl::policy {
namespace {

Result<LinkFilter> rules_filter(bool sort, std::vector<std::string> strip) {
  JobOptions o;
  o.sort_query = sort;
  o.strip_query = std::move(strip);
  return LinkFilter::create(o, {"a.example"});
}

TEST(UrlRules, OffByDefaultAndAUrlStaysAsItIs) {
  auto f = rules_filter(false, {});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->url_rules().empty());
  EXPECT_EQ(url::apply(f->url_rules(), "http://a.example/p?b=2&a=1"), "http://a.example/p?b=2&a=1");
}

TEST(UrlRules, SortQueryGivesOneUrlForAnyOrderOfTheSameParameters) {
  auto f = rules_filter(true, {});
  ASSERT_TRUE(f);
  const url::Rules& r = f->url_rules();
  EXPECT_EQ(url::apply(r, "http://a.example/p?b=2&a=1"), "http://a.example/p?a=1&b=2");
  EXPECT_EQ(url::apply(r, "http://a.example/p?a=1&b=2"), "http://a.example/p?a=1&b=2");
  // Repeated names keep both values, ordered by their text; empty parameters go.
  EXPECT_EQ(url::apply(r, "http://a.example/p?x=2&&x=1&a"), "http://a.example/p?a&x=1&x=2");
  EXPECT_EQ(url::apply(r, "http://a.example/p"), "http://a.example/p");
  EXPECT_EQ(url::apply(r, "http://a.example/;s=1?q"), "http://a.example/;s=1?q");  // path kept
}

TEST(UrlRules, StripQueryDropsParametersWhoseWholeNameMatchesAndPathParametersToo) {
  auto f = rules_filter(false, {"utm_.*", "j?sessionid"});
  ASSERT_TRUE(f);
  const url::Rules& r = f->url_rules();
  EXPECT_EQ(url::apply(r, "http://a.example/p?utm_source=x&id=7&utm_medium=y"),
            "http://a.example/p?id=7");
  EXPECT_EQ(url::apply(r, "http://a.example/p?utm_source=x"), "http://a.example/p");
  // The whole name: "xutm_a" and "sessionid2" are other parameters.
  EXPECT_EQ(url::apply(r, "http://a.example/p?xutm_a=1&sessionid2=3&sessionid=4"),
            "http://a.example/p?xutm_a=1&sessionid2=3");
  EXPECT_EQ(url::apply(r, "http://a.example/shop;jsessionid=ABC123/item;v=2?JSESSIONID=1"),
            "http://a.example/shop/item;v=2?JSESSIONID=1");  // names match case-sensitively
  EXPECT_EQ(url::apply(r, "http://a.example/a;jsessionid=1;b=2"), "http://a.example/a;b=2");
  auto both = rules_filter(true, {"utm_.*"});
  ASSERT_TRUE(both);
  EXPECT_EQ(url::apply(both->url_rules(), "http://a.example/?z=1&utm_id=2&b=3"),
            "http://a.example/?b=3&z=1");
}

TEST(UrlRules, ABadPatternIsRefusedNamingIt) {
  auto f = rules_filter(false, {"(utm"});
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("(utm"), std::string::npos) << f.error().message;
}

}  // namespace
}  // namespace crawl::policy
