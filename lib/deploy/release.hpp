#pragma once
// What a deploy ships, described from the binary itself: its sha256 and size, and the machine
// its ELF header says it is built for. (The rest of lib/deploy is pure; this reads the file.)

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "deploy/plan.hpp"

namespace crawl::deploy {

// The release of the crawlworker at `binary_path`, without its config: os Linux (what
// crawlworker is written for), arch from the ELF header, the payload gzip-compressed. Fails, naming
// the file, when it cannot be read or is not an ELF executable.
Result<Release> describe_release(const std::string& binary_path);

// `data` as a gzip stream (what `gzip -dc` reads back).
Result<std::string> gzip(std::string_view data);

// SHA-256, incrementally; hex() gives it in lower-case hex and spends the object.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  std::string hex();

 private:
  void* m_ctx;
};

// sha256 (lower-case hex) of bytes; and of a file's bytes, with their count.
std::string sha256_hex(std::string_view data);
Result<std::string> sha256_file(const std::string& path, std::uint64_t& size);

// The machine an ELF binary is built for, as `uname -m` names it; "" if it is not an ELF file.
std::string elf_machine(const std::string& path);

}  // namespace crawl::deploy
