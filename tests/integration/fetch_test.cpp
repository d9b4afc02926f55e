// The fetch engine against a server of our own that answers as hostile servers do.

#include <gtest/gtest.h>

#include "fetch/fetcher.hpp"
#include "http_server.hpp"
#include "process.hpp"

namespace crawl::testing {
namespace {

std::vector<fetch::Response> fetch_all(fetch::Fetcher& fetcher, std::size_t n,
                                       std::chrono::seconds timeout = 20s) {
  std::vector<fetch::Response> done;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (done.size() < n && std::chrono::steady_clock::now() < until)
    for (auto& r : fetcher.poll(std::chrono::milliseconds(100))) done.push_back(std::move(r));
  return done;
}

// A megabyte of response headers is reported as what it is, not as libcurl's "Out of memory".
TEST(Fetch, HeadersOverTheCapAreSaidToBeSo) {
  HttpServer server([](const HttpRequest& r) {
    if (r.target == "/huge")
      return http_reply(200, "hi", "text/html", "X-Big: " + std::string(1u << 20, 'a') + "\r\n");
    std::string many;
    for (int i = 0; i < 3000; ++i)
      many += "X-H" + std::to_string(i) + ": " + std::string(20, 'b') + "\r\n";
    if (r.target == "/many") return http_reply(200, "hi", "text/html", many);
    return http_reply(200, "fine", "text/html", "X-Ok: " + std::string(8000, 'c') + "\r\n");
  });
  fetch::Fetcher fetcher(fetch::Options{});
  fetcher.add({1, server.url("/huge"), false, std::nullopt});
  fetcher.add({2, server.url("/many"), false, std::nullopt});
  fetcher.add({3, server.url("/fine"), false, std::nullopt});
  auto done = fetch_all(fetcher, 3);
  ASSERT_EQ(done.size(), 3u);
  for (const auto& r : done) {
    if (r.id == 3) {
      EXPECT_EQ(r.failure, fetch::Failure::none) << r.error;
      EXPECT_EQ(r.body, "fine");
      continue;
    }
    EXPECT_EQ(r.failure, fetch::Failure::headers) << r.id << ": " << r.error;
    EXPECT_EQ(fetch::to_string(r.failure), "headers_too_large");
    EXPECT_NE(r.error.find("headers are over 64 KiB"), std::string::npos) << r.error;
  }
}

// A redirect's Location comes as the server wrote it, for the worker to resolve as a browser
// would: "http:/b" on an http page is the path /b of the same host, not the host "b".
TEST(Fetch, ALocationComesAsTheServerWroteIt) {
  HttpServer server([](const HttpRequest& r) {
    if (r.target == "/a")
      return http_reply(301, "", "text/html", "Location: http:/b?x=1\r\nRetry-After: 5\r\n");
    return http_reply(200, "b");
  });
  fetch::Fetcher fetcher(fetch::Options{});
  fetcher.add({1, server.url("/a"), false, std::nullopt});
  auto done = fetch_all(fetcher, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status, 301);
  EXPECT_EQ(done[0].location, "http:/b?x=1");
  EXPECT_EQ(done[0].retry_after, "5");
}

// Only gzip and deflate are asked for; a body in another encoding (whose decoder could hold a
// window as large as the sender declares) is refused, not decoded.
TEST(Fetch, AnEncodingNotAskedForIsRefused) {
  std::string accepted;
  HttpServer server([&](const HttpRequest& r) {
    const auto at = r.head.find("Accept-Encoding: ");
    if (at != std::string::npos)
      accepted = r.head.substr(at + 17, r.head.find("\r\n", at) - at - 17);
    const std::string coding = r.target == "/br"     ? "br"
                               : r.target == "/zstd" ? "zstd"
                                                     : "gzip, zstd";
    return http_reply(200, std::string(1000, 'x'), "text/html",
                      "Content-Encoding: " + coding + "\r\n");
  });
  fetch::Fetcher fetcher(fetch::Options{});
  fetcher.add({1, server.url("/br"), false, std::nullopt});
  fetcher.add({2, server.url("/zstd"), false, std::nullopt});
  fetcher.add({3, server.url("/both"), false, std::nullopt});
  auto done = fetch_all(fetcher, 3);
  ASSERT_EQ(done.size(), 3u);
  for (const auto& r : done) {
    EXPECT_EQ(r.failure, fetch::Failure::encoding) << r.id << " " << r.error;
    EXPECT_EQ(r.body, "");
  }
  EXPECT_EQ(accepted, "gzip, deflate");
}

// Bodies kept in memory share the budget: each may take its share, the rest goes first come,
// and a body past both keeps what it has (memory_cut) while its bytes are still counted.
TEST(Fetch, KeptBodiesShareTheBodyMemory) {
  const std::string big(3u << 20, 'a');
  HttpServer server([&](const HttpRequest& r) {
    if (r.target == "/plain") return http_reply(200, big, "application/octet-stream");
    return http_reply(200, big);
  });
  fetch::Options o;
  o.max_connections = 4;
  o.body_memory = 8u << 20;  // shares of 1 MiB, a pool of 4 MiB
  o.keep_body_bytes = 2u << 20;
  o.keep_body = [](std::string_view type) { return type == "text/html"; };
  fetch::Fetcher fetcher(o);
  for (std::uint64_t i = 1; i <= 4; ++i)
    fetcher.add({i, server.url("/page" + std::to_string(i)), false, std::nullopt});
  fetcher.add({5, server.url("/plain"), false, std::nullopt});
  fetcher.add({6, server.url("/plain"), false, std::uint64_t{100}});  // kept whatever its type
  auto done = fetch_all(fetcher, 6);
  ASSERT_EQ(done.size(), 6u);
  std::uint64_t kept = 0;
  int full = 0, cut = 0;
  for (const auto& r : done) {
    EXPECT_EQ(r.failure, fetch::Failure::none) << r.error;
    EXPECT_EQ(r.body_bytes, big.size()) << r.id << ": every byte is counted";
    EXPECT_FALSE(r.truncated);
    if (r.id == 5) {
      EXPECT_EQ(r.body.size(), 0u) << "a type not kept";
      continue;
    }
    if (r.id == 6) {
      EXPECT_EQ(r.body, std::string(100, 'a'));
      continue;
    }
    kept += r.hold.bytes();
    EXPECT_GE(r.body.size(), 1u << 20) << "less than its share";
    EXPECT_LE(r.body.size(), 2u << 20);
    EXPECT_EQ(r.body, big.substr(0, r.body.size()));
    full += r.body.size() == (2u << 20);
    cut += r.memory_cut;
  }
  EXPECT_LE(kept, 8u << 20);
  EXPECT_EQ(full + cut, 4);
  EXPECT_GE(full, 2) << "the pool holds two more MiB for two of them";
  EXPECT_EQ(fetcher.body_memory_used(), kept + 100) << "what the bodies alive hold, no more";
  done.clear();
  EXPECT_EQ(fetcher.body_memory_used(), 0u) << "given back with the bodies";
}

}  // namespace
}  // namespace crawl::testing
