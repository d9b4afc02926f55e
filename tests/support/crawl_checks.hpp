#pragma once
// Checks shared by the tests that crawl the test site: a site of the usual shape, and a job's
// results and counters held against the site's manifest.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crawl_cluster.hpp"
#include "test_site.hpp"

namespace crawl::testing {

// The test site with `pages` pages, bodies up to 256 KiB.
SiteOptions test_site_options(int pages);

// The first 40 lines, one a line, for a failure message.
std::string join(const std::vector<std::string>& lines);

// The job's records agree with the manifest, URL by URL.
void expect_results_match_manifest(CrawlCluster& cluster, const std::string& job);

// The original service's answer, {url: [images]}, holds each page the manifest expects crawled,
// with exactly its images, and nothing else.
void expect_images_match_manifest(const nlohmann::json& map, const Manifest& manifest);

// Every admitted URL is in exactly one state, and the terminal counts match the manifest.
void expect_counters_match(const std::map<std::string, long long>& counters,
                           const Manifest& manifest);

}  // namespace crawl::testing
