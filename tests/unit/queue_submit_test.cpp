// Seed reading (queue/submit.hpp), pure: what a line becomes, what a bad one is told as, and the
// line numbers of a large file read in parts.

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "queue/submit.hpp"

namespace crawl::queue {
namespace {

// The seeds are views into the text they were read from, which must outlive them.
struct Read {
  explicit Read(std::string content) : text(std::move(content)) {
    add_seed_text(seeds, text, "urls.txt");
  }
  std::string text;
  Seeds seeds;
};

TEST(Seeds, LinesAreTrimmedCommentsSkippedAndUrlsNormalised) {
  const Read r("  https://example.org/a \t\r\n\n# a comment\nHTTP://Example.ORG:8080/b\n");
  const Seeds& s = r.seeds;
  ASSERT_EQ(s.links.size(), 2u);
  EXPECT_EQ(s.links[0].url, "https://example.org/a");
  EXPECT_EQ(s.links[1].url, "http://example.org:8080/b");
  EXPECT_NE(s.links[0].fingerprint, s.links[1].fingerprint);
  EXPECT_EQ(s.rejected, 0u);
  EXPECT_EQ(s.authorities, (std::set<std::string, std::less<>>{"example.org", "example.org:8080"}));
}

TEST(Seeds, ABadLineIsCountedAndToldWithItsPlaceAndTheGoodOnesKept) {
  const Read r(
      "https://ok.example/\n"
      "ftp://example.org/x\n"
      "https://user:hunter2@example.org/\n"
      "https://example.org/\x1b[2Jx\n"
      "https://ok.example/2\n");
  const Seeds& s = r.seeds;
  EXPECT_EQ(s.links.size(), 2u);
  EXPECT_EQ(s.rejected, 3u);
  ASSERT_EQ(s.messages.size(), 3u);
  EXPECT_EQ(s.messages[0].rfind("urls.txt:2: 'ftp://example.org/x' is not a crawlable URL", 0), 0u)
      << s.messages[0];
  EXPECT_NE(s.messages[1].find("urls.txt:3:"), std::string::npos);
  EXPECT_NE(s.messages[1].find("credentials"), std::string::npos) << s.messages[1];
  EXPECT_EQ(s.messages[1].find("hunter2"), std::string::npos) << "a password is never echoed";
  EXPECT_NE(s.messages[2].find("urls.txt:4:"), std::string::npos);
  EXPECT_NE(s.messages[2].find("\\x1b"), std::string::npos) << "a control byte is shown escaped";
  EXPECT_EQ(s.messages[2].find('\x1b'), std::string::npos);
}

TEST(Seeds, OnlyTheFirstBadLinesAreToldAndAllAreCounted) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "not a url\n";
  const Read r(text);
  const Seeds& s = r.seeds;
  EXPECT_EQ(s.rejected, 50u);
  EXPECT_EQ(s.messages.size(), Seeds::k_messages);
  EXPECT_NE(s.messages.back().find("urls.txt:20:"), std::string::npos) << s.messages.back();
}

TEST(Seeds, AFileReadInPartsKeepsItsLineNumbersAndItsOrder) {
  // Over 1 MiB, so the file is read in parts on several threads.
  std::string text;
  int lines = 0;
  while (text.size() < (3u << 20)) {
    text += "https://example.org/page/" + std::to_string(lines) + "\n";
    ++lines;
  }
  text += "bad line at the end\n";
  const Read r(text);
  const Seeds& s = r.seeds;
  ASSERT_EQ(s.links.size(), static_cast<std::size_t>(lines));
  for (int i = 0; i < lines; i += 9973)
    EXPECT_EQ(s.links[static_cast<std::size_t>(i)].url,
              "https://example.org/page/" + std::to_string(i));
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_EQ(s.messages[0].rfind("urls.txt:" + std::to_string(lines + 1) + ":", 0), 0u)
      << s.messages[0];
}

TEST(Seeds, ArgumentsAreNamedAsArguments) {
  Seeds s;
  add_seed(s, "javascript:alert(1)", [] { return std::string("argument 2"); });
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_EQ(s.messages[0].rfind("argument 2: ", 0), 0u) << s.messages[0];
}

}  // namespace
}  // namespace crawl::queue
