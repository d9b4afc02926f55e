// The fetch engine against a server of our own that answers as hostile servers do.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

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

// `text` compressed by zlib: windowBits 15+16 is gzip, 15 zlib's format, -15 raw deflate.
std::string compressed(std::string_view text, int bits) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Recorded final : fetch::Tap {
  std::string request, head, raw;
  void sent(std::string_view h) override { request += h; }
  void header(std::string_view line) override { head += line; }
  void body(std::string_view bytes) override { raw += bytes; }
};

// Bodies are decoded here, not by libcurl, so that a tap sees them as they came: gzip (one
// member or several), deflate in zlib's format or raw, two codings one over the other, and a
// chunked body; broken data is a protocol failure that says so.
TEST(Fetch, BodiesAreDecodedHereAndATapSeesThemAsTheyCame) {
  std::string page;
  for (int i = 0; i < 2000; ++i) page += "<p>line " + std::to_string(i) + "</p>\n";
  const std::string gz = compressed(page, 16 + 15);
  HttpServer server([&](const HttpRequest& r) {
    const auto coded = [](std::string body, const std::string& coding) {
      return http_reply(200, std::move(body), "text/html", "Content-Encoding: " + coding + "\r\n");
    };
    if (r.target == "/gzip") return coded(gz, "gzip");
    if (r.target == "/zlib") return coded(compressed(page, 15), "deflate");
    if (r.target == "/raw") return coded(compressed(page, -15), "deflate");
    if (r.target == "/members")
      return coded(compressed(page.substr(0, 1000), 31) + compressed(page.substr(1000), 31),
                   "x-gzip");
    if (r.target == "/twice") return coded(compressed(gz, 15), "gzip, deflate");
    if (r.target == "/broken") return coded(gz.substr(0, 20) + std::string(500, 'x'), "gzip");
    if (r.target == "/dribble" || r.target == "/dribble-raw") {
      // The head and the body's first byte, then the rest in pieces: deflate's first two bytes
      // (which say its format) come apart.
      HttpReply slow =
          coded(compressed(page.substr(0, 3000), r.target == "/dribble" ? 15 : -15), "deflate");
      slow.chunk = slow.bytes.find("\r\n\r\n") + 5;
      slow.pace = std::chrono::milliseconds(30);
      return slow;
    }
    // Chunked, in chunks of 1,000 bytes.
    std::string bytes =
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    for (std::size_t at = 0; at < gz.size(); at += 1000) {
      const std::string part = gz.substr(at, 1000);
      bytes += fmt::format("{:x}\r\n", part.size()) + part + "\r\n";
    }
    bytes += "0\r\n\r\n";
    return HttpReply{bytes};
  });
  fetch::Fetcher fetcher(fetch::Options{});
  const std::vector<std::string> paths = {"/gzip",    "/zlib",    "/raw",
                                          "/members", "/twice",   "/broken",
                                          "/chunked", "/dribble", "/dribble-raw"};
  for (std::size_t i = 0; i < paths.size(); ++i) {
    fetch::Request request{i, server.url(paths[i]), false, std::nullopt};
    request.tap = std::make_unique<Recorded>();
    fetcher.add(std::move(request));
  }
  auto done = fetch_all(fetcher, paths.size());
  ASSERT_EQ(done.size(), paths.size());
  for (const auto& r : done) {
    const std::string& path = paths[r.id];
    const auto& tap = dynamic_cast<const Recorded&>(*r.tap);
    EXPECT_TRUE(tap.request.starts_with("GET " + path + " HTTP/1.1\r\n")) << tap.request;
    EXPECT_NE(tap.request.find("\r\nAccept-Encoding: gzip, deflate\r\n"), std::string::npos);
    EXPECT_TRUE(tap.head.starts_with("HTTP/1.1 200 ")) << tap.head;
    EXPECT_TRUE(tap.head.ends_with("\r\n\r\n")) << tap.head;
    EXPECT_EQ(r.ip, "127.0.0.1");
    EXPECT_EQ(r.raw_bytes, tap.raw.size()) << path;
    if (path == "/broken") {
      EXPECT_EQ(r.failure, fetch::Failure::protocol) << r.error;
      EXPECT_NE(r.error.find("gzip or deflate data is broken"), std::string::npos) << r.error;
      continue;
    }
    EXPECT_EQ(r.failure, fetch::Failure::none) << path << ": " << r.error;
    const std::string want = path.starts_with("/dribble") ? page.substr(0, 3000) : page;
    EXPECT_EQ(r.body, want) << path;
    EXPECT_EQ(r.body_bytes, want.size()) << path;
    if (path == "/gzip" || path == "/chunked") {
      EXPECT_EQ(tap.raw, gz) << path;
    }
    if (path == "/chunked") {
      EXPECT_NE(tap.head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    }
  }
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
