#include "warc/warc.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <regex>

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/text.hpp"

namespace crawl::warc {

namespace {

constexpr std::size_t k_chunk = 64u << 10;
constexpr std::string_view k_open_suffix = ".open";

std::string errno_text() {
  return std::strerror(errno);
}

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

std::string safe_name(std::string_view s) {
  std::string out;
  for (char c : s)
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "writer" : out;
}

// A header field's value on one line: CR and LF (which would end the header) become spaces.
std::string one_line(std::string_view value) {
  std::string out(value);
  for (char& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

// Finds where gzip members end in a stream given a chunk at a time.
class MemberScanner {
 public:
  MemberScanner() { inflateInit2(&m_z, 16 + MAX_WBITS); }
  ~MemberScanner() { inflateEnd(&m_z); }
  MemberScanner(const MemberScanner&) = delete;
  MemberScanner& operator=(const MemberScanner&) = delete;

  // False once the data is no gzip any more: nothing after it counts.
  bool feed(std::string_view chunk) {
    if (m_broken) return false;
    m_z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    m_z.avail_in = static_cast<uInt>(chunk.size());
    while (m_z.avail_in > 0) {
      m_z.next_out = m_out;
      m_z.avail_out = sizeof m_out;
      const int rc = inflate(&m_z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        m_last_end = m_base + (chunk.size() - m_z.avail_in);
        inflateReset(&m_z);
      } else if (rc != Z_OK) {
        // No progress with input left (or bad data): the rest is not gzip.
        m_broken = true;
        return false;
      }
    }
    m_base += chunk.size();
    return true;
  }
  std::uint64_t last_end() const { return m_last_end; }

 private:
  z_stream m_z{};
  Bytef m_out[k_chunk];
  std::uint64_t m_base = 0, m_last_end = 0;
  bool m_broken = false;
};

// An open file becomes its closed name, never over a file of that name: a hard link then the
// open name removed (rename() would replace one silently).
Result<void> finish_file(const std::string& open_path, const std::string& closed_path) {
  if (::link(open_path.c_str(), closed_path.c_str()) != 0)
    return fail("{}: cannot close as {}: {}", open_path, closed_path, errno_text());
  if (::unlink(open_path.c_str()) != 0)
    return fail("{}: cannot remove once closed: {}", open_path, errno_text());
  return {};
}

}  // namespace

Sha1::Sha1() : m_ctx(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(m_ctx), EVP_sha1(), nullptr);
}

Sha1::~Sha1() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(m_ctx));
}

void Sha1::update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(m_ctx), bytes.data(), bytes.size());
}

std::string Sha1::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(m_ctx), md, &n);
  return "sha1:" + base32(std::string_view(reinterpret_cast<const char*>(md), n));
}

std::string sha1_digest(std::string_view bytes) {
  Sha1 sha;
  sha.update(bytes);
  return sha.finish();
}

std::string base32(std::string_view bytes) {
  static constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  std::uint64_t buffer = 0;
  int bits = 0;
  for (const char ch : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 5) {
      out += k_alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += k_alphabet[(buffer << (5 - bits)) & 31];
  while (out.size() % 8 != 0) out += '=';
  return out;
}

std::string new_record_id() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string("<urn:uuid:") + text + ">";
}

std::string warc_date(std::int64_t unix_ms) {
  return utc_text(unix_ms, "%Y-%m-%dT%H:%M:%S", ".") + "Z";
}

std::uint64_t whole_members(std::string_view data) {
  MemberScanner scan;
  scan.feed(data);
  return scan.last_end();
}

Exchange::~Exchange() {
  if (m_fd >= 0) ::close(m_fd);
}

void Exchange::sent(std::string_view request_head) {
  // libcurl reports a head sent in pieces piece by piece, and sends it again whole when a
  // kept-alive connection turned out closed: either way, the hop is the one still unanswered.
  if (!m_hops.empty() && m_hops.back().response.empty() && !m_body) {
    std::string& request = m_hops.back().request;
    if (request.ends_with("\r\n\r\n"))
      request = std::string(request_head);  // sent again
    else
      request += request_head;  // the rest of it
    return;
  }
  m_hops.push_back({std::string(request_head), "", ""});
}

void Exchange::header(std::string_view line) {
  if (m_body) return;  // a trailer: part of the transfer coding
  if (line.starts_with("HTTP/")) {
    if (m_hops.empty()) m_hops.emplace_back();
    m_hops.back().response.clear();  // a 1xx answer gives way to the final one
    m_hops.back().location.clear();
    m_in_head = true;
  }
  if (!m_in_head || m_hops.empty()) return;
  Hop& hop = m_hops.back();
  const auto named = [&line](std::string_view name) {
    return line.size() > name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0;
  };
  if (named("transfer-encoding:"))
    hop.response += "X-Crawler-" + std::string(line);
  else
    hop.response += line;
  if (named("location:")) {
    std::string_view v = line.substr(9);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    hop.location = std::string(v);
  }
  if (line == "\r\n" || line == "\n") m_in_head = false;
}

void Exchange::body(std::string_view raw) {
  if (raw.empty() || m_spool_failed) return;
  if (!m_body) {
    m_body = true;
    if (m_hops.empty()) m_hops.emplace_back();
    m_block.update(m_hops.back().response);
  }
  if (m_fd < 0 && m_memory.size() + raw.size() <= k_exchange_memory) {
    m_memory.append(raw);
  } else {
    if (m_fd < 0) {
      // Unlinked from the start: nothing is left behind by a worker killed mid-transfer.
      m_fd = ::open(m_spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (m_fd < 0) {
        std::string path = m_spool_dir + "/.spool-XXXXXX";
        m_fd = ::mkstemp(path.data());
        if (m_fd >= 0) ::unlink(path.c_str());
      }
    }
    if (m_fd < 0 || !write_all(m_fd, raw.data(), raw.size())) {
      // What was not stored is not digested either, and a record reads only the m_spooled
      // bytes stored before: it stays true to its bytes, and says it was cut.
      m_spool_failed = true;
      return;
    }
    m_spooled += raw.size();
  }
  m_block.update(raw);
  m_payload.update(raw);
}

Record Exchange::response_record() {
  Record r;
  r.type = "response";
  r.content_type = "application/http;msgtype=response";
  if (m_hops.empty()) m_hops.emplace_back();
  std::string& head = m_hops.back().response;
  if (!m_body && !head.empty() && !head.ends_with("\r\n\r\n")) {
    // Cut inside the headers (too many, or a coding refused): closed, so that the message
    // still reads as one; its record says it was cut.
    head += head.ends_with("\r\n") ? "\r\n" : "\r\n\r\n";
    m_head_cut = true;
  }
  if (!m_body) m_block.update(head);
  r.block = {head, m_memory};
  r.payload_from = 1;
  r.tail_fd = m_fd;
  r.tail_bytes = m_spooled;
  r.block_digest = m_block.finish();
  r.payload_digest = m_payload.finish();
  return r;
}

Writer::Writer(WriterOptions options)
    : m_options(std::move(options)), m_writer(safe_name(m_options.writer)) {}

Writer::~Writer() {
  (void)close();
}

Result<void> Writer::open_file(std::int64_t now_ms) {
  // A name no file has, open or closed (a writer restarted within the same millisecond, a clock
  // set back): the serial moves on until one is free.
  std::string path;
  for (int tries = 0;; ++tries) {
    ++m_serial;
    char serial[24];
    std::snprintf(serial, sizeof serial, "%05llu", static_cast<unsigned long long>(m_serial));
    m_name = safe_name(m_options.prefix) + "-" + utc_text(now_ms, "%Y%m%d%H%M%S", "") + "-" +
             serial + "-" + m_writer + ".warc.gz";
    path = m_options.dir + "/" + m_name + std::string(k_open_suffix);
    struct stat st {};
    if (::stat((m_options.dir + "/" + m_name).c_str(), &st) == 0 && tries < 1000) continue;
    m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (m_fd >= 0) break;
    if (errno != EEXIST || tries >= 1000) {
      m_name.clear();
      return fail("{}: cannot create: {}", path, errno_text());
    }
  }
  m_size = 0;
  Record info;
  info.type = "warcinfo";
  info.date_ms = now_ms;
  info.content_type = "application/warc-fields";
  info.fields = {{"WARC-Filename", m_name}};
  std::string body;
  for (const auto& [name, value] : m_options.info) body += name + ": " + one_line(value) + "\r\n";
  body += "format: WARC File Format 1.1\r\n";
  body +=
      "conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/"
      "warc-1.1/\r\n";
  info.block = {body};
  info.record_id = new_record_id();
  m_warcinfo_id = info.record_id;
  auto written = append(info);
  if (!written) {
    ::close(m_fd);
    m_fd = -1;
    ::unlink(path.c_str());
    m_name.clear();
    m_warcinfo_id.clear();
    return fail(written.error());
  }
  m_size += *written;
  return {};
}

Result<std::uint64_t> Writer::append(const Record& r) {
  constexpr std::size_t k_none = std::numeric_limits<std::size_t>::max();
  std::uint64_t length = r.tail_bytes;
  for (const std::string_view part : r.block) length += part.size();
  std::string block_digest = r.block_digest, payload_digest = r.payload_digest;
  if (block_digest.empty() || (payload_digest.empty() && r.payload_from != k_none)) {
    if (r.tail_fd >= 0) return fail("{}: a spooled block comes with its digests", m_name);
    Sha1 block;
    std::optional<Sha1> payload;
    if (r.payload_from != k_none) payload.emplace();
    for (std::size_t i = 0; i < r.block.size(); ++i) {
      block.update(r.block[i]);
      if (payload && i >= r.payload_from) payload->update(r.block[i]);
    }
    block_digest = block.finish();
    if (payload) payload_digest = payload->finish();
  }
  std::string head = "WARC/1.1\r\n";
  head += "WARC-Type: " + one_line(r.type) + "\r\n";
  head +=
      "WARC-Record-ID: " + (r.record_id.empty() ? new_record_id() : one_line(r.record_id)) + "\r\n";
  head += "WARC-Date: " + warc_date(r.date_ms) + "\r\n";
  if (!r.target_uri.empty()) head += "WARC-Target-URI: " + one_line(r.target_uri) + "\r\n";
  if (r.type != "warcinfo" && !m_warcinfo_id.empty())
    head += "WARC-Warcinfo-ID: " + m_warcinfo_id + "\r\n";
  for (const auto& [name, value] : r.fields)
    head += one_line(name) + ": " + one_line(value) + "\r\n";
  if (!r.content_type.empty()) head += "Content-Type: " + one_line(r.content_type) + "\r\n";
  head += "WARC-Block-Digest: " + block_digest + "\r\n";
  if (!payload_digest.empty()) head += "WARC-Payload-Digest: " + payload_digest + "\r\n";
  head += "Content-Length: " + std::to_string(length) + "\r\n\r\n";

  // One gzip member: the header, the block's parts, and the record's closing CRLF CRLF.
  z_stream z{};
  if (deflateInit2(&z, m_options.compression_level, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return fail("{}: zlib could not start", m_name);
  std::string out(k_chunk, '\0');
  std::uint64_t written = 0;
  bool ok = true;
  auto pump = [&](std::string_view in, int flush) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    do {
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      deflate(&z, flush);
      const std::size_t n = out.size() - z.avail_out;
      if (n > 0 && ok) ok = write_all(m_fd, out.data(), n);
      written += n;
    } while (z.avail_out == 0);
  };
  pump(head, Z_NO_FLUSH);
  for (const std::string_view part : r.block)
    for (std::size_t at = 0; at < part.size(); at += k_chunk)
      pump(part.substr(at, k_chunk), Z_NO_FLUSH);
  if (r.tail_fd >= 0) {
    std::string chunk(k_chunk, '\0');
    for (std::uint64_t at = 0; at < r.tail_bytes && ok;) {
      const ssize_t n =
          ::pread(r.tail_fd, chunk.data(), std::min<std::uint64_t>(chunk.size(), r.tail_bytes - at),
                  static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = false;  // the spool file is shorter than it was: the record cannot be whole
        break;
      }
      pump(std::string_view(chunk.data(), static_cast<std::size_t>(n)), Z_NO_FLUSH);
      at += static_cast<std::uint64_t>(n);
    }
  }
  pump("\r\n\r\n", Z_FINISH);
  deflateEnd(&z);
  if (!ok)
    return fail("{}/{}{}: cannot write: {}", m_options.dir, m_name, k_open_suffix, errno_text());
  return written;
}

Result<Position> Writer::write(Record record) {
  if (m_fd < 0)
    if (auto opened = open_file(record.date_ms); !opened) return fail(opened.error());
  Position at{m_name, m_size, 0};
  auto written = append(record);
  if (!written) {
    // What was written of the record is cut off: the file stays whole records only.
    if (::ftruncate(m_fd, static_cast<off_t>(m_size)) != 0 ||
        ::lseek(m_fd, static_cast<off_t>(m_size), SEEK_SET) < 0)
      (void)close();
    return fail(written.error());
  }
  at.length = *written;
  m_size += *written;
  if (m_size >= m_options.max_file_bytes)
    if (auto closed = close(); !closed) return fail(closed.error());
  return at;
}

Result<void> Writer::close() {
  if (m_fd < 0) return {};
  const std::string open_path = m_options.dir + "/" + m_name + std::string(k_open_suffix);
  const std::string closed_path = m_options.dir + "/" + m_name;
  const bool synced = ::fsync(m_fd) == 0;
  ::close(m_fd);
  m_fd = -1;
  m_warcinfo_id.clear();
  m_name.clear();
  if (!synced) return fail("{}: cannot sync: {}", open_path, errno_text());
  return finish_file(open_path, closed_path);
}

Result<std::vector<std::string>> recover(const std::string& dir, std::string_view writer) {
  std::vector<std::string> closed;
  // PREFIX-TIMESTAMP-SERIAL-WRITER.warc.gz.open, the writer's part exactly this writer's.
  static const std::regex k_name(R"(^.*-[0-9]{17}-[0-9]{5,}-(.+)\.warc\.gz\.open$)");
  const std::string me = safe_name(writer);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, k_name) || m[1].str() != me || !entry.is_regular_file())
      continue;
    const std::string path = entry.path().string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return fail("{}: cannot open: {}", path, errno_text());
    MemberScanner scan;
    std::string chunk(k_chunk, '\0');
    for (;;) {
      const ssize_t n = ::read(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || !scan.feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)))) break;
    }
    const bool cut = ::ftruncate(fd, static_cast<off_t>(scan.last_end())) == 0 && ::fsync(fd) == 0;
    ::close(fd);
    if (!cut) return fail("{}: cannot cut back to its last whole record: {}", path, errno_text());
    const std::string to = path.substr(0, path.size() - k_open_suffix.size());
    if (auto done = finish_file(path, to); !done) return fail(done.error());
    closed.push_back(name.substr(0, name.size() - k_open_suffix.size()));
  }
  if (ec) return fail(ErrorKind::not_found, "{}: cannot list: {}", dir, ec.message());
  return closed;
}

}  // namespace crawl::warc
