// The collect protocol (frames of WARC files from a host, whatever the chunking; names and
// numbers a hostile host could send refused) and the step's quoting.

#include <cstdio>

#include <gtest/gtest.h>

#include "deploy/collect.hpp"

namespace crawl::deploy {
namespace {

const std::string k_name = "job7-20261207031500123-00001-host1_1.warc.gz";
const std::string k_sha(64, 'a');

struct Seen {
  FileFrame frame;
  std::string data;
};

std::vector<Seen> parse(const std::string& stream, std::size_t chunk, std::string* error) {
  std::vector<Seen> out;
  bool open = false;
  CollectParser parser([&](const FileFrame& f, std::string_view data, bool last) {
    if (!open) out.push_back({f, ""});
    out.back().data.append(data);
    open = !last;
    return true;
  });
  for (std::size_t i = 0; i < stream.size(); i += chunk)
    if (!parser.feed(std::string_view(stream).substr(i, chunk))) {
      *error = parser.error();
      break;
    }
  return out;
}

TEST(CollectFrames, ReadTheSameWhateverTheChunking) {
  const std::string stream =
      "noise\x1e"
      "F " +
      k_name + " 10 " + k_sha +
      " 4\nabcdef\x1e"
      "F " +
      k_name + " 3 " + k_sha +
      " 3\n\x1e"
      "E nothing deployed\n";
  for (std::size_t chunk : {1u, 2u, 7u, 1000u}) {
    std::string error;
    const auto seen = parse(stream, chunk, &error);
    EXPECT_EQ(error, "");
    ASSERT_EQ(seen.size(), 3u) << chunk;
    EXPECT_EQ(seen[0].frame.name, k_name);
    EXPECT_EQ(seen[0].frame.size, 10u);
    EXPECT_EQ(seen[0].frame.from, 4u);
    EXPECT_EQ(seen[0].data, "abcdef");
    EXPECT_EQ(seen[1].data, "");  // nothing left to send of it: one call all the same
    EXPECT_EQ(seen[2].frame.kind, 'E');
    EXPECT_EQ(seen[2].frame.text, "nothing deployed");
  }
}

TEST(CollectFrames, AHostileHeaderStopsTheParse) {
  for (const std::string& header :
       {"F ../../etc/passwd 1 " + k_sha + " 0", "F .bashrc 1 " + k_sha + " 0",
        "F " + k_name + ".open 1 " + k_sha + " 0", "F " + k_name + " 5 " + k_sha + " 6",
        "F " + k_name + " -1 " + k_sha + " 0",
        "F " + k_name + " 99999999999999999999 " + k_sha + " 0", "F " + k_name + " 1 xyz 0",
        "F " + k_name + " 1", std::string("X what"), std::string(5000, 'F')}) {
    std::string error;
    parse("\x1e" + header + "\n", 3, &error);
    EXPECT_NE(error, "") << header;
  }
  EXPECT_TRUE(is_warc_name(k_name));
  EXPECT_FALSE(is_warc_name("job7-2026-00001-h.warc.gz"));
  EXPECT_FALSE(is_warc_name("job7-20261207031500123-00001-h$(reboot).warc.gz"));
}

TEST(CollectStep, QuotesWhatItIsGiven) {
  config::Host host;
  host.name = "h";
  host.remote_dir = "crawl dir";
  const Step step =
      collect_step(host, {"w'arc", "7", {{k_name, std::nullopt}, {"job7-x.warc.gz", 12}}});
  // Run as a host runs it: the names arrive whole, quotes and spaces included.
  std::FILE* p = ::popen((step.command + " </dev/null").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, p) != nullptr) out += buffer;
  ::pclose(p);
  EXPECT_EQ(out,
            "\x1e"
            "E nothing deployed: no crawl dir\n");
  EXPECT_EQ(step.input, k_name + " -\njob7-x.warc.gz 12\n");
}

}  // namespace
}  // namespace crawl::deploy
