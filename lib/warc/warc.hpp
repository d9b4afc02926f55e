#pragma once
// WARC files (ISO 28500), version 1.1: its WARC-Date may carry milliseconds, so two fetches of
// one URL in the same second stay in order; warcio, pywb and the other current readers read it
// (WARC/1.0 readers that check the version line do not). Each record is one gzip member, so a
// reader can seek to any record's offset, and a file cut anywhere (a kill -9 mid-record) is
// whole up to its last complete member: recover() cuts a file left open back to there.
//
// A file being written is NAME.warc.gz.open; once closed (rotated past max_file_bytes, or the
// writer closed) it is NAME.warc.gz, and only then complete: that is what is collected.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace crawl::warc {

inline constexpr std::uint64_t k_default_max_file_bytes = 1'000'000'000;

// SHA-1, incrementally, written as WARC digests are: "sha1:" and RFC 4648 base32 (32 letters).
class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(const Sha1&) = delete;
  Sha1& operator=(const Sha1&) = delete;
  void update(std::string_view bytes);
  std::string finish();  // "sha1:..."; the object is spent

 private:
  void* m_ctx;
};
std::string sha1_digest(std::string_view bytes);

std::string base32(std::string_view bytes);   // RFC 4648, upper case, padded with '='
std::string new_record_id();                  // "<urn:uuid:...>", random (version 4)
std::string warc_date(std::int64_t unix_ms);  // "2026-12-07T03:04:05.123Z"

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Record {
  std::string type;        // warcinfo, request, response, metadata, resource, revisit
  std::string target_uri;  // WARC-Target-URI, without angle brackets ("" for warcinfo)
  std::int64_t date_ms = 0;
  std::string record_id;     // new_record_id() when ""
  std::string content_type;  // "application/http;msgtype=response", ...
  Fields fields;             // further named fields, written in order (WARC-Concurrent-To, ...)
  std::vector<std::string_view> block;  // the record's block, in parts
  // For a block that is an HTTP message: the part its payload (the entity body) starts at, for
  // WARC-Payload-Digest; npos: no payload digest.
  std::size_t payload_from = std::numeric_limits<std::size_t>::max();
  // The block's last part in a file (a body spooled to disk): `tail_bytes` from its start.
  int tail_fd = -1;
  std::uint64_t tail_bytes = 0;
  // Digests already computed as the block came ("sha1:..."): used as they are.
  std::string block_digest, payload_digest;
};

// One HTTP exchange as it crosses the wire, gathered while it happens (a fetch::Tap feeds it):
// each hop's request head as sent and response head as received, and the final response's body
// as received (content coding kept, transfer coding removed: a Transfer-Encoding header is kept
// as X-Crawler-Transfer-Encoding, as Common Crawl does, so the message reads as it is stored).
// The body stays in memory up to k_exchange_memory; past that it goes to an unlinked file in
// `spool_dir`. Its digests are computed as it comes.
inline constexpr std::size_t k_exchange_memory = 64u << 10;

class Exchange {
 public:
  struct Hop {
    std::string request;   // the head as sent
    std::string response;  // the status line to the blank line ("" if none came)
    std::string location;  // its Location header, as written
  };
  explicit Exchange(std::string spool_dir) : m_spool_dir(std::move(spool_dir)) {}
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  void sent(std::string_view request_head);
  void header(std::string_view line);
  void body(std::string_view raw);

  const std::vector<Hop>& hops() const { return m_hops; }
  std::uint64_t body_bytes() const { return m_memory.size() + m_spooled; }
  // The body could not all be spooled (a full disk): it ends early.
  bool spool_failed() const { return m_spool_failed; }
  // The response's head ended before its blank line (known once response_record() is made).
  bool head_cut() const { return m_head_cut; }
  const std::string& spool_dir() const { return m_spool_dir; }

  // The final response's record (its head and body), for a Writer; the exchange must outlive
  // the write. Digests are final once this is called.
  Record response_record();

 private:
  std::string m_spool_dir;
  std::vector<Hop> m_hops;
  bool m_in_head = false;  // a response head is being received
  bool m_body = false;     // the body began
  std::string m_memory;
  int m_fd = -1;
  std::uint64_t m_spooled = 0;
  bool m_spool_failed = false;
  bool m_head_cut = false;
  Sha1 m_block, m_payload;
};

// Where a record was written: its file's name (closed form) and the gzip member's offset and
// length in it, as a CDX index names them.
struct Position {
  std::string file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct WriterOptions {
  std::string dir;
  std::string prefix = "crawl";  // files: PREFIX-YYYYMMDDhhmmssmmm-SERIAL-WRITER.warc.gz
  // Who writes, unique among the writers to `dir` (a worker's id): letters, digits, '.', '_'
  // and '-' are kept, anything else becomes '_'.
  std::string writer;
  std::uint64_t max_file_bytes = k_default_max_file_bytes;  // a file is closed past this
  int compression_level = 1;  // zlib's: 1 is fastest; a crawl writes tens of MB/s
  Fields info = {};           // the warcinfo record's fields (software, hostname, ...)
};

class Writer {
 public:
  explicit Writer(WriterOptions options);
  ~Writer();  // closes the file
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Appends the record, opening a file (its warcinfo record first) if none is; past
  // max_file_bytes the file is closed after it.
  Result<Position> write(Record record);
  // Closes the file being written, if one is.
  Result<void> close();
  const std::string& current_file() const { return m_name; }  // closed form, "" if none
  std::uint64_t files_written() const { return m_serial; }

 private:
  Result<void> open_file(std::int64_t now_ms);
  Result<std::uint64_t> append(const Record& record);  // bytes written

  WriterOptions m_options;
  std::string m_writer;
  int m_fd = -1;
  std::string m_name;  // closed form, without the directory
  std::uint64_t m_size = 0;
  std::uint64_t m_serial = 0;
  std::string m_warcinfo_id;
};

// Files `writer` left open in `dir` (it died): each is cut back to the end of its last whole
// gzip member and closed. Returns their closed names.
Result<std::vector<std::string>> recover(const std::string& dir, std::string_view writer);

// The end of the last whole gzip member among the first bytes of `data` (0 if none is whole).
std::uint64_t whole_members(std::string_view data);

}  // namespace crawl::warc
