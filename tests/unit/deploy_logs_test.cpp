// The logs protocol (frames from a host, whatever the chunking) and the inspect step's output.

#include <gtest/gtest.h>

#include "deploy/logs.hpp"
#include "deploy/plan.hpp"

namespace crawl::deploy {
namespace {

struct Seen {
  char kind;
  int worker;
  std::uint64_t inode, end, length;
  std::string data, text;
  int calls = 0;
};

std::vector<Seen> parse(const std::string& stream, std::size_t chunk,
                        std::string* error = nullptr) {
  std::vector<Seen> out;
  bool open = false;
  FrameParser parser([&](const FrameHeader& f, std::string_view data, bool last) {
    if (!open) out.push_back({f.kind, f.worker, f.end.inode, f.end.offset, f.length, "", f.text});
    out.back().data.append(data);
    ++out.back().calls;
    open = !last;
  });
  for (std::size_t i = 0; i < stream.size(); i += chunk)
    if (!parser.feed(std::string_view(stream).substr(i, chunk))) {
      if (error) *error = parser.error();
      break;
    }
  return out;
}

const std::string k_stream =
    "Welcome to a login banner\n"
    "\x1eT 1 77 12 6\nab\ncd\n"
    "\x1eH\n"
    "\x1e"
    "D 2 88 100 4\nx\x1eyz"  // the frame's bytes may hold anything, 0x1e included
    "\x1eG 3\n"
    "\x1e"
    "D 4 9 0 0\n"
    "\x1e"
    "E nothing deployed: no \"$HOME\"/crawl\n";

TEST(LogFrames, AreTheSameWhateverTheChunking) {
  for (std::size_t chunk : {std::size_t(1), std::size_t(2), std::size_t(7), k_stream.size()}) {
    const auto frames = parse(k_stream, chunk);
    ASSERT_EQ(frames.size(), 6u) << "chunk " << chunk;
    EXPECT_EQ(frames[0].kind, 'T');
    EXPECT_EQ(frames[0].worker, 1);
    EXPECT_EQ(frames[0].inode, 77u);
    EXPECT_EQ(frames[0].end, 12u);
    EXPECT_EQ(frames[0].data, "ab\ncd\n");
    EXPECT_EQ(frames[1].kind, 'H');
    EXPECT_EQ(frames[2].kind, 'D');
    EXPECT_EQ(frames[2].worker, 2);
    EXPECT_EQ(frames[2].data, "x\x1eyz");
    EXPECT_EQ(frames[3].kind, 'G');
    EXPECT_EQ(frames[3].worker, 3);
    EXPECT_EQ(frames[4].kind, 'D');  // an empty frame still says where the log ends
    EXPECT_EQ(frames[4].calls, 1);
    EXPECT_EQ(frames[4].data, "");
    EXPECT_EQ(frames[5].kind, 'E');
    EXPECT_EQ(frames[5].text, "nothing deployed: no \"$HOME\"/crawl");
  }
}

TEST(LogFrames, RejectMalformedHeaders) {
  for (const std::string bad : {"\x1e"
                                "D 1 x 2 3\n",
                                "\x1eT 1 2 3\n", "\x1eQ\n", "\x1eG\n", "\x1eH 1\n",
                                "\x1e"
                                "D -1 2 3 4\n",
                                "\x1e"
                                "D 1 2 3 99999999999999999999\n"}) {
    std::string error;
    parse(bad, bad.size(), &error);
    EXPECT_NE(error.find("malformed"), std::string::npos) << bad << ": " << error;
  }
  std::string error;
  parse("\x1e" + std::string(5000, 'D'), 100, &error);
  EXPECT_NE(error.find("longer than 4096"), std::string::npos) << error;
}

TEST(LogsStep, SendsTheCursorsOnStdinAndQuotesTheRegex) {
  config::Host host;
  host.name = "h1";
  host.remote_dir = "~/crawl dir";
  LogRequest r;
  r.tail_lines = -1;
  r.follow = true;
  r.poll = std::chrono::milliseconds(200);
  r.grep = "it's; rm -rf /";
  r.cursors = {{1, {77, 12}}, {3, {9, 0}}};
  const Step step = logs_step(host, r);
  EXPECT_EQ(step.input, "1 77 12\n3 9 0\n");
  EXPECT_TRUE(step.command.starts_with("sh -c '"));
  // Inside the script: the values as assignments, the regex quoted for the shell.
  EXPECT_NE(step.command.find("lines=-1"), std::string::npos);
  EXPECT_NE(step.command.find("follow=1"), std::string::npos);
  EXPECT_NE(step.command.find("poll=0.200"), std::string::npos);
  EXPECT_NE(step.command.find("beats=10"), std::string::npos);
  EXPECT_EQ(step.command.find("grep=it"), std::string::npos) << "the regex must be quoted";
}

TEST(Inspection, ReadsEachWorkersProcessAndLog) {
  auto parsed = parse_inspection(
      "some banner\n"
      "now 1000\n"
      "worker 2 123 running 4096 990\n"
      "worker 10 77 zombie 10 900\n"
      "worker 1 0 none -1 0\n"
      "worker 3 55 exited 8 100\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->now, 1000);
  ASSERT_EQ(parsed->workers.size(), 4u);
  EXPECT_EQ(parsed->workers[0].index, 1);
  EXPECT_EQ(parsed->workers[0].state, WorkerProcess::State::none);
  EXPECT_EQ(parsed->workers[0].log_bytes, -1);
  EXPECT_EQ(parsed->workers[1].index, 2);
  EXPECT_EQ(parsed->workers[1].pid, 123);
  EXPECT_EQ(parsed->workers[1].state, WorkerProcess::State::running);
  EXPECT_EQ(parsed->workers[1].log_bytes, 4096);
  EXPECT_EQ(parsed->workers[1].log_mtime, 990);
  EXPECT_EQ(parsed->workers[2].state, WorkerProcess::State::exited);
  EXPECT_EQ(parsed->workers[3].index, 10);
  EXPECT_EQ(parsed->workers[3].state, WorkerProcess::State::exited) << "a zombie is dead";
  EXPECT_FALSE(parse_inspection("worker 1 2 running 3 4\n")) << "no clock: not our script's output";
}

}  // namespace
}  // namespace crawl::deploy
