// crawlctl collect against real sshd hosts whose warc_dir holds WARC files as workers write
// them (lib/warc's Writer): closed files come home once, byte for byte, a file still open
// stays, --job selects, a copy cut short goes on where it stopped, a copy that is not the host's
// is refused and fetched again, and the CDXJ index beside them is warcio's.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "deployment.hpp"
#include "warc/warc.hpp"
#include "warcio.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;

// Writes `pages` fetches of job `job` as the worker `writer` would, into `dir`; closes the file
// unless `keep_open`. Returns the file's closed name.
std::string write_warc(const std::string& dir, const std::string& job, const std::string& writer,
                       int pages, bool keep_open, std::unique_ptr<warc::Writer>* open = nullptr) {
  fs::create_directories(dir);
  auto w = std::make_unique<warc::Writer>(
      warc::WriterOptions{.dir = dir, .prefix = "job" + job, .writer = writer});
  for (int i = 0; i < pages; ++i) {
    // Bodies of 1 KB to 300 KB, so that files take several reads and frames.
    const std::string body = "<html><title>page " + std::to_string(i) + "</title>" +
                             std::string(static_cast<std::size_t>(1000 + i * 30'000), 'x');
    const std::string url = "http://www.example.test/p/" + std::to_string(i) + "?b=2&a=1";
    const std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    warc::Record response;
    response.type = "response";
    response.target_uri = url;
    response.date_ms = 1'796'600'000'000 + i;
    response.record_id = warc::new_record_id();
    response.content_type = "application/http;msgtype=response";
    response.block = {head, body};
    response.payload_from = 1;
    EXPECT_TRUE(w->write(response));
    warc::Record request;
    request.type = "request";
    request.target_uri = url;
    request.date_ms = response.date_ms;
    request.content_type = "application/http;msgtype=request";
    request.fields = {{"WARC-Concurrent-To", response.record_id}};
    const std::string sent =
        "GET /p/" + std::to_string(i) + " HTTP/1.1\r\nHost: www.example.test\r\n\r\n";
    request.block = {sent};
    EXPECT_TRUE(w->write(request));
  }
  const std::string name = w->current_file();
  if (keep_open && open != nullptr)
    *open = std::move(w);
  else
    EXPECT_TRUE(w->close());
  return name;
}

long long fetched(const CommandResult& r, const std::string& host) {
  const nlohmann::json report = nlohmann::json::parse(r.out);
  for (const auto& h : report["hosts"])
    if (h["name"] == host) return h.value("bytes_fetched", 0LL);
  ADD_FAILURE() << "no " << host << " in " << r.out;
  return -1;
}

TEST(Collect, ClosedFilesComeHomeOnceVerifiedAndIndexed) {
  HostsOnly h(2, "collect");
  const std::string warc1 = h.host(0).remote_dir + "/warc", warc2 = h.host(1).remote_dir + "/warc";
  const std::string a = write_warc(warc1, "1", "host1/1", 12, false);
  std::unique_ptr<warc::Writer> open;
  const std::string b = write_warc(warc1, "1", "host1/2", 3, true, &open);
  const std::string c = write_warc(warc1, "2", "host1/1", 2, false);
  const std::string d = write_warc(warc2, "1", "host2/1", 5, false);
  const std::string out = h.dir / "out";

  // Job 1: the closed files of both hosts; the open one and job 2's stay.
  CommandResult r = h.ctl({"collect", "--outdir", out, "--job", "1", "--json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(fetched(r, "host1"), static_cast<long long>(fs::file_size(warc1 + "/" + a)));
  EXPECT_EQ(read_text(out + "/host1/" + a), read_text(warc1 + "/" + a));
  EXPECT_EQ(read_text(out + "/host2/" + d), read_text(warc2 + "/" + d));
  EXPECT_FALSE(fs::exists(out + "/host1/" + b));
  EXPECT_FALSE(fs::exists(out + "/host1/" + c));
  TempDir scratch("collect-read");
  EXPECT_EQ(read_text(out + "/index.cdxj"),
            warcio_cdxj({out + "/host1/" + a, out + "/host2/" + d}, scratch));
  EXPECT_EQ(read_text(out + "/host2/" + d + ".cdxj"), warcio_cdxj({out + "/host2/" + d}, scratch));

  // Everything: only job 2's file is new.
  r = h.ctl({"collect", "--outdir", out, "--json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(fetched(r, "host1"), static_cast<long long>(fs::file_size(warc1 + "/" + c)));
  EXPECT_EQ(fetched(r, "host2"), 0);
  EXPECT_EQ(read_text(out + "/host1/" + c), read_text(warc1 + "/" + c));

  // The open file closes; a copy of its first half is held (a run cut short): only the rest
  // comes.
  ASSERT_TRUE(open->close());
  const std::string whole = read_text(warc1 + "/" + b);
  const std::size_t half = whole.size() / 2;
  write_text(out + "/host1/." + b + ".part", whole.substr(0, half));
  r = h.ctl({"collect", "--outdir", out, "--json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(fetched(r, "host1"), static_cast<long long>(whole.size() - half));
  EXPECT_EQ(read_text(out + "/host1/" + b), whole);
  EXPECT_FALSE(fs::exists(out + "/host1/." + b + ".part"));

  // A copy that is not the host's (its first bytes changed): refused by the digest, removed,
  // and fetched whole by the next run.
  const std::string e = write_warc(warc2, "1", "host2/2", 2, false);
  std::string wrong = read_text(warc2 + "/" + e).substr(0, 100);
  wrong[50] ^= 1;
  write_text(out + "/host2/." + e + ".part", wrong);
  r = h.ctl({"collect", "--outdir", out});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find(e + ": the copy is not the host's"), std::string::npos)
      << r.out << r.err;
  EXPECT_FALSE(fs::exists(out + "/host2/." + e + ".part"));
  EXPECT_FALSE(fs::exists(out + "/host2/" + e));
  r = h.ctl({"collect", "--outdir", out});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(read_text(out + "/host2/" + e), read_text(warc2 + "/" + e));
  EXPECT_EQ(read_text(out + "/index.cdxj"),
            warcio_cdxj({out + "/host1/" + a, out + "/host1/" + b, out + "/host1/" + c,
                         out + "/host2/" + d, out + "/host2/" + e},
                        scratch));
}

}  // namespace
}  // namespace crawl::testing
