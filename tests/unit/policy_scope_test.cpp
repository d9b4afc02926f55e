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
