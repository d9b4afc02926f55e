#pragma once
// A CDXJ index of WARC files (the form pywb and OpenWayback read): one line per record a replay
// looks up (response, revisit, resource, and metadata other than application/warc-fields;
// never request or warcinfo), "URLKEY TIMESTAMP {json}", the JSON's members in the order
// url, mime, status, digest, length, offset, filename, with status, length and offset as
// strings. The lines are those npm's warcio writes (`warcio cdx-index`), its SURT rules
// included, and sorted as `LC_ALL=C sort` sorts them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace crawl::warc {

// The SURT form of a URL as warcio makes it: "http://www.Example.com:8080/a?b=2&a=1" ->
// "com,example:8080)/a?a=1&b=2" (www, www2, ... dropped; lower-cased; labels reversed; query
// arguments sorted). A URL not http(s) is its own key.
std::string surt(std::string_view url);

// The sorted index lines of the gzip'd WARC file at `path`, naming it `filename`. Fails on a
// file that is not a series of whole gzip members of WARC records.
Result<std::vector<std::string>> cdxj_lines(const std::string& path, std::string_view filename);

// Merges sorted CDXJ files into `output` (written under a temporary name, then renamed over
// it). Returns the number of lines.
Result<std::uint64_t> merge_cdxj(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace crawl::warc
