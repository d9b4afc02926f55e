#include "sitemap/sitemap.hpp"

#include <algorithm>

#include <expat.h>
#include <zlib.h>

namespace crawl::sitemap {

namespace {

constexpr char k_separator = ' ';  // between a name's namespace URI and its local part
constexpr std::size_t k_chunk = 64u << 10;

std::string_view local_name(std::string_view name) {
  const std::size_t at = name.rfind(k_separator);
  return at == std::string_view::npos ? name : name.substr(at + 1);
}

std::string_view namespace_of(std::string_view name) {
  const std::size_t at = name.rfind(k_separator);
  return at == std::string_view::npos ? std::string_view() : name.substr(0, at);
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

class Reader {
 public:
  explicit Reader(Sitemap& out) : m_out(out), m_parser(XML_ParserCreateNS(nullptr, k_separator)) {
    XML_SetUserData(m_parser, this);
    XML_SetElementHandler(m_parser, &Reader::on_start, &Reader::on_end);
    XML_SetCharacterDataHandler(m_parser, &Reader::on_text);
    // No DTD, so no entity is ever declared: the first sign of one ends the read.
    XML_SetStartDoctypeDeclHandler(m_parser, &Reader::on_doctype);
    XML_SetEntityDeclHandler(m_parser, &Reader::on_entity);
    XML_SetParamEntityParsing(m_parser, XML_PARAM_ENTITY_PARSING_NEVER);
  }
  ~Reader() { XML_ParserFree(m_parser); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Feeds decoded bytes; false once reading has ended (refused, not a sitemap, an XML error).
  bool feed(const char* data, std::size_t n, bool last) {
    if (m_done) return false;
    m_decoded += n;
    if (m_decoded > k_max_decoded_bytes) {
      refuse("more than 50,000,000 bytes decoded (sitemaps.org's limit for one file)");
      return false;
    }
    if (XML_Parse(m_parser, data, static_cast<int>(n), last ? XML_TRUE : XML_FALSE) ==
        XML_STATUS_ERROR) {
      m_done = true;
      if (XML_GetErrorCode(m_parser) != XML_ERROR_ABORTED)
        m_out.error = "XML error at line " + std::to_string(XML_GetCurrentLineNumber(m_parser)) +
                      ", column " + std::to_string(XML_GetCurrentColumnNumber(m_parser)) + ": " +
                      XML_ErrorString(XML_GetErrorCode(m_parser));
      return false;
    }
    if (last) m_done = true;
    return !m_done;
  }

  void refuse(std::string why) {
    m_out.refused = std::move(why);
    m_out.locs.clear();
    stop();
  }

 private:
  void stop() {
    m_done = true;
    XML_StopParser(m_parser, XML_FALSE);
  }

  static void on_start(void* user, const XML_Char* name, const XML_Char**) {
    auto& r = *static_cast<Reader*>(user);
    if (r.m_done) return;
    const std::string_view n(name);
    if (++r.m_depth > k_max_nesting) {
      r.refuse("elements nested deeper than " + std::to_string(k_max_nesting));
      return;
    }
    if (r.m_depth == 1) {
      const std::string_view local = local_name(n);
      r.m_out.kind = local == "urlset"         ? Sitemap::Kind::urlset
                     : local == "sitemapindex" ? Sitemap::Kind::index
                                               : Sitemap::Kind::none;
      if (r.m_out.kind == Sitemap::Kind::none) return r.stop();
      r.m_namespace = namespace_of(n);
    } else if (r.m_depth == 2) {
      r.m_in_entry = namespace_of(n) == r.m_namespace &&
                     local_name(n) == (r.m_out.kind == Sitemap::Kind::urlset ? "url" : "sitemap");
    } else if (r.m_depth == 3 && r.m_in_entry && namespace_of(n) == r.m_namespace &&
               local_name(n) == "loc") {
      r.m_in_loc = true;
      r.m_too_long = false;
      r.m_text.clear();
    }
  }

  static void on_end(void* user, const XML_Char*) {
    auto& r = *static_cast<Reader*>(user);
    if (r.m_done) return;
    if (r.m_depth == 3 && r.m_in_loc) {
      r.m_in_loc = false;
      const std::string_view loc = trim(r.m_text);
      if (r.m_too_long) {
        ++r.m_out.skipped;
      } else if (!loc.empty()) {
        if (r.m_out.locs.size() == k_max_urls)
          return r.refuse("more than 50,000 URLs (sitemaps.org's limit for one file)");
        if ((r.m_locs_bytes += loc.size()) > k_max_locs_bytes) {
          r.m_out.error = "its URLs pass 8 MiB: the rest is not read";
          return r.stop();
        }
        r.m_out.locs.emplace_back(loc);
      }
    }
    --r.m_depth;
  }

  static void on_text(void* user, const XML_Char* text, int n) {
    auto& r = *static_cast<Reader*>(user);
    if (!r.m_in_loc || r.m_too_long) return;
    if (r.m_text.size() + static_cast<std::size_t>(n) > k_max_loc_bytes)
      r.m_too_long = true;
    else
      r.m_text.append(text, static_cast<std::size_t>(n));
  }

  static void on_doctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<Reader*>(user)->refuse(
        "it declares a DTD (<!DOCTYPE>), which a sitemap never needs: entity declarations are "
        "how XML bombs are made");
  }

  static void on_entity(void* user, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                        const XML_Char*, const XML_Char*, const XML_Char*) {
    static_cast<Reader*>(user)->refuse("it declares an entity");
  }

  Sitemap& m_out;
  XML_Parser m_parser;
  std::uint64_t m_decoded = 0;
  std::size_t m_locs_bytes = 0;
  int m_depth = 0;
  bool m_done = false;
  bool m_in_entry = false, m_in_loc = false, m_too_long = false;
  std::string m_namespace;
  std::string m_text;
};

bool is_gzip(std::string_view body) {
  return body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f &&
         static_cast<unsigned char>(body[1]) == 0x8b;
}

// Inflates `body` (one gzip member or several in a row) into the reader, a chunk at a time.
void read_gzip(std::string_view body, Reader& reader, Sitemap& out) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    out.error = "gzip: zlib could not start";
    return;
  }
  std::string chunk(k_chunk, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = static_cast<uInt>(body.size());
  bool going = true;
  while (going) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = chunk.size() - z.avail_out;
    if (rc == Z_STREAM_END && z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
      going = reader.feed(chunk.data(), produced, false);
      inflateReset(&z);
      continue;
    }
    if (rc == Z_STREAM_END) {
      reader.feed(chunk.data(), produced, true);
      break;
    }
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced > 0)) {
      if (!reader.feed(chunk.data(), produced, false)) break;
      if (out.error.empty() && out.refused.empty())
        out.error = rc == Z_BUF_ERROR ? "the gzip stream ends early (the body was cut)"
                                      : std::string("gzip: ") + (z.msg ? z.msg : "bad data");
      break;
    }
    going = reader.feed(chunk.data(), produced, false);
  }
  inflateEnd(&z);
}

}  // namespace

Sitemap parse(std::string_view body) {
  Sitemap out;
  Reader reader(out);
  if (is_gzip(body)) {
    read_gzip(body, reader, out);
  } else {
    while (body.size() > k_chunk) {
      if (!reader.feed(body.data(), k_chunk, false)) return out;
      body.remove_prefix(k_chunk);
    }
    reader.feed(body.data(), body.size(), true);
  }
  if (out.kind == Sitemap::Kind::none) out.locs.clear();
  return out;
}

bool maybe_sitemap_type(std::string_view t) {
  return t.empty() || t.ends_with("/xml") || t.ends_with("+xml") || t == "application/gzip" ||
         t == "application/x-gzip" || t == "application/octet-stream" || t == "text/plain";
}

bool looks_like_sitemap(std::string_view body) {
  if (is_gzip(body)) return true;
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  while (!body.empty() && is_space(body.front())) body.remove_prefix(1);
  if (!body.starts_with("<")) return false;
  const std::string_view head = body.substr(0, 1024);
  return head.find("urlset") != std::string_view::npos ||
         head.find("sitemapindex") != std::string_view::npos;
}

}  // namespace crawl::sitemap
