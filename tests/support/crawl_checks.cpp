#include "crawl_checks.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace crawl::testing {

SiteOptions test_site_options(int pages) {
  SiteOptions o;
  o.pages = pages;
  o.body_cap = 256u << 10;
  return o;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size() && i < 40; ++i) out += lines[i] + "\n";
  return out;
}

void expect_results_match_manifest(CrawlCluster& cluster, const std::string& job) {
  const auto problems = compare_with_manifest(cluster.results(job), cluster.site().manifest());
  EXPECT_TRUE(problems.empty()) << problems.size() << " differences:\n" << join(problems);
}

void expect_counters_match(const std::map<std::string, long long>& c, const Manifest& m) {
  std::map<std::string, long long> want;
  for (const auto& e : m.entries) {
    ++want[e.expect];
    ++want[e.expect + ":" + e.reason];
  }
  auto get = [&](const std::string& k) {
    auto it = c.find(k);
    return it == c.end() ? 0 : it->second;
  };
  EXPECT_EQ(get("submitted"), static_cast<long long>(m.entries.size()));
  EXPECT_EQ(get("queued"), 0);
  EXPECT_EQ(get("in_flight"), 0);
  EXPECT_EQ(get("submitted"),
            get("queued") + get("in_flight") + get("done") + get("failed") + get("filtered"));
  for (const char* k : {"done", "failed", "filtered", "failed:http_404", "failed:timeout",
                        "failed:redirect_loop", "filtered:offsite", "filtered:robots"})
    EXPECT_EQ(get(k), want[k]) << k;
}

void expect_images_match_manifest(const nlohmann::json& map, const Manifest& manifest) {
  std::size_t done = 0;
  for (const ManifestEntry& e : manifest.entries) {
    if (e.expect != "done") {
      EXPECT_FALSE(map.contains(e.url)) << e.url;
      continue;
    }
    ++done;
    ASSERT_TRUE(map.contains(e.url)) << e.url;
    std::vector<std::string> images = map[e.url];
    std::sort(images.begin(), images.end());
    EXPECT_EQ(images, e.images) << e.url;
  }
  EXPECT_EQ(map.size(), done);
}

}  // namespace crawl::testing
