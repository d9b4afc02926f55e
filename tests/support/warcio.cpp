#include "warcio.hpp"

#include <sstream>

#include <gtest/gtest.h>

namespace crawl::testing {

std::vector<nlohmann::json> read_with_warcio(const std::vector<std::string>& files,
                                             const TempDir& dir) {
  std::vector<std::string> args{std::string(CRAWL_SOURCE_DIR) + "/tests/browser/check_warc.mjs"};
  args.insert(args.end(), files.begin(), files.end());
  const CommandResult r = run_program("node", args, dir, std::chrono::seconds(120));
  EXPECT_EQ(r.rc, 0) << r.err;
  std::vector<nlohmann::json> records;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) records.push_back(nlohmann::json::parse(line));
  return records;
}

std::string warcio_cdxj(const std::vector<std::string>& files, const TempDir& dir) {
  std::vector<std::string> args{std::string(CRAWL_SOURCE_DIR) + "/tests/browser/cdxj.mjs"};
  args.insert(args.end(), files.begin(), files.end());
  const CommandResult r = run_program("node", args, dir, std::chrono::seconds(120));
  EXPECT_EQ(r.rc, 0) << r.err;
  return r.out;
}

}  // namespace crawl::testing
