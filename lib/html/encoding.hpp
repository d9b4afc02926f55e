#pragma once
// A page's character encoding, found as a browser finds it (HTML's "determining the character
// encoding", with the WHATWG Encoding Standard's labels), and its bytes made UTF-8 for Gumbo by
// ICU. Every page is sniffed; one in UTF-8 is handed on as it came, without a conversion.
//
// The order: a byte order mark; the HTTP Content-Type's charset; a <meta charset> or
// http-equiv="Content-Type" in the first 1024 bytes; then, with nothing declared, UTF-8 if the
// bytes are valid UTF-8, else what ICU's detector recognises, else windows-1252 (the Standard's
// default for most of the world's locales).

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "url/url.hpp"

namespace crawl::html {

enum class EncodingSource { bom, header, meta, detected, fallback };
// "bom", "header", "meta", "detected", "default": as records say how the encoding was found.
std::string_view to_string(EncodingSource source);

struct Encoding {
  std::string_view name;  // the Standard's name: "UTF-8", "windows-1252", "Shift_JIS", ...
  EncodingSource source = EncodingSource::fallback;
  std::size_t bom_bytes = 0;  // the byte order mark's length, when there is one
};

// The Standard's "get an encoding": the encoding a label names (ASCII case-insensitive, ASCII
// white space around it ignored), or "" for a label it does not know.
std::string_view encoding_for_label(std::string_view label);

// Every label the Standard defines, with the encoding it names (for tests, and to list them).
std::vector<std::pair<std::string_view, std::string_view>> encoding_labels();

// HTML's prescan of a document's first 1024 bytes for its declared encoding: "" when none is
// found. A declared UTF-16 means UTF-8 (the bytes read it as ASCII), x-user-defined
// windows-1252.
std::string_view prescan(std::string_view bytes);

// Which encoding `bytes` are in (see the order above); `http_charset` is the response's charset
// parameter, "" if none.
Encoding sniff(std::string_view bytes, std::string_view http_charset);

// The document as UTF-8: `bytes` (after its byte order mark, if `encoding` says it has one)
// decoded from `encoding`, each invalid sequence made U+FFFD. For UTF-8 this is a copy: callers
// hand UTF-8 to Gumbo as it is (Gumbo replaces invalid sequences itself).
std::string to_utf8(std::string_view bytes, const Encoding& encoding);

// The URL Standard's query encoder for a document in `encoding`: none (an empty function) for
// UTF-8, UTF-16 and replacement, whose documents' queries are UTF-8.
url::QueryEncoder query_encoder(std::string_view encoding);

// True when `bytes` are valid UTF-8, but for a sequence cut short by their end (a body cut at a
// size cap).
bool valid_utf8(std::string_view bytes);

}  // namespace crawl::html
