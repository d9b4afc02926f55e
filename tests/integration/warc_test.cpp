// WARC files as lib/warc writes them, read back by warcio (npm; a reader not of ours): every
// record whole, its digests right, its offset and length those warcio's indexer finds; files
// rotate by size; a file cut mid-record (a kill -9) is cut back to its last whole record.

#include "warc/warc.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crawl_cluster.hpp"
#include "warc/index.hpp"
#include "warcio.hpp"

namespace crawl::warc {
namespace {

using testing::read_with_warcio;
using testing::TempDir;

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A request and its response, as a worker writes them for one fetch.
std::vector<Position> write_fetch(Writer& w, const std::string& url, const std::string& body,
                                  std::int64_t at) {
  const std::string request = "GET / HTTP/1.1\r\nHost: a.test\r\nUser-Agent: crawlworker\r\n\r\n";
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  Record response;
  response.type = "response";
  response.target_uri = url;
  response.date_ms = at;
  response.record_id = new_record_id();
  response.content_type = "application/http;msgtype=response";
  response.fields = {{"WARC-IP-Address", "127.0.0.1"}};
  response.block = {head, body};
  response.payload_from = 1;
  Record req;
  req.type = "request";
  req.target_uri = url;
  req.date_ms = at;
  req.content_type = "application/http;msgtype=request";
  req.fields = {{"WARC-Concurrent-To", response.record_id}};
  req.block = {request};
  auto a = w.write(std::move(req));
  auto b = w.write(std::move(response));
  EXPECT_TRUE(a && b);
  return {*a, *b};
}

// URL keys as warcio makes them (its getSurt, run on these URLs by warcio 2.4.11).
TEST(Warc, SurtKeysAreWarcios) {
  for (const auto& [url, key] : std::vector<std::pair<std::string, std::string>>{
           {"http://example.com", "com,example)/"},
           {"http://www2.Example.com:80/a?z&y=1&x", "com,example)/a?x&y=1&z"},
           {"https://www.example.com:8443/?", "com,example:8443)/"},
           {"http://Example.COM./%7Efoo", ",com,example)/%7efoo"},
           {"http://user:pw@www.example.com/x#y", "com,example,www)/x"},
           {"https://WWW.Example.com:443/Path/A?b=2&a=1#frag", "com,example,www)/path/a?a=1&b=2"},
           {"http://127.0.0.1:8080/p?q", "1,0,0,127:8080)/p?q"},
           {"urn:test:thing", "urn:test:thing"},
           {"HTTP://example.com/", "HTTP://example.com/"},
       })
    EXPECT_EQ(surt(url), key) << url;
}

TEST(Warc, DigestsAreSha1InBase32) {
  EXPECT_EQ(base32(""), "");
  EXPECT_EQ(base32("f"), "MY======");
  EXPECT_EQ(base32("foobar"), "MZXW6YTBOI======");  // RFC 4648's vectors
  EXPECT_EQ(sha1_digest(""), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
  EXPECT_EQ(warc_date(1'765'000'000'123), "2025-12-06T05:46:40.123Z");
  const std::string id = new_record_id();
  EXPECT_EQ(id.size(), 47u);
  EXPECT_TRUE(id.starts_with("<urn:uuid:") && id[24] == '4') << id;
  EXPECT_NE(id, new_record_id());
}

TEST(Warc, WarcioReadsEveryRecordWithItsDigestsAndOffsets) {
  TempDir dir("warc");
  std::vector<Position> written;
  {
    Writer w({.dir = dir.path(),
              .prefix = "test",
              .writer = "host/1",
              .info = {{"software", "crawlworker"}}});
    for (int i = 0; i < 3; ++i) {
      auto p =
          write_fetch(w, "http://a.test/" + std::to_string(i),
                      "<p>" + std::string(1000 * (i + 1), 'x') + "</p>", 1'765'000'000'000 + i);
      written.insert(written.end(), p.begin(), p.end());
    }
    Record failure;
    failure.type = "metadata";
    failure.target_uri = "http://a.test/gone";
    failure.date_ms = 1'765'000'000'500;
    failure.content_type = "application/warc-fields";
    const std::string text = "fetch-error: connect: refused\r\n";
    failure.block = {text};
    ASSERT_TRUE(w.write(std::move(failure)));
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/" + w.current_file() + ".open"));
  }
  const auto names = files_in(dir.path());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(names[0].starts_with("test-20251206054640000-00001-host_1.warc.gz")) << names[0];
  const auto records = read_with_warcio({dir.path() + "/" + names[0]}, dir);
  ASSERT_EQ(records.size(), 8u);
  EXPECT_EQ(records[0]["type"], "warcinfo");
  for (std::size_t i = 0; i < records.size(); ++i) {
    SCOPED_TRACE(records[i].dump());
    EXPECT_EQ(records[i]["block_ok"], true);
    if (i > 0 && i < 7) {
      const Position& p = written[i - 1];
      EXPECT_EQ(records[i]["offset"], p.offset);
      EXPECT_EQ(records[i]["length"], p.length);
      EXPECT_EQ(p.file, names[0]);
    }
  }
  EXPECT_EQ(records[1]["type"], "request");
  EXPECT_EQ(records[2]["type"], "response");
  EXPECT_EQ(records[2]["uri"], "http://a.test/0");
  EXPECT_EQ(records[2]["http_status"], 200);
  EXPECT_EQ(records[2]["payload_ok"], true);
  EXPECT_EQ(records[1]["concurrent_to"], records[2]["id"]);
  EXPECT_EQ(records[7]["type"], "metadata");
}

// An exchange as the fetcher's tap gives it: a request head sent in two pieces, a chunked
// response's head, and a body of 1 MB in pieces, past the 64 KiB kept in memory (the rest is
// spooled): the record warcio reads is whole, its digests those of the bytes, the transfer
// coding's header renamed. A head cut before its blank line is closed and still reads.
TEST(Warc, AnExchangePastItsMemoryIsSpooledAndWrittenWhole) {
  TempDir dir("warc-exchange");
  std::string body;
  std::uint32_t x = 7;
  for (int i = 0; i < (1 << 20); ++i)
    body += static_cast<char>('a' + ((x = x * 1'103'515'245 + 12'345) >> 16) % 26);
  Writer w({.dir = dir.path(), .writer = "x", .info = {}});
  std::vector<std::string> ids;
  {
    Exchange ex(dir.path());
    ex.sent("GET /big HTTP/1.1\r\nHost: a.test\r\n");
    ex.sent("User-Agent: crawlworker\r\n\r\n");
    for (const char* line : {"HTTP/1.1 200 OK\r\n", "Content-Type: text/plain\r\n",
                             "Transfer-Encoding: chunked\r\n", "\r\n"})
      ex.header(line);
    for (std::size_t at = 0; at < body.size(); at += 10'000) ex.body(body.substr(at, 10'000));
    ex.header("X-Trailer: after the body\r\n");  // a trailer: not part of the head
    EXPECT_EQ(ex.hops().size(), 1u);
    EXPECT_EQ(ex.hops()[0].request,
              "GET /big HTTP/1.1\r\nHost: a.test\r\nUser-Agent: crawlworker\r\n\r\n");
    EXPECT_EQ(ex.body_bytes(), body.size());
    Record r = ex.response_record();
    EXPECT_GE(r.tail_fd, 0) << "past 64 KiB, the body is in the spool file";
    EXPECT_EQ(r.payload_digest, sha1_digest(body));
    r.target_uri = "http://a.test/big";
    r.date_ms = 1'765'000'000'000;
    ASSERT_TRUE(w.write(r));
    EXPECT_NE(ex.hops()[0].response.find("\r\nX-Crawler-Transfer-Encoding: chunked\r\n"),
              std::string::npos);
  }
  {
    Exchange cut(dir.path());
    cut.sent("GET /h HTTP/1.1\r\n\r\n");
    cut.header("HTTP/1.1 200 OK\r\n");
    cut.header("X-Many: 1\r\n");
    Record r = cut.response_record();
    EXPECT_TRUE(cut.head_cut());
    r.target_uri = "http://a.test/h";
    r.date_ms = 1'765'000'000'000;
    ASSERT_TRUE(w.write(r));
  }
  ASSERT_TRUE(w.close());
  const auto names = files_in(dir.path());
  ASSERT_EQ(names.size(), 1u) << "no spool file is left behind";
  const auto records = read_with_warcio({dir.path() + "/" + names[0]}, dir);
  ASSERT_EQ(records.size(), 3u);
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(records[i]["block_ok"], true) << records[i].dump();
    EXPECT_EQ(records[i]["payload_ok"], true) << records[i].dump();
    EXPECT_EQ(records[i]["http_status"], 200) << records[i].dump();
  }
  EXPECT_EQ(records[1]["payload_digest"], sha1_digest(body));
}

TEST(Warc, FilesRotateBySizeAndACutFileIsCutBackToItsLastWholeRecord) {
  TempDir dir("warc");
  {
    Writer w({.dir = dir.path(), .writer = "w", .max_file_bytes = 3000, .info = {}});
    std::uint32_t x = 1;
    for (int i = 0; i < 6; ++i) {
      std::string body(4000, ' ');  // bytes that do not compress: each fetch passes 3,000
      for (char& c : body)
        c = static_cast<char>(' ' + ((x = x * 1'103'515'245 + 12'345) >> 16) % 90);
      write_fetch(w, "http://a.test/" + std::to_string(i), body, 1'765'000'000'000 + 1000 * i);
    }
  }
  auto names = files_in(dir.path());
  ASSERT_EQ(names.size(), 6u);
  for (const auto& n : names) EXPECT_TRUE(n.ends_with(".warc.gz")) << n;
  EXPECT_TRUE(names[5].starts_with("crawl-20251206054645000-00006-w.")) << names[5];
  const auto rotated = read_with_warcio({dir.path() + "/" + names[5]}, dir);
  ASSERT_EQ(rotated.size(), 3u) << "each file opens with its warcinfo record";
  EXPECT_EQ(rotated[0]["type"], "warcinfo");
  EXPECT_EQ(rotated[2]["uri"], "http://a.test/5");

  // A writer killed mid-record: its file holds whole records and half of one.
  TempDir crashed("warc");
  std::string whole;
  {
    Writer w({.dir = crashed.path(), .writer = "k", .info = {}});
    write_fetch(w, "http://a.test/a", std::string(50'000, 'a'), 1'765'000'000'000);
    write_fetch(w, "http://a.test/b", std::string(50'000, 'b'), 1'765'000'001'000);
    const std::string open = crashed.path() + "/" + w.current_file() + ".open";
    std::ifstream in(open, std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string name = "crawl-20251206054640000-00001-k.warc.gz";
  std::filesystem::remove(crashed.path() + "/" + name);
  const std::uint64_t last = whole_members(whole);
  EXPECT_EQ(last, whole.size());
  {
    // The last response, cut in its middle.
    std::ofstream out(crashed.path() + "/" + name + ".open", std::ios::binary);
    out << whole << whole.substr(0, whole.size() / 2);
  }
  {
    std::ofstream other(crashed.path() + "/crawl-20251206054640000-00001-node-k.warc.gz.open");
    other << "left alone: another writer's, whose name ends as this one's does";
  }
  auto recovered = recover(crashed.path(), "k");
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(*recovered, std::vector<std::string>{name});
  const std::uint64_t half_whole = whole_members(whole.substr(0, whole.size() / 2));
  EXPECT_GT(half_whole, 0u);
  EXPECT_LT(half_whole, whole.size() / 2);
  EXPECT_EQ(std::filesystem::file_size(crashed.path() + "/" + name), whole.size() + half_whole);
  const auto records = read_with_warcio({crashed.path() + "/" + name}, crashed);
  for (const auto& r : records) EXPECT_EQ(r["block_ok"], true) << r.dump();
  EXPECT_GE(records.size(), 5u);
  EXPECT_TRUE(std::filesystem::exists(crashed.path() +
                                      "/crawl-20251206054640000-00001-node-k.warc.gz.open"));
}

}  // namespace
}  // namespace crawl::warc
