// The fetch engine against a server of our own that answers as hostile servers do.

#include <gtest/gtest.h>

#include "fetch/fetcher.hpp"
#include "http_server.hpp"
#include "process.hpp"

namespace crawl::testing {
namespace {

std::vector<fetch::Response> fetch_all(fetch::Fetcher& fetcher, std::size_t n, std::chrono::seconds timeout = 20s) {
  std::vector<fetch::Response> done;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (done.size() < n && std::chrono::steady_clock::now() < until)
    for (auto& r : fetcher.poll(std::chrono::milliseconds(100))) done.push_back(std::move(r));
  return done;
}

// A megabyte of response headers is reported as what it is, not as libcurl's "Out of memory".
TEST(Fetch, HeadersOverTheCapAreSaidToBeSo) {
  HttpServer server([](const HttpRequest& r) {
    if (r.target == "/huge") return http_reply(200, "hi", "text/html", "X-Big: " + std::string(1u << 20, 'a') + "\r\n");
    std::string many;
    for (int i = 0; i < 3000; ++i) many += "X-H" + std::to_string(i) + ": " + std::string(20, 'b') + "\r\n";
    if (r.target == "/many") return http_reply(200, "hi", "text/html", many);
    return http_reply(200, "fine", "text/html", "X-Ok: " + std::string(8000, 'c') + "\r\n");
  });
  fetch::Fetcher fetcher(fetch::Options{});
  fetcher.add({1, server.url("/huge"), false});
  fetcher.add({2, server.url("/many"), false});
  fetcher.add({3, server.url("/fine"), false});
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
    if (r.target == "/a") return http_reply(301, "", "text/html", "Location: http:/b?x=1\r\nRetry-After: 5\r\n");
    return http_reply(200, "b");
  });
  fetch::Fetcher fetcher(fetch::Options{});
  fetcher.add({1, server.url("/a"), false});
  auto done = fetch_all(fetcher, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].status, 301);
  EXPECT_EQ(done[0].location, "http:/b?x=1");
  EXPECT_EQ(done[0].retry_after, "5");
}

}  // namespace
}  // namespace crawl::testing
