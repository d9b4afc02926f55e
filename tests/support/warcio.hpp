#pragma once
// WARC files read by npm's warcio (a reader not of ours), through tests/browser/check_warc.mjs:
// one JSON object per record (type, uri, id, concurrent_to, block_ok, payload_ok,
// payload_digest, truncated, ip, http_status, offset, length, file), in file order.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crawl_cluster.hpp"

namespace crawl::testing {

std::vector<nlohmann::json> read_with_warcio(const std::vector<std::string>& files,
                                             const TempDir& dir);

// The CDXJ index warcio writes for the files (tests/browser/cdxj.mjs), sorted.
std::string warcio_cdxj(const std::vector<std::string>& files, const TempDir& dir);

}  // namespace crawl::testing
