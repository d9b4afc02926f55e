// The generated site and its manifest agree with what nginx actually serves: every manifest URL
// is fetched for real, and a breadth-first walk over the served pages reaches exactly the
// manifest's URLs. Crawls are checked against this manifest, so it must be right.

#include "test_site.hpp"

#include <deque>
#include <map>
#include <set>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "html/encoding.hpp"
#include "html/html.hpp"
#include "html/outlinks.hpp"
#include "policy/robots.hpp"
#include "url/url.hpp"

namespace crawl::testing {
namespace {

struct Response {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string content_type;  // without parameters
  std::string charset;       // the Content-Type's charset parameter
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
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr) {
    const std::string header(type);
    r.content_type = header.substr(0, header.find(';'));
    if (const auto at = header.find("charset="); at != std::string::npos)
      r.charset = header.substr(at + 8);
  }
  char* location = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
    r.location = *url::normalize(location);
  curl_easy_cleanup(curl);
  return r;
}

SiteOptions small_site() {
  SiteOptions o;
  o.pages = 60;
  o.body_cap = 256u << 10;
  return o;
}

// How one URL ends when crawled by the rules the manifest states, worked out here from what the
// server serves and its robots.txt alone, independently of the site model.
struct Observed {
  std::string expect, reason, final_url;
  Response last;
};

Observed observe(const std::string& start, const std::string& site_authority,
                 const policy::Robots& robots, const SiteOptions& o) {
  Observed ob;
  std::set<std::string> visited;
  std::string u = start;
  for (int hops = 0;; ++hops) {
    const url::Parts parts = url::split(u);
    if (parts.authority != site_authority) {
      ob.expect = "filtered", ob.reason = "offsite";
      return ob;
    }
    const std::string path_query(u.substr(u.find(parts.path)));
    if (!robots.allowed(path_query)) {
      ob.expect = "filtered", ob.reason = "robots";
      return ob;
    }
    visited.insert(u);
    ob.final_url = u;
    ob.last = fetch(u, {.timeout_ms = 2000, .low_speed_bytes = 100, .max_body = o.body_cap});
    if (ob.last.code == CURLE_OPERATION_TIMEDOUT) {
      ob.expect = "failed", ob.reason = "timeout";
      return ob;
    }
    const long s = ob.last.status;
    // A meta refresh to another URL is a hop as a 3xx is.
    std::string next = s >= 300 && s < 400 ? ob.last.location : "";
    if (s == 200 && ob.last.content_type == "text/html")
      if (std::string refresh = html::outlinks(html::extract(ob.last.body), u).refresh;
          refresh != u)
        next = std::move(refresh);
    if (!next.empty()) {
      if (visited.count(next)) {
        ob.expect = "failed", ob.reason = "redirect_loop";
        return ob;
      }
      if (hops == o.max_redirects) {
        ob.expect = "failed", ob.reason = "too_many_redirects";
        return ob;
      }
      u = next;
      continue;
    }
    if (s >= 400) {
      ob.expect = "failed", ob.reason = "http_" + std::to_string(s);
      return ob;
    }
    ob.expect = "done";
    return ob;
  }
}

TEST(TestSite, AnIndependentWalkReachesExactlyTheManifest) {
  TestSite site(small_site());
  const Manifest& m = site.manifest();
  const std::string authority(url::split(m.root).authority);
  const std::string robots_txt = fetch(site.url("/robots.txt")).body;
  EXPECT_EQ(robots_txt, m.robots_txt);
  const policy::Robots robots = policy::parse_robots(robots_txt, m.options.robots_agent);

  std::set<std::string> reached{m.root};
  std::deque<std::string> queue{m.root};
  std::map<std::string, int> kinds;
  while (!queue.empty()) {
    const std::string u = queue.front();
    queue.pop_front();
    const ManifestEntry* e = m.find(u);
    ASSERT_NE(e, nullptr) << "a served page links to " << u << ", which the manifest lacks";
    const Observed ob = observe(u, authority, robots, m.options);
    SCOPED_TRACE(u + ": manifest says " + e->expect + ":" + e->reason);
    ++kinds[ob.expect + ":" + ob.reason];
    EXPECT_EQ(ob.expect, e->expect);
    EXPECT_EQ(ob.reason, e->reason);
    if (ob.expect == "filtered") continue;
    EXPECT_EQ(ob.final_url, e->final_url);
    EXPECT_EQ(ob.last.status, e->status);
    if (ob.expect != "done") continue;
    EXPECT_EQ(ob.last.content_type, e->content_type);
    EXPECT_EQ(ob.last.code == CURLE_WRITE_ERROR, e->truncated);  // cut by the body cap
    if (e->truncated) {
      EXPECT_EQ(ob.last.body.size(), m.options.body_cap);
    }
    if (ob.last.content_type != "text/html") {
      EXPECT_TRUE(e->images.empty());
      continue;
    }
    // Pages in other encodings are read in them (the crawl tests hold what is read to the
    // manifest's texts, which Python's codecs wrote).
    const html::Encoding encoding = html::sniff(ob.last.body, ob.last.charset);
    const html::Outlinks links =
        html::outlinks(html::extract(html::to_utf8(ob.last.body, encoding)), ob.final_url, {},
                       html::query_encoder(encoding.name));
    EXPECT_EQ(links.images, e->images);
    for (const std::string& next : links.follow)
      if (reached.insert(next).second) queue.push_back(next);
  }
  std::set<std::string> listed;
  for (const auto& e : m.entries) listed.insert(e.url);
  EXPECT_EQ(reached, listed);
  // Every corner of the site was met.
  for (const char* kind : {"done:", "failed:http_404", "failed:timeout", "failed:redirect_loop",
                           "failed:too_many_redirects", "filtered:offsite", "filtered:robots"})
    EXPECT_GT(kinds[kind], 0) << kind;
  EXPECT_EQ(kinds["failed:timeout"], 2);
  // The traps stayed out of reach: comments, scripts, nofollow, meta nofollow, past the cap...
  for (const char* hidden :
       {"/hidden/comment.html", "/hidden/script.html", "/hidden/nofollow.html", "/hidden/meta.html",
        "/hidden/tail.html", "/hidden/text.html", "/hidden/refresh-later.html"})
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
