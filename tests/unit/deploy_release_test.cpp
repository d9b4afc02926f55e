// A release described from its binary: the sha256 and size of its bytes, the machine its ELF
// header names, and a file that is not an executable refused by name.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "deploy/release.hpp"

namespace crawl::deploy {
namespace {

std::string temp_file(const std::string& name, const std::string& bytes) {
  const auto path =
      std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()));
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

TEST(Release, ShaAndSizeOfTheBytes) {
  const std::string path = temp_file("release-abc", "abc");
  std::uint64_t size = 0;
  auto sha = sha256_file(path, size);
  ASSERT_TRUE(sha);
  EXPECT_EQ(*sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
  EXPECT_EQ(size, 3u);
  std::filesystem::remove(path);
}

TEST(Release, TheMachineIsTheElfHeadersAndAnythingElseIsRefused) {
  utsname u{};
  ASSERT_EQ(uname(&u), 0);
  auto self = describe_release("/proc/self/exe");
  ASSERT_TRUE(self) << self.error().message;
  EXPECT_EQ(self->arch, u.machine) << "this test binary runs here";
  EXPECT_EQ(self->os, "Linux");
  EXPECT_EQ(self->binary_sha256.size(), 64u);
  EXPECT_GT(self->binary_size, 0u);

  const std::string script = temp_file("release-script", "#!/bin/sh\necho hi\n");
  auto refused = describe_release(script);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::invalid);
  EXPECT_NE(refused.error().message.find(script + " is not an ELF executable"), std::string::npos)
      << refused.error().message;
  std::filesystem::remove(script);
  EXPECT_FALSE(describe_release("/nonexistent/crawlworker"));
}

// What a deploy sends: `gzip -dc` on the host gives back the very bytes whose sha256 the release
// names, and it is smaller.
TEST(Release, ThePayloadIsTheBinaryGzipped) {
  auto self = describe_release("/proc/self/exe");
  ASSERT_TRUE(self) << self.error().message;
  std::uint64_t size = 0;
  EXPECT_EQ(self->binary_sha256, *sha256_file("/proc/self/exe", size));
  ASSERT_TRUE(self->payload->compressed());
  const std::string& packed = *self->payload->compressed();
  EXPECT_LT(packed.size(), self->binary_size);
  const std::string in = temp_file("release-payload.gz", packed);
  const std::string out = in + ".out";
  ASSERT_EQ(std::system(("gzip -dc < '" + in + "' > '" + out + "'").c_str()), 0);
  std::uint64_t unpacked_size = 0;
  EXPECT_EQ(*sha256_file(out, unpacked_size), self->binary_sha256);
  EXPECT_EQ(unpacked_size, self->binary_size);
  std::filesystem::remove(in);
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace crawl::deploy
