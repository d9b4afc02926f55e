#include "deploy/release.hpp"

#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace crawl::deploy {

Result<std::string> sha256_file(const std::string& path, std::uint64_t& size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read {}", path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 16);
  size = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(in.gcount()));
    size += static_cast<std::uint64_t>(in.gcount());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  std::string hex;
  for (unsigned i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string elf_machine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[20] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof header) || header[0] != 0x7f ||
      header[1] != 'E' || header[2] != 'L' || header[3] != 'F')
    return "";
  const bool little = header[5] == 1;
  const unsigned machine = little ? header[18] | (header[19] << 8) : (header[18] << 8) | header[19];
  switch (machine) {
    case 62:
      return "x86_64";
    case 183:
      return "aarch64";
    case 3:
      return "i686";
    case 40:
      return "armv7l";
    case 243:
      return "riscv64";
    case 21:
      return "ppc64le";
    case 22:
      return "s390x";
    default:
      return fmt::format("elf-machine-{}", machine);
  }
}

Result<Release> describe_release(const std::string& binary_path) {
  Release release;
  release.binary_path = binary_path;
  auto sha = sha256_file(binary_path, release.binary_size);
  if (!sha) return fail(ErrorKind::invalid, "{}", sha.error().message);
  release.binary_sha256 = *sha;
  release.os = "Linux";  // what crawlworker is written for
  release.arch = elf_machine(binary_path);
  if (release.arch.empty())
    return fail(ErrorKind::invalid, "{} is not an ELF executable", binary_path);
  return release;
}

}  // namespace crawl::deploy
