// Files written into a directory whose entries someone else may have planted.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dir.hpp"

namespace crawl {
namespace {

namespace fs = std::filesystem;

struct Scratch {
  std::string path = (fs::path(::testing::TempDir()) / ("dir-test-" + std::to_string(getpid())));
  Scratch() { fs::create_directories(path); }
  ~Scratch() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(path + "/" + name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

TEST(OutputDir, WritesRegularFilesAndRefusesWhatWasPlanted) {
  Scratch s;
  s.write("victim", "keep me");
  auto dir = OutputDir::open(s.path + "/out");
  ASSERT_TRUE(dir) << dir.error().message;
  auto sub = dir->subdir("host1");
  ASSERT_TRUE(sub) << sub.error().message;
  // A regular file: appended, emptied when fresh, read back, replaced whole.
  auto file = sub->append("w1.log", true);
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_TRUE(file->write("one\n"));
  ASSERT_TRUE(sub->append("w1.log", false)->write("two\n"));
  EXPECT_EQ(*sub->read("w1.log", 100), "one\ntwo\n");
  EXPECT_FALSE(sub->read("w1.log", 3)) << "longer than asked for";
  EXPECT_EQ(sub->read("missing", 100).error().kind, ErrorKind::not_found);
  ASSERT_TRUE(sub->replace(".cursors", "1 2 3 4\n"));
  EXPECT_EQ(*sub->read(".cursors", 100), "1 2 3 4\n");
  // Planted: a symbolic link, a hard link, a FIFO, a link for a directory.
  fs::create_symlink(s.path + "/victim", s.path + "/out/host1/link");
  fs::create_hard_link(s.path + "/victim", s.path + "/out/host1/hard");
  ASSERT_EQ(mkfifo((s.path + "/out/host1/fifo").c_str(), 0600), 0);
  fs::create_directory_symlink(s.path, s.path + "/out/host2");
  for (const char* name : {"link", "hard", "fifo"}) {
    EXPECT_FALSE(sub->append(name, true)) << name;
    EXPECT_FALSE(sub->read(name, 100)) << name;
  }
  EXPECT_NE(sub->append("link", false).error().message.find("symbolic link"), std::string::npos);
  EXPECT_NE(sub->append("hard", false).error().message.find("2 links"), std::string::npos);
  EXPECT_FALSE(dir->subdir("host2"));
  EXPECT_FALSE(dir->subdir("../x"));
  // Replacing a link replaces the link, never what it names.
  ASSERT_TRUE(sub->replace("link", "new"));
  EXPECT_EQ(s.read("victim"), "keep me");
  EXPECT_EQ(s.read("out/host1/link"), "new");
  EXPECT_FALSE(fs::is_symlink(s.path + "/out/host1/link"));
}

// What collect relies on: a part renamed to its name never replaces a file, entries listed,
// a file read in pieces, removal of what may be gone already.
TEST(OutputDir, RenameNeverReplacesAndNamesListsAndRemoveForgets) {
  Scratch s;
  auto out = OutputDir::open(s.path + "/ops");
  ASSERT_TRUE(out);
  ASSERT_TRUE(out->replace("a", "1"));
  ASSERT_TRUE(out->replace("b", "2"));
  auto refused = out->rename("a", "b");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::invalid);
  EXPECT_EQ(*out->read("b", 10), "2");
  ASSERT_TRUE(out->rename("a", "c"));
  auto names = out->names();
  ASSERT_TRUE(names);
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"b", "c"}));
  std::string read;
  ASSERT_TRUE(out->read_each("c", [&](std::string_view piece) { read += piece; }));
  EXPECT_EQ(read, "1");
  ASSERT_TRUE(out->remove("c"));
  ASSERT_TRUE(out->remove("c"));  // gone already: nothing to do
  EXPECT_EQ(out->read("c", 10).error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace crawl
