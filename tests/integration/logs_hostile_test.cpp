// crawlctl logs against a compromised host (one real sshd): its log lines cannot drive the
// operator's terminal, what it planted in the output directory cannot make crawlctl write
// outside it, and its frames cannot make crawlctl hold a gigabyte or open thousands of files.

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "deployment.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct OneHost : HostsOnly {
  OneHost() : HostsOnly(1, "logs-hostile") {}
};

bool raw_control(const std::string& text) {
  return text.find_first_of("\x1b\x07\r") != std::string::npos ||
         text.find("\xc2\x9b") != std::string::npos;
}

// A worker's log holding terminal commands, and a symbolic link, a FIFO and a hard link planted
// in the output directory where crawlctl keeps its files: the lines are shown escaped, nothing
// outside the directory is written, and the host's run fails saying which file it refused.
// Before, the lines reached the terminal raw and crawlctl wrote (and truncated) through the
// links.
TEST(Logs, AHostileHostReachesNeitherTheTerminalNorFilesOutsideTheOutdir) {
  OneHost h;
  fs::create_directories(h.host().remote_dir + "/log");
  write_text(h.host().remote_dir + "/log/w1.log",
             "event=start\n\x1b]0;owned\x07\x1b[2J title and clear\nhidden\rshown \xc2\x9b"
             "2J\nlast\n");
  CommandResult r = h.ctl({"logs", "-n", "5"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(raw_control(r.out + r.err)) << r.out;
  EXPECT_NE(r.out.find("host1/1 \\x1b]0;owned\\x07\\x1b[2J title and clear"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("host1/1 hidden\\rshown \\u009b2J"), std::string::npos) << r.out;

  // Files of the operator's outside the output directory, and links to them planted inside.
  const std::string outdir = h.dir / "out", mine = h.dir / "mine";
  fs::create_directories(outdir + "/host1");
  fs::create_directories(mine);
  const std::string victim = "precious bytes, not to be written\n";
  for (const char* name : {"a", "b", "c"}) write_text(mine + "/" + name, victim);
  fs::create_symlink(mine + "/a", outdir + "/host1/w1.log");
  fs::create_symlink(mine + "/b", outdir + "/host1/.cursors.tmp");
  r = h.ctl({"logs", "--outdir", outdir, "--json"});
  EXPECT_EQ(r.rc, 3) << r.out << r.err;  // its only host failed
  EXPECT_NE(r.out.find("w1.log is a symbolic link: refused"), std::string::npos) << r.out;
  // A .cursors that would have truncated the file it names, through a link.
  fs::remove(outdir + "/host1/w1.log");
  fs::create_hard_link(mine + "/c", outdir + "/host1/w1.log");
  r = h.ctl({"logs", "--outdir", outdir, "--json"});
  EXPECT_EQ(r.rc, 3) << r.out << r.err;  // its only host failed
  EXPECT_NE(r.out.find("w1.log has 2 links"), std::string::npos) << r.out;
  fs::remove(outdir + "/host1/w1.log");
  ASSERT_EQ(mkfifo((outdir + "/host1/w1.log").c_str(), 0600), 0);
  r = h.ctl({"logs", "--outdir", outdir, "--json"});
  EXPECT_EQ(r.rc, 3) << r.out << r.err;  // its only host failed
  EXPECT_NE(r.out.find("w1.log is not a regular file"), std::string::npos) << r.out;
  fs::remove(outdir + "/host1/w1.log");
  write_text(mine + "/d", "1 1 1 0\n");
  fs::remove(outdir + "/host1/.cursors");  // as the refusals above left it
  fs::create_symlink(mine + "/d", outdir + "/host1/.cursors");
  r = h.ctl({"logs", "--outdir", outdir, "--json"});
  EXPECT_EQ(r.rc, 3) << r.out << r.err;  // its only host failed
  EXPECT_NE(r.out.find(".cursors is a symbolic link: refused"), std::string::npos) << r.out;
  for (const char* name : {"a", "b", "c"}) EXPECT_EQ(read_text(mine + "/" + name), victim) << name;
  EXPECT_EQ(read_text(mine + "/d"), "1 1 1 0\n");
  // With the plants gone, the log is saved there as it is, once.
  fs::remove(outdir + "/host1/.cursors");
  fs::remove(outdir + "/host1/.cursors.tmp");
  r = h.ctl({"logs", "--outdir", outdir, "--json"});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(read_text(outdir + "/host1/w1.log"), read_text(h.host().remote_dir + "/log/w1.log"));
}

// The host's login runs a script of the test's instead of the logs script (sshd ForceCommand):
// frames for 25,000 workers; a tail frame that says it holds a gigabyte and sends 300 MB of it.
// Before, the first opened 19,994 files (then "cannot write", with the host reported ok) and
// the second took 1.07 GB. Now a frame past the limits is refused at its header: at most 1,025
// files, and crawlctl stays small.
TEST(Logs, AHostsFramesAreBounded) {
  OneHost h;
  const std::string script = h.dir / "frames.sh";
  write_text(
      script,
      "#!/bin/sh\n"
      "if [ -e \"$0.tail\" ]; then\n"
      "  printf '\\036T 1 1 1073741824 1073741824\\n'; head -c 300000000 /dev/zero; sleep 20\n"
      "else\n"
      "  i=0; while [ $i -lt 25000 ]; do i=$((i+1)); printf '\\036D %s 1 1 1\\nx' $i; done\n"
      "fi\n");
  fs::permissions(script, fs::perms(0755));
  h.fleet.reconfigure_host(0, "ForceCommand " + script + "\n");
  const std::string outdir = h.dir / "out";
  CommandResult r = h.ctl({"logs", "--outdir", outdir, "--json"});
  EXPECT_EQ(r.rc, 3) << r.out << r.err;  // its only host failed
  EXPECT_NE(r.out.find("step-failed"), std::string::npos) << r.out;
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(outdir + "/host1")) ++files;
  EXPECT_LE(files, 1026u);  // w0.log .. w1024.log and .cursors

  write_text(script + ".tail", "");
  Process ctl(SpawnOptions{{CRAWLCTL, "logs", "-n", "5", "-H", h.hosts, "--ssh-config", "none"},
                           h.dir / "tail.out",
                           {}});
  long long peak = 0;
  while (ctl.running()) {
    peak = std::max(peak, peak_rss_bytes(ctl.pid()));
    std::this_thread::sleep_for(20ms);
  }
  std::fprintf(stderr, "crawlctl's peak RSS: %.1f MB\n", static_cast<double>(peak) / 1e6);
  EXPECT_GT(peak, 0);
  if (!CRAWL_SANITIZED) {  // ASan's shadow memory is not ours
    EXPECT_LT(peak, 100'000'000);
  }
  ctl.stop();
  ASSERT_TRUE(ctl.exit_status());
  EXPECT_EQ(WEXITSTATUS(*ctl.exit_status()), 3);  // its only host failed
}

}  // namespace
}  // namespace crawl::testing
