#include "warc/index.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <queue>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

namespace crawl::warc {

namespace {

constexpr std::size_t k_read_chunk = 64u << 10;
// What is read of each record for its line: the WARC header and an HTTP head (at most 64 KiB,
// the fetcher's bound) fit.
constexpr std::size_t k_head_bytes = 160u << 10;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The header block that starts `text` (lines up to a blank one): the value of field `name`
// (case-insensitive), its first occurrence; and where the block ends.
struct Head {
  std::string_view lines;
  std::size_t end = std::string_view::npos;  // after the blank line
  std::optional<std::string_view> field(std::string_view name) const {
    std::optional<std::string_view> found;
    each(name, [&found](std::string_view value) {
      if (!found) found = value;
    });
    return found;
  }
  // Every value of field `name`, joined by ", " (as a fetch Headers object joins them, which
  // warcio reads the HTTP headers into).
  std::optional<std::string> joined(std::string_view name) const {
    std::optional<std::string> out;
    each(name, [&out](std::string_view value) {
      out = out ? *out + ", " + std::string(value) : std::string(value);
    });
    return out;
  }
  template <typename F>
  void each(std::string_view name, F&& f) const {
    std::size_t at = 0;
    while (at < lines.size()) {
      std::size_t eol = lines.find('\n', at);
      if (eol == std::string_view::npos) eol = lines.size();
      const std::string_view line = lines.substr(at, eol - at);
      if (line.size() > name.size() && line[name.size()] == ':' &&
          strncasecmp(line.data(), name.data(), name.size()) == 0)
        f(trim(line.substr(name.size() + 1)));
      at = eol + 1;
    }
  }
};

Head head_of(std::string_view text) {
  Head h;
  const std::size_t blank = text.find("\r\n\r\n");
  if (blank == std::string_view::npos) {
    h.lines = text;
    return h;
  }
  h.lines = text.substr(0, blank + 2);
  h.end = blank + 4;
  return h;
}

// The index line of one record (nullopt: not one a replay looks up).
std::optional<std::string> line_of(std::string_view record, std::uint64_t offset,
                                   std::uint64_t length, std::string_view filename) {
  const Head warc = head_of(record);
  if (warc.end == std::string_view::npos) return std::nullopt;
  const std::string type(warc.field("WARC-Type").value_or(""));
  const std::string content_type(warc.field("Content-Type").value_or(""));
  if (type == "request" || type == "warcinfo") return std::nullopt;
  if ((type == "metadata" || type == "resource") && content_type == "application/warc-fields")
    return std::nullopt;
  const std::string uri(warc.field("WARC-Target-URI").value_or(""));
  std::string date(warc.field("WARC-Date").value_or(""));
  std::erase_if(date, [](char c) { return c == '-' || c == ':' || c == 'T'; });
  date = date.substr(0, 14);

  nlohmann::ordered_json j;
  j["url"] = uri;
  std::optional<std::string> mime, status;
  if (type == "revisit") mime = "warc/revisit";
  if ((type == "response" || type == "revisit") &&
      lower(content_type).starts_with("application/http")) {
    const std::string_view block = record.substr(warc.end);
    const Head http = head_of(block);
    const std::string_view status_line = http.lines.substr(0, http.lines.find('\r'));
    if (status_line.starts_with("HTTP/")) {
      const std::size_t sp = status_line.find(' ');
      if (sp != std::string_view::npos) {
        std::string_view code = status_line.substr(sp + 1);
        code = code.substr(0, code.find(' '));
        // As a number, as warcio gives it ("0200" is 200).
        while (code.size() > 1 && code.front() == '0') code.remove_prefix(1);
        if (!code.empty() && code.find_first_not_of("0123456789") == std::string_view::npos)
          status = std::string(code);
      }
      if (type == "response")
        if (auto ct = http.joined("Content-Type"); ct && !ct->empty())
          mime = std::string(trim(std::string_view(*ct).substr(0, ct->find(';'))));
    }
  } else if (type != "revisit" && type != "response" && !content_type.empty()) {
    mime = content_type;
  }
  if (mime) j["mime"] = *mime;
  if (status) j["status"] = *status;
  if (auto digest = warc.field("WARC-Payload-Digest");
      digest && digest->find(':') != std::string_view::npos) {
    std::string_view d = digest->substr(digest->find(':') + 1);
    j["digest"] = std::string(d.substr(0, d.find(':')));
  }
  j["length"] = std::to_string(length);
  j["offset"] = std::to_string(offset);
  j["filename"] = std::string(filename);
  return surt(uri) + " " + date + " " +
         j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string surt(std::string_view url) {
  if (!url.starts_with("http:") && !url.starts_with("https:")) return std::string(url);
  std::string u(url);
  // www., www2., ... right after the scheme, as written (before lower-casing, as warcio does).
  if (const std::size_t at = u.find("://");
      at != std::string::npos && u.compare(at + 3, 3, "www") == 0) {
    std::size_t p = at + 6;
    while (p < u.size() && std::isdigit(static_cast<unsigned char>(u[p]))) ++p;
    if (p < u.size() && u[p] == '.') u.erase(at + 3, p + 1 - (at + 3));
  }
  u = lower(u);
  const std::size_t scheme_end = u.find("://");
  if (scheme_end == std::string::npos) return std::string(url);
  const std::string scheme = u.substr(0, scheme_end);
  std::string rest = u.substr(scheme_end + 3);
  if (const std::size_t hash = rest.find('#'); hash != std::string::npos) rest.resize(hash);
  const std::size_t path_at = rest.find_first_of("/?");
  std::string authority = rest.substr(0, path_at);
  std::string path_query = path_at == std::string::npos ? "" : rest.substr(path_at);
  if (const std::size_t at = authority.rfind('@'); at != std::string::npos)
    authority.erase(0, at + 1);
  std::string host = authority, port;
  if (const std::size_t colon = authority.rfind(':');
      colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) port.clear();
  }
  // Labels reversed, joined by commas ("example.com." gives ",com,example", as warcio).
  std::vector<std::string_view> labels;
  for (std::size_t at = 0;;) {
    const std::size_t dot = host.find('.', at);
    labels.push_back(std::string_view(host).substr(at, dot == std::string::npos ? dot : dot - at));
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  std::string out;
  for (std::size_t i = labels.size(); i-- > 0;) {
    out += labels[i];
    if (i > 0) out += ',';
  }
  if (!port.empty()) out += ":" + port;
  out += ")";
  const std::size_t q = path_query.find('?');
  std::string path = path_query.substr(0, q);
  out += path.empty() ? "/" : path;
  if (q != std::string::npos && q + 1 < path_query.size()) {
    std::vector<std::string> args;
    const std::string query = path_query.substr(q + 1);
    for (std::size_t at = 0;;) {
      const std::size_t amp = query.find('&', at);
      args.push_back(query.substr(at, amp == std::string::npos ? amp : amp - at));
      if (amp == std::string::npos) break;
      at = amp + 1;
    }
    std::sort(args.begin(), args.end());
    out += "?";
    for (std::size_t i = 0; i < args.size(); ++i) out += (i ? "&" : "") + args[i];
  }
  return out;
}

Result<std::vector<std::string>> cdxj_lines(const std::string& path, std::string_view filename) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return fail("{}: cannot open: {}", path, std::strerror(errno));
  z_stream z{};
  inflateInit2(&z, 16 + MAX_WBITS);
  std::vector<std::string> lines;
  std::string in(k_read_chunk, '\0');
  std::string out(k_read_chunk, '\0');
  std::string record;              // the first k_head_bytes of the member being read
  std::uint64_t consumed = 0;      // compressed bytes read into the decoder so far
  std::uint64_t member_start = 0;  // where the member being read starts
  bool inside = false;             // a member begun and not ended
  std::optional<Error> error;
  while (!error) {
    const std::size_t n = std::fread(in.data(), 1, in.size(), f);
    if (n == 0) break;
    z.next_in = reinterpret_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(n);
    while (z.avail_in > 0) {
      inside = true;
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      const uInt before = z.avail_in;
      const int rc = inflate(&z, Z_NO_FLUSH);
      consumed += before - z.avail_in;
      const std::size_t produced = out.size() - z.avail_out;
      if (record.size() < k_head_bytes)
        record.append(out.data(), std::min(produced, k_head_bytes - record.size()));
      if (rc == Z_STREAM_END) {
        if (auto line = line_of(record, member_start, consumed - member_start, filename))
          lines.push_back(std::move(*line));
        record.clear();
        member_start = consumed;
        inside = false;
        inflateReset(&z);
      } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced > 0)) {
        error = Error{fmt::format("{}: no gzip'd WARC record at offset {}", path, member_start),
                      ErrorKind::invalid};
        break;
      }
    }
  }
  inflateEnd(&z);
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (error) return tl::unexpected(*error);
  if (read_error) return fail("{}: cannot read", path);
  if (inside)
    return fail(ErrorKind::invalid, "{}: cut inside the record at offset {}", path, member_start);
  std::sort(lines.begin(), lines.end());
  return lines;
}

Result<std::uint64_t> merge_cdxj(const std::vector<std::string>& inputs,
                                 const std::string& output) {
  struct Source {
    std::ifstream in;
    std::string line;
  };
  std::vector<Source> sources(inputs.size());
  using Next = std::pair<std::string, std::size_t>;  // (line, source)
  std::priority_queue<Next, std::vector<Next>, std::greater<>> heads;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    sources[i].in.open(inputs[i], std::ios::binary);
    if (!sources[i].in) return fail("{}: cannot read", inputs[i]);
    if (std::getline(sources[i].in, sources[i].line)) heads.emplace(sources[i].line, i);
  }
  const std::string tmp = output + ".tmp" + std::to_string(::getpid());
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) return fail("{}: cannot write", tmp);
  std::uint64_t n = 0;
  while (!heads.empty()) {
    auto [line, i] = heads.top();
    heads.pop();
    out << line << '\n';
    ++n;
    if (std::getline(sources[i].in, sources[i].line)) heads.emplace(sources[i].line, i);
  }
  out.close();
  if (!out) return fail("{}: cannot write", tmp);
  if (std::rename(tmp.c_str(), output.c_str()) != 0)
    return fail("{}: cannot rename to {}: {}", tmp, output, std::strerror(errno));
  return n;
}

}  // namespace crawl::warc
