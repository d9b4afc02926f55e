// The generated site and its manifest agree with what nginx actually serves: every manifest URL
// is fetched for real, and a breadth-first walk over the served pages reaches exactly the
// manifest's URLs. Crawls are checked against this manifest, so it must be right.

#include <curl/curl.h>
#include <signal.h>

#include <deque>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "html/html.hpp"
#include "html/outlinks.hpp"
#include "test_site.hpp"
#include "url/url.hpp"

namespace crawl::testing {
namespace {

struct Response {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string content_type;  // without parameters
  std::string location;      // absolute, as libcurl resolves the Location header
  std::string body;
};

struct Limits {
  long timeout_ms = 5000;
  long low_speed_bytes = 0;
  std::size_t max_body = 64u << 20;
};

std::size_t keep_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* ctx = static_cast<std::pair<std::string*, std::size_t>*>(user);
  const std::size_t room = ctx->second - ctx->first->size();
  ctx->first->append(data, std::min(room, size * n));
  return size * n <= room ? size * n : 0;  // past the cap: keep exactly the cap, then stop
}

Response fetch(const std::string& url, const Limits& limits = {}) {
  Response r;
  CURL* curl = curl_easy_init();
  std::pair<std::string*, std::size_t> ctx{&r.body, limits.max_body};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, limits.timeout_ms);
  if (limits.low_speed_bytes > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, limits.low_speed_bytes);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 2L);
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  r.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  char* type = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr)
    r.content_type = std::string(type).substr(0, std::string(type).find(';'));
  char* location = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
    r.location = *url::normalize(location);
  curl_easy_cleanup(curl);
  return r;
}

// Follows redirects one hop at a time as the manifest describes a crawler doing.
struct Walk {
  Response last;
  std::string final_url;
  std::string failure;  // "", redirect_loop, too_many_redirects
};

Walk follow(const std::string& start, int max_redirects, const Limits& limits = {}) {
  Walk w;
  std::set<std::string> visited;
  w.final_url = start;
  for (int hops = 0;; ++hops) {
    visited.insert(w.final_url);
    w.last = fetch(w.final_url, limits);
    if (w.last.status < 300 || w.last.status >= 400 || w.last.location.empty()) return w;
    if (visited.count(w.last.location)) return w.failure = "redirect_loop", w;
    if (hops == max_redirects) return w.failure = "too_many_redirects", w;
    if (url::split(w.last.location).authority != url::split(start).authority) {
      w.final_url = w.last.location;
      return w;  // leaving the site: a crawler stops here, and so does this test
    }
    w.final_url = w.last.location;
  }
}

SiteOptions small_site() {
  SiteOptions o;
  o.pages = 60;
  o.body_cap = 256u << 10;
  return o;
}

TEST(TestSite, EveryManifestEntryIsServedAsDescribed) {
  TestSite site(small_site());
  const Manifest& m = site.manifest();
  const std::string host = std::string(url::split(m.root).authority);
  ASSERT_GT(m.entries.size(), 80u);
  EXPECT_EQ(fetch(site.url("/robots.txt")).body, m.robots_txt);

  std::map<std::string, int> kinds;
  for (const ManifestEntry& e : m.entries) {
    SCOPED_TRACE(e.url + " " + e.expect + ":" + e.reason);
    ++kinds[e.expect + ":" + e.reason];
    if (e.expect == "filtered" && e.reason == "offsite") {
      const Walk w = follow(e.url, m.options.max_redirects);
      EXPECT_NE(url::split(w.final_url).authority, host);
      continue;
    }
    if (e.expect == "filtered") {  // robots: on the site, and served to anyone who ignores it
      EXPECT_EQ(url::split(e.url).authority, host);
      continue;
    }
    if (e.reason == "timeout") {
      // The slow page sends nothing; the trickle sends headers then a byte a second.
      const Walk w = follow(e.url, 0, {.timeout_ms = 2000, .low_speed_bytes = 100});
      EXPECT_EQ(w.last.code, CURLE_OPERATION_TIMEDOUT);
      EXPECT_EQ(w.last.status, e.status);
      continue;
    }
    const Walk w = follow(e.url, m.options.max_redirects,
                          {.max_body = e.truncated ? m.options.body_cap : 64u << 20});
    EXPECT_EQ(w.failure, e.expect == "failed" && e.reason.find("redirect") != std::string::npos
                             ? e.reason : std::string());
    EXPECT_EQ(w.last.status, e.status);
    EXPECT_EQ(w.final_url, e.final_url);
    if (e.reason == "http_404") continue;
    if (!e.reason.empty()) continue;
    EXPECT_EQ(w.last.content_type, e.content_type);
    if (e.truncated) {
      EXPECT_EQ(w.last.code, CURLE_WRITE_ERROR);  // the cap cut it
      EXPECT_EQ(w.last.body.size(), m.options.body_cap);
    } else {
      EXPECT_EQ(w.last.code, CURLE_OK);
    }
    if (e.content_type == "text/html") {
      const html::Outlinks links = html::outlinks(html::extract(w.last.body), w.final_url);
      EXPECT_EQ(links.images, e.images);
    } else {
      EXPECT_TRUE(e.images.empty());
    }
  }
  // Every corner of the site is there.
  for (const char* kind : {"done:", "failed:http_404", "failed:timeout", "failed:redirect_loop",
                           "failed:too_many_redirects", "filtered:offsite", "filtered:robots"})
    EXPECT_GT(kinds[kind], 0) << kind;
  EXPECT_EQ(kinds["failed:timeout"], 2);
}

TEST(TestSite, WalkingTheServedPagesReachesExactlyTheManifest) {
  TestSite site(small_site());
  const Manifest& m = site.manifest();
  std::set<std::string> reached{m.root};
  std::deque<std::string> queue{m.root};
  while (!queue.empty()) {
    const std::string u = queue.front();
    queue.pop_front();
    const ManifestEntry* e = m.find(u);
    ASSERT_NE(e, nullptr) << "a served page links to " << u << ", which the manifest lacks";
    if (e->expect != "done" || e->content_type != "text/html") continue;
    const Walk w = follow(u, m.options.max_redirects,
                          {.max_body = e->truncated ? m.options.body_cap : 64u << 20});
    for (const std::string& next : html::outlinks(html::extract(w.last.body), w.final_url).follow)
      if (reached.insert(next).second) queue.push_back(next);
  }
  std::set<std::string> listed;
  for (const auto& e : m.entries) listed.insert(e.url);
  EXPECT_EQ(reached, listed);
  // The traps stayed out of reach: comments, scripts, nofollow, meta nofollow, past the cap.
  for (const char* hidden : {"/hidden/comment.html", "/hidden/script.html", "/hidden/nofollow.html",
                             "/hidden/meta.html", "/hidden/tail.html", "/hidden/text.html"})
    EXPECT_EQ(reached.count(site.url(hidden)), 0u) << hidden;
  // ...while the pages behind them exist on the server.
  EXPECT_EQ(fetch(site.url("/hidden/comment.html")).status, 200);
}

TEST(TestSite, ManifestFileMatchesAndTheSiteIsDeterministic) {
  TestSite a(small_site());
  auto j = nlohmann::json::parse(read_text(a.manifest_path()));
  EXPECT_EQ(j["root"], a.root_url());
  EXPECT_EQ(j["entries"].size(), a.manifest().entries.size());
  // Same seed, same site; another seed, another link graph (the manifest stays the same: every
  // page is reachable through its successor whatever the random links are).
  const Site b = generate_site(small_site(), a.port());
  EXPECT_TRUE(b.manifest.to_json() == a.manifest().to_json());
  EXPECT_TRUE(b.files == generate_site(small_site(), a.port()).files);
  SiteOptions other = small_site();
  other.seed = 7;
  EXPECT_FALSE(generate_site(other, a.port()).files == b.files);
}

TEST(TestSite, TeardownStopsNginxAndItsWorkers) {
  pid_t master = 0;
  {
    TestSite site(small_site(), {.workers = 2, .access_log = false});
    master = site.pid();
    EXPECT_EQ(fetch(site.root_url()).status, 200);
  }
  EXPECT_NE(kill(master, 0), 0);
  // Workers are in the master's process group, which must be empty now.
  EXPECT_NE(kill(-master, 0), 0);
}

}  // namespace
}  // namespace crawl::testing
