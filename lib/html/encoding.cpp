#include "html/encoding.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/ucsdet.h>
#include <unicode/ustring.h>

#include "core/text.hpp"

namespace crawl::html {

namespace {

// The Standard's labels (encoding.spec.whatwg.org, "Encodings"), sorted by label for a binary
// search. tests/unit/html_encoding_test.cpp holds them to Node's TextDecoder, which implements
// the Standard.
struct Label {
  std::string_view label, name;
};
constexpr Label k_labels[] = {
    {"866", "IBM866"},
    {"ansi_x3.4-1968", "windows-1252"},
    {"arabic", "ISO-8859-6"},
    {"ascii", "windows-1252"},
    {"asmo-708", "ISO-8859-6"},
    {"big5", "Big5"},
    {"big5-hkscs", "Big5"},
    {"chinese", "GBK"},
    {"cn-big5", "Big5"},
    {"cp1250", "windows-1250"},
    {"cp1251", "windows-1251"},
    {"cp1252", "windows-1252"},
    {"cp1253", "windows-1253"},
    {"cp1254", "windows-1254"},
    {"cp1255", "windows-1255"},
    {"cp1256", "windows-1256"},
    {"cp1257", "windows-1257"},
    {"cp1258", "windows-1258"},
    {"cp819", "windows-1252"},
    {"cp866", "IBM866"},
    {"csbig5", "Big5"},
    {"cseuckr", "EUC-KR"},
    {"cseucpkdfmtjapanese", "EUC-JP"},
    {"csgb2312", "GBK"},
    {"csibm866", "IBM866"},
    {"csiso2022jp", "ISO-2022-JP"},
    {"csiso2022kr", "replacement"},
    {"csiso58gb231280", "GBK"},
    {"csiso88596e", "ISO-8859-6"},
    {"csiso88596i", "ISO-8859-6"},
    {"csiso88598e", "ISO-8859-8"},
    {"csiso88598i", "ISO-8859-8-I"},
    {"csisolatin1", "windows-1252"},
    {"csisolatin2", "ISO-8859-2"},
    {"csisolatin3", "ISO-8859-3"},
    {"csisolatin4", "ISO-8859-4"},
    {"csisolatin5", "windows-1254"},
    {"csisolatin6", "ISO-8859-10"},
    {"csisolatin9", "ISO-8859-15"},
    {"csisolatinarabic", "ISO-8859-6"},
    {"csisolatincyrillic", "ISO-8859-5"},
    {"csisolatingreek", "ISO-8859-7"},
    {"csisolatinhebrew", "ISO-8859-8"},
    {"cskoi8r", "KOI8-R"},
    {"csksc56011987", "EUC-KR"},
    {"csmacintosh", "macintosh"},
    {"csshiftjis", "Shift_JIS"},
    {"csunicode", "UTF-16LE"},
    {"cyrillic", "ISO-8859-5"},
    {"dos-874", "windows-874"},
    {"ecma-114", "ISO-8859-6"},
    {"ecma-118", "ISO-8859-7"},
    {"elot_928", "ISO-8859-7"},
    {"euc-jp", "EUC-JP"},
    {"euc-kr", "EUC-KR"},
    {"gb18030", "gb18030"},
    {"gb2312", "GBK"},
    {"gb_2312", "GBK"},
    {"gb_2312-80", "GBK"},
    {"gbk", "GBK"},
    {"greek", "ISO-8859-7"},
    {"greek8", "ISO-8859-7"},
    {"hebrew", "ISO-8859-8"},
    {"hz-gb-2312", "replacement"},
    {"ibm819", "windows-1252"},
    {"ibm866", "IBM866"},
    {"iso-10646-ucs-2", "UTF-16LE"},
    {"iso-2022-cn", "replacement"},
    {"iso-2022-cn-ext", "replacement"},
    {"iso-2022-jp", "ISO-2022-JP"},
    {"iso-2022-kr", "replacement"},
    {"iso-8859-1", "windows-1252"},
    {"iso-8859-10", "ISO-8859-10"},
    {"iso-8859-11", "windows-874"},
    {"iso-8859-13", "ISO-8859-13"},
    {"iso-8859-14", "ISO-8859-14"},
    {"iso-8859-15", "ISO-8859-15"},
    {"iso-8859-16", "ISO-8859-16"},
    {"iso-8859-2", "ISO-8859-2"},
    {"iso-8859-3", "ISO-8859-3"},
    {"iso-8859-4", "ISO-8859-4"},
    {"iso-8859-5", "ISO-8859-5"},
    {"iso-8859-6", "ISO-8859-6"},
    {"iso-8859-6-e", "ISO-8859-6"},
    {"iso-8859-6-i", "ISO-8859-6"},
    {"iso-8859-7", "ISO-8859-7"},
    {"iso-8859-8", "ISO-8859-8"},
    {"iso-8859-8-e", "ISO-8859-8"},
    {"iso-8859-8-i", "ISO-8859-8-I"},
    {"iso-8859-9", "windows-1254"},
    {"iso-ir-100", "windows-1252"},
    {"iso-ir-101", "ISO-8859-2"},
    {"iso-ir-109", "ISO-8859-3"},
    {"iso-ir-110", "ISO-8859-4"},
    {"iso-ir-126", "ISO-8859-7"},
    {"iso-ir-127", "ISO-8859-6"},
    {"iso-ir-138", "ISO-8859-8"},
    {"iso-ir-144", "ISO-8859-5"},
    {"iso-ir-148", "windows-1254"},
    {"iso-ir-149", "EUC-KR"},
    {"iso-ir-157", "ISO-8859-10"},
    {"iso-ir-58", "GBK"},
    {"iso8859-1", "windows-1252"},
    {"iso8859-10", "ISO-8859-10"},
    {"iso8859-11", "windows-874"},
    {"iso8859-13", "ISO-8859-13"},
    {"iso8859-14", "ISO-8859-14"},
    {"iso8859-15", "ISO-8859-15"},
    {"iso8859-2", "ISO-8859-2"},
    {"iso8859-3", "ISO-8859-3"},
    {"iso8859-4", "ISO-8859-4"},
    {"iso8859-5", "ISO-8859-5"},
    {"iso8859-6", "ISO-8859-6"},
    {"iso8859-7", "ISO-8859-7"},
    {"iso8859-8", "ISO-8859-8"},
    {"iso8859-9", "windows-1254"},
    {"iso88591", "windows-1252"},
    {"iso885910", "ISO-8859-10"},
    {"iso885911", "windows-874"},
    {"iso885913", "ISO-8859-13"},
    {"iso885914", "ISO-8859-14"},
    {"iso885915", "ISO-8859-15"},
    {"iso88592", "ISO-8859-2"},
    {"iso88593", "ISO-8859-3"},
    {"iso88594", "ISO-8859-4"},
    {"iso88595", "ISO-8859-5"},
    {"iso88596", "ISO-8859-6"},
    {"iso88597", "ISO-8859-7"},
    {"iso88598", "ISO-8859-8"},
    {"iso88599", "windows-1254"},
    {"iso_8859-1", "windows-1252"},
    {"iso_8859-15", "ISO-8859-15"},
    {"iso_8859-1:1987", "windows-1252"},
    {"iso_8859-2", "ISO-8859-2"},
    {"iso_8859-2:1987", "ISO-8859-2"},
    {"iso_8859-3", "ISO-8859-3"},
    {"iso_8859-3:1988", "ISO-8859-3"},
    {"iso_8859-4", "ISO-8859-4"},
    {"iso_8859-4:1988", "ISO-8859-4"},
    {"iso_8859-5", "ISO-8859-5"},
    {"iso_8859-5:1988", "ISO-8859-5"},
    {"iso_8859-6", "ISO-8859-6"},
    {"iso_8859-6:1987", "ISO-8859-6"},
    {"iso_8859-7", "ISO-8859-7"},
    {"iso_8859-7:1987", "ISO-8859-7"},
    {"iso_8859-8", "ISO-8859-8"},
    {"iso_8859-8:1988", "ISO-8859-8"},
    {"iso_8859-9", "windows-1254"},
    {"iso_8859-9:1989", "windows-1254"},
    {"koi", "KOI8-R"},
    {"koi8", "KOI8-R"},
    {"koi8-r", "KOI8-R"},
    {"koi8-ru", "KOI8-U"},
    {"koi8-u", "KOI8-U"},
    {"koi8_r", "KOI8-R"},
    {"korean", "EUC-KR"},
    {"ks_c_5601-1987", "EUC-KR"},
    {"ks_c_5601-1989", "EUC-KR"},
    {"ksc5601", "EUC-KR"},
    {"ksc_5601", "EUC-KR"},
    {"l1", "windows-1252"},
    {"l2", "ISO-8859-2"},
    {"l3", "ISO-8859-3"},
    {"l4", "ISO-8859-4"},
    {"l5", "windows-1254"},
    {"l6", "ISO-8859-10"},
    {"l9", "ISO-8859-15"},
    {"latin1", "windows-1252"},
    {"latin2", "ISO-8859-2"},
    {"latin3", "ISO-8859-3"},
    {"latin4", "ISO-8859-4"},
    {"latin5", "windows-1254"},
    {"latin6", "ISO-8859-10"},
    {"logical", "ISO-8859-8-I"},
    {"mac", "macintosh"},
    {"macintosh", "macintosh"},
    {"ms932", "Shift_JIS"},
    {"ms_kanji", "Shift_JIS"},
    {"shift-jis", "Shift_JIS"},
    {"shift_jis", "Shift_JIS"},
    {"sjis", "Shift_JIS"},
    {"sun_eu_greek", "ISO-8859-7"},
    {"tis-620", "windows-874"},
    {"ucs-2", "UTF-16LE"},
    {"unicode", "UTF-16LE"},
    {"unicode-1-1-utf-8", "UTF-8"},
    {"unicode11utf8", "UTF-8"},
    {"unicode20utf8", "UTF-8"},
    {"unicodefeff", "UTF-16LE"},
    {"unicodefffe", "UTF-16BE"},
    {"us-ascii", "windows-1252"},
    {"utf-16", "UTF-16LE"},
    {"utf-16be", "UTF-16BE"},
    {"utf-16le", "UTF-16LE"},
    {"utf-8", "UTF-8"},
    {"utf8", "UTF-8"},
    {"visual", "ISO-8859-8"},
    {"windows-1250", "windows-1250"},
    {"windows-1251", "windows-1251"},
    {"windows-1252", "windows-1252"},
    {"windows-1253", "windows-1253"},
    {"windows-1254", "windows-1254"},
    {"windows-1255", "windows-1255"},
    {"windows-1256", "windows-1256"},
    {"windows-1257", "windows-1257"},
    {"windows-1258", "windows-1258"},
    {"windows-31j", "Shift_JIS"},
    {"windows-874", "windows-874"},
    {"windows-949", "EUC-KR"},
    {"x-cp1250", "windows-1250"},
    {"x-cp1251", "windows-1251"},
    {"x-cp1252", "windows-1252"},
    {"x-cp1253", "windows-1253"},
    {"x-cp1254", "windows-1254"},
    {"x-cp1255", "windows-1255"},
    {"x-cp1256", "windows-1256"},
    {"x-cp1257", "windows-1257"},
    {"x-cp1258", "windows-1258"},
    {"x-euc-jp", "EUC-JP"},
    {"x-gbk", "GBK"},
    {"x-mac-cyrillic", "x-mac-cyrillic"},
    {"x-mac-roman", "macintosh"},
    {"x-mac-ukrainian", "x-mac-cyrillic"},
    {"x-sjis", "Shift_JIS"},
    {"x-unicode20utf8", "UTF-8"},
    {"x-user-defined", "x-user-defined"},
    {"x-x-big5", "Big5"},
};

// The ICU converter that decodes each of the Standard's encodings as it says. GBK is decoded as
// gb18030 (the Standard's GBK decoder is the gb18030 decoder); Shift_JIS is Microsoft's table
// (windows-31j), EUC-KR Microsoft's windows-949, Big5 with the HKSCS extensions, ISO-8859-8-I
// as ISO-8859-8 (the two differ only in display direction). "replacement" and "x-user-defined"
// are decoded here, not by ICU.
struct Converter {
  std::string_view name;
  const char* icu;
};
constexpr Converter k_converters[] = {
    {"UTF-8", "UTF-8"},
    {"IBM866", "IBM866"},
    {"ISO-8859-2", "ISO-8859-2"},
    {"ISO-8859-3", "ISO-8859-3"},
    {"ISO-8859-4", "ISO-8859-4"},
    {"ISO-8859-5", "ISO-8859-5"},
    {"ISO-8859-6", "ISO-8859-6"},
    {"ISO-8859-7", "ISO-8859-7"},
    {"ISO-8859-8", "ISO-8859-8"},
    {"ISO-8859-8-I", "ISO-8859-8"},
    {"ISO-8859-10", "ISO-8859-10"},
    {"ISO-8859-13", "ISO-8859-13"},
    {"ISO-8859-14", "ISO-8859-14"},
    {"ISO-8859-15", "ISO-8859-15"},
    {"ISO-8859-16", "ISO-8859-16"},  // not in ICU: decoded from k_iso_8859_16
    {"KOI8-R", "KOI8-R"},
    {"KOI8-U", "KOI8-U"},
    {"macintosh", "macintosh"},
    {"windows-874", "windows-874"},
    {"windows-1250", "windows-1250"},
    {"windows-1251", "windows-1251"},
    {"windows-1252", "windows-1252"},
    {"windows-1253", "windows-1253"},
    {"windows-1254", "windows-1254"},
    {"windows-1255", "windows-1255"},
    {"windows-1256", "windows-1256"},
    {"windows-1257", "windows-1257"},
    {"windows-1258", "windows-1258"},
    {"x-mac-cyrillic", "x-mac-cyrillic"},
    {"GBK", "GB18030"},
    {"gb18030", "GB18030"},
    {"Big5", "Big5-HKSCS"},
    {"EUC-JP", "EUC-JP"},
    {"ISO-2022-JP", "ISO-2022-JP"},
    {"Shift_JIS", "windows-31j"},
    {"EUC-KR", "windows-949"},
    {"UTF-16BE", "UTF-16BE"},
    {"UTF-16LE", "UTF-16LE"},
};

bool ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}
char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_nocase(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - std::min(at, text.size()) < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (ascii_lower(text[at + i]) != word[i]) return false;
  return true;
}

// HTML's "extracting a character encoding from a meta element", on a content attribute's value.
std::string_view encoding_from_content(std::string_view value) {
  std::size_t at = 0;
  while (true) {
    std::size_t found = std::string_view::npos;
    for (std::size_t i = at; i + 7 <= value.size(); ++i)
      if (starts_with_nocase(value, i, "charset")) {
        found = i;
        break;
      }
    if (found == std::string_view::npos) return {};
    at = found + 7;
    while (at < value.size() && ascii_space(value[at])) ++at;
    if (at >= value.size() || value[at] != '=') continue;  // look again from here
    ++at;
    while (at < value.size() && ascii_space(value[at])) ++at;
    if (at >= value.size()) return {};
    if (value[at] == '"' || value[at] == '\'') {
      const std::size_t close = value.find(value[at], at + 1);
      if (close == std::string_view::npos) return {};
      return encoding_for_label(value.substr(at + 1, close - at - 1));
    }
    std::size_t end = at;
    while (end < value.size() && !ascii_space(value[end]) && value[end] != ';') ++end;
    return encoding_for_label(value.substr(at, end - at));
  }
}

// HTML's "get an attribute" of the prescan, from `at` in `s`: false at the end of the input or
// of the tag. Names and values are lower-cased as the algorithm says.
bool get_attribute(std::string_view s, std::size_t& at, std::string& name, std::string& value) {
  name.clear();
  value.clear();
  while (at < s.size() && (ascii_space(s[at]) || s[at] == '/')) ++at;
  if (at >= s.size() || s[at] == '>') return false;
  // The name.
  while (true) {
    if (at >= s.size()) return false;
    const char c = s[at];
    if (c == '=' && !name.empty()) {
      ++at;
      break;
    }
    if (ascii_space(c)) {
      while (at < s.size() && ascii_space(s[at])) ++at;
      if (at >= s.size()) return false;
      if (s[at] != '=') return true;  // a name without a value
      ++at;
      break;
    }
    if (c == '/' || c == '>') return true;
    name += ascii_lower(c);
    ++at;
  }
  // The value.
  while (at < s.size() && ascii_space(s[at])) ++at;
  if (at >= s.size()) return false;
  if (s[at] == '"' || s[at] == '\'') {
    const char quote = s[at++];
    while (true) {
      if (at >= s.size()) return false;
      if (s[at] == quote) {
        ++at;
        return true;
      }
      value += ascii_lower(s[at++]);
    }
  }
  if (s[at] == '>') return true;
  while (true) {
    if (at >= s.size()) return false;
    if (ascii_space(s[at]) || s[at] == '>') return true;
    value += ascii_lower(s[at++]);
  }
}

// A <meta>'s attributes, from just past "<meta" and the byte after it: its encoding or "".
std::string_view meta_encoding(std::string_view s, std::size_t& at) {
  std::string name, value;
  std::vector<std::string> seen;
  bool got_pragma = false;
  int need_pragma = -1;  // -1: null, 0: false, 1: true
  std::string_view charset;
  bool charset_set = false;  // the algorithm's "charset is not null" (a failed label counts)
  while (get_attribute(s, at, name, value)) {
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    if (name == "http-equiv") {
      if (value == "content-type") got_pragma = true;
    } else if (name == "content") {
      if (!charset_set)
        if (std::string_view found = encoding_from_content(value); !found.empty()) {
          charset = found;
          charset_set = true;
          need_pragma = 1;
        }
    } else if (name == "charset") {
      if (!charset_set) {
        charset = encoding_for_label(value);
        charset_set = true;
        need_pragma = 0;
      }
    }
  }
  if (need_pragma == -1 || (need_pragma == 1 && !got_pragma) || charset.empty()) return {};
  if (charset == "UTF-16BE" || charset == "UTF-16LE") return "UTF-8";
  if (charset == "x-user-defined") return "windows-1252";
  return charset;
}

// ISO-8859-16's upper half (0x80-0xFF), which ICU does not carry: the standard's table, as
// Python's iso8859_16 codec has it.
constexpr char16_t k_iso_8859_16[128] = {
    0x0080, 0x0081, 0x0082, 0x0083, 0x0084, 0x0085, 0x0086, 0x0087, 0x0088, 0x0089, 0x008A, 0x008B,
    0x008C, 0x008D, 0x008E, 0x008F, 0x0090, 0x0091, 0x0092, 0x0093, 0x0094, 0x0095, 0x0096, 0x0097,
    0x0098, 0x0099, 0x009A, 0x009B, 0x009C, 0x009D, 0x009E, 0x009F, 0x00A0, 0x0104, 0x0105, 0x0141,
    0x20AC, 0x201E, 0x0160, 0x00A7, 0x0161, 0x00A9, 0x0218, 0x00AB, 0x0179, 0x00AD, 0x017A, 0x017B,
    0x00B0, 0x00B1, 0x010C, 0x0142, 0x017D, 0x201D, 0x00B6, 0x00B7, 0x017E, 0x010D, 0x0219, 0x00BB,
    0x0152, 0x0153, 0x0178, 0x017C, 0x00C0, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x0106, 0x00C6, 0x00C7,
    0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF, 0x0110, 0x0143, 0x00D2, 0x00D3,
    0x00D4, 0x0150, 0x00D6, 0x015A, 0x0170, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x0118, 0x021A, 0x00DF,
    0x00E0, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x0107, 0x00E6, 0x00E7, 0x00E8, 0x00E9, 0x00EA, 0x00EB,
    0x00EC, 0x00ED, 0x00EE, 0x00EF, 0x0111, 0x0144, 0x00F2, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x015B,
    0x0171, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x0119, 0x021B, 0x00FF};

const char* icu_name(std::string_view name) {
  for (const Converter& c : k_converters)
    if (c.name == name) return c.icu;
  return nullptr;
}

// Each sequence ICU cannot decode becomes U+FFFD, whatever the converter's own substitute
// (a single-byte table's is U+001A).
void replace_invalid(const void*, UConverterToUnicodeArgs* args, const char*, int32_t,
                     UConverterCallbackReason reason, UErrorCode* error) {
  if (reason > UCNV_IRREGULAR) return;  // reset, close, clone: nothing to write
  static const UChar replacement = 0xFFFD;
  *error = U_ZERO_ERROR;
  ucnv_cbToUWriteUChars(args, &replacement, 1, 0, error);
}

struct CloseConverter {
  void operator()(UConverter* c) const { ucnv_close(c); }
};
struct CloseDetector {
  void operator()(UCharsetDetector* d) const { ucsdet_close(d); }
};

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {  // the single-byte tables hold the BMP only
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A single-byte encoding's bytes 0x80-0xFF, each as UTF-8. The Standard's single-byte encodings
// read 0x00-0x7F as ASCII, and map into the Private Use Area only macintosh's 0xF0 (U+F8FF);
// ICU's tables swap some control codes (IBM866) and map bytes the Standard leaves undefined
// there (windows-874's 0xDB-0xDE). So the lower half is ASCII, the upper half is ICU's with those
// mended (a PUA or substitute character is U+FFFD), and the four bytes where ICU's table and the
// Standard's index differ are the Standard's (k_index_differences).
// tests/unit/html_encoding_test.cpp holds every table to Chromium's TextDecoder.
struct Difference {
  std::string_view name;
  unsigned char byte;
  char32_t standard;
};
constexpr Difference k_index_differences[] = {
    {"KOI8-U", 0xAE, 0x045E},        // the Standard's KOI8-U is KOI8-RU; ICU's is box drawing
    {"KOI8-U", 0xBE, 0x040E},        //
    {"windows-1253", 0xAA, 0xFFFD},  // undefined in the Standard; ICU's best fit
    {"windows-1255", 0xCA, 0x05BA},  // HEBREW POINT HOLAM HASER FOR VAV; undefined in ICU's
};

struct SingleByte {
  std::array<std::string, 128> high;
  std::map<char32_t, unsigned char> bytes;  // the other way, for queries: U+FFFD is none's
};

const SingleByte* single_byte(std::string_view name) {
  static const std::map<std::string_view, SingleByte> tables = [] {
    std::map<std::string_view, SingleByte> out;
    for (const Converter& c : k_converters) {
      if (c.name == "UTF-8" || c.name == "GBK" || c.name == "gb18030" || c.name == "Big5" ||
          c.name == "EUC-JP" || c.name == "ISO-2022-JP" || c.name == "Shift_JIS" ||
          c.name == "EUC-KR" || c.name == "UTF-16BE" || c.name == "UTF-16LE")
        continue;
      SingleByte& table = out[c.name];
      UErrorCode error = U_ZERO_ERROR;
      std::unique_ptr<UConverter, CloseConverter> cnv(ucnv_open(c.icu, &error));
      for (int b = 0x80; b <= 0xFF; ++b) {
        char32_t cp = 0xFFFD;
        if (c.name == "ISO-8859-16") {
          cp = k_iso_8859_16[b - 0x80];
        } else if (cnv) {
          const char in = static_cast<char>(b);
          UChar u[4];
          error = U_ZERO_ERROR;
          ucnv_reset(cnv.get());
          const int32_t n = ucnv_toUChars(cnv.get(), u, 4, &in, 1, &error);
          if (U_SUCCESS(error) && n == 1) cp = u[0];
          if ((cp >= 0xE000 && cp < 0xF8FF) || cp == 0x1A) cp = 0xFFFD;
        }
        for (const Difference& d : k_index_differences)
          if (d.name == c.name && d.byte == b) cp = d.standard;
        append_utf8(table.high[static_cast<std::size_t>(b - 0x80)], cp);
        if (cp != 0xFFFD) table.bytes.emplace(cp, static_cast<unsigned char>(b));
      }
    }
    return out;
  }();
  const auto it = tables.find(name);
  return it == tables.end() ? nullptr : &it->second;
}

// ICU's detector reads this much of a page that declares nothing and is not UTF-8, from just
// before its first byte that is not ASCII: ASCII markup tells no encoding from another, and the
// detector's cost grows with what it reads (64 KiB from the start of a page took more CPU than
// the page's parse).
constexpr std::size_t k_detect_bytes = 2048;
constexpr std::size_t k_detect_before = 256;

std::string_view detect(std::string_view bytes) {
  UErrorCode error = U_ZERO_ERROR;
  std::unique_ptr<UCharsetDetector, CloseDetector> det(ucsdet_open(&error));
  if (U_FAILURE(error)) return {};
  ucsdet_enableInputFilter(det.get(), true);  // markup is not text
  std::size_t first = 0;
  while (first < bytes.size() && static_cast<unsigned char>(bytes[first]) < 0x80) ++first;
  const std::size_t from = first > k_detect_before ? first - k_detect_before : 0;
  const std::string_view sample = bytes.substr(from, k_detect_bytes);
  ucsdet_setText(det.get(), sample.data(), static_cast<int32_t>(sample.size()), &error);
  const UCharsetMatch* match = ucsdet_detect(det.get(), &error);
  if (U_FAILURE(error) || match == nullptr) return {};
  const char* name = ucsdet_getName(match, &error);
  if (U_FAILURE(error) || name == nullptr) return {};
  // Without a byte order mark, UTF-16 is no guess to make: ICU's UTF-16 recognisers answer with
  // some confidence for any text without NUL bytes, and a page read as UTF-16 by mistake loses
  // every character and link.
  if (std::string_view(name).starts_with("UTF-16") || std::string_view(name).starts_with("UTF-32"))
    return {};
  return encoding_for_label(name);
}

// A character the document's encoding cannot hold, in a query: "&#N;", percent-encoded.
void escape_unmappable(const void*, UConverterFromUnicodeArgs* args, const UChar*, int32_t,
                       UChar32 code_point, UConverterCallbackReason reason, UErrorCode* error) {
  if (reason > UCNV_IRREGULAR) return;
  *error = U_ZERO_ERROR;
  const std::string text = "%26%23" + std::to_string(code_point) + "%3B";
  ucnv_cbFromUWriteBytes(args, text.data(), static_cast<int32_t>(text.size()), 0, error);
}

}  // namespace

std::string_view to_string(EncodingSource source) {
  switch (source) {
    case EncodingSource::bom:
      return "bom";
    case EncodingSource::header:
      return "header";
    case EncodingSource::meta:
      return "meta";
    case EncodingSource::detected:
      return "detected";
    case EncodingSource::fallback:
      break;
  }
  return "default";
}

std::string_view encoding_for_label(std::string_view label) {
  while (!label.empty() && ascii_space(label.front())) label.remove_prefix(1);
  while (!label.empty() && ascii_space(label.back())) label.remove_suffix(1);
  std::array<char, 24> lower{};
  if (label.empty() || label.size() > lower.size()) return {};
  for (std::size_t i = 0; i < label.size(); ++i) lower[i] = ascii_lower(label[i]);
  const std::string_view key(lower.data(), label.size());
  const auto it = std::lower_bound(std::begin(k_labels), std::end(k_labels), key,
                                   [](const Label& l, std::string_view k) { return l.label < k; });
  return it != std::end(k_labels) && it->label == key ? it->name : std::string_view();
}

std::vector<std::pair<std::string_view, std::string_view>> encoding_labels() {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (const Label& l : k_labels) out.emplace_back(l.label, l.name);
  return out;
}

std::string_view prescan(std::string_view bytes) {
  const std::string_view s = bytes.substr(0, 1024);
  std::size_t at = 0;
  std::string name, value;
  while (at < s.size()) {
    if (s.compare(at, 4, "<!--") == 0) {
      const std::size_t end = s.find("-->", at + 2);
      if (end == std::string_view::npos) return {};
      at = end + 3;
      continue;
    }
    if (starts_with_nocase(s, at, "<meta") && at + 5 < s.size() &&
        (ascii_space(s[at + 5]) || s[at + 5] == '/')) {
      at += 6;
      if (std::string_view found = meta_encoding(s, at); !found.empty()) return found;
      continue;
    }
    const auto letter = [&](std::size_t i) {
      return i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'));
    };
    if (s[at] == '<' &&
        (letter(at + 1) || (at + 1 < s.size() && s[at + 1] == '/' && letter(at + 2)))) {
      // A tag: past its name, then past its attributes.
      while (at < s.size() && !ascii_space(s[at]) && s[at] != '>') ++at;
      while (get_attribute(s, at, name, value)) {
      }
      ++at;
      continue;
    }
    if (s.compare(at, 2, "<!") == 0 || s.compare(at, 2, "</") == 0 || s.compare(at, 2, "<?") == 0) {
      const std::size_t end = s.find('>', at + 2);
      if (end == std::string_view::npos) return {};
      at = end + 1;
      continue;
    }
    ++at;
  }
  return {};
}

url::QueryEncoder query_encoder(std::string_view encoding) {
  if (encoding == "UTF-8" || encoding == "UTF-16BE" || encoding == "UTF-16LE" ||
      encoding == "replacement")
    return {};
  if (const SingleByte* table = single_byte(encoding)) {
    return [table](std::string_view utf8) {
      std::string out;
      for (std::size_t i = 0; i < utf8.size();) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {
          out += utf8[i++];
          continue;
        }
        const std::size_t n = utf8_length(utf8.substr(i));
        char32_t cp = 0xFFFD;
        if (n > 0) {
          cp = n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
          for (std::size_t k = 1; k < n; ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
        }
        i += std::max<std::size_t>(n, 1);
        if (const auto it = table->bytes.find(cp); it != table->bytes.end())
          out += static_cast<char>(it->second);
        else
          out += "%26%23" + std::to_string(static_cast<std::uint32_t>(cp)) + "%3B";
      }
      return out;
    };
  }
  // The Standard's GBK encoder is gb18030's without its four-byte forms (a character outside
  // GBK is "&#N;") and with the euro sign as 0x80: ICU's GBK converter, not GB18030.
  const char* icu = encoding == "GBK" ? "GBK" : icu_name(encoding);
  if (icu == nullptr) return {};  // x-user-defined: its documents' text is ASCII and U+F7xx
  return [icu](std::string_view utf8) {
    UErrorCode error = U_ZERO_ERROR;
    std::unique_ptr<UConverter, CloseConverter> to(ucnv_open(icu, &error));
    if (U_FAILURE(error)) return std::string(utf8);
    ucnv_setFromUCallBack(to.get(), escape_unmappable, nullptr, nullptr, nullptr, &error);
    // UTF-8 to UTF-16 to the encoding: queries are short.
    std::u16string wide(utf8.size() + 1, u'\0');
    int32_t wide_length = 0;
    u_strFromUTF8WithSub(reinterpret_cast<UChar*>(wide.data()), static_cast<int32_t>(wide.size()),
                         &wide_length, utf8.data(), static_cast<int32_t>(utf8.size()), 0xFFFD,
                         nullptr, &error);
    if (U_FAILURE(error)) return std::string(utf8);
    std::string out(static_cast<std::size_t>(wide_length) * 16 + 16, '\0');
    const int32_t n =
        ucnv_fromUChars(to.get(), out.data(), static_cast<int32_t>(out.size()),
                        reinterpret_cast<const UChar*>(wide.data()), wide_length, &error);
    if (U_FAILURE(error)) return std::string(utf8);
    out.resize(static_cast<std::size_t>(n));
    return out;
  };
}

bool valid_utf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    // ASCII eight bytes at a time: most of a page.
    while (i + 8 <= bytes.size()) {
      std::uint64_t word;
      std::memcpy(&word, bytes.data() + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= bytes.size()) break;
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_length(bytes.substr(i));
    if (n == 0) {
      // A character cut short by the end of the bytes is not an error of the page's.
      const std::size_t left = bytes.size() - i;
      const unsigned char c = static_cast<unsigned char>(bytes[i]);
      const std::size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
      if (want == 0 || c > 0xF4 || left >= want) return false;
      for (std::size_t k = 1; k < left; ++k)
        if ((static_cast<unsigned char>(bytes[i + k]) & 0xC0) != 0x80) return false;
      return true;
    }
    i += n;
  }
  return true;
}

Encoding sniff(std::string_view bytes, std::string_view http_charset) {
  if (bytes.size() >= 3 && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0)
    return {"UTF-8", EncodingSource::bom, 3};
  if (bytes.size() >= 2 && bytes.compare(0, 2, "\xFE\xFF") == 0)
    return {"UTF-16BE", EncodingSource::bom, 2};
  if (bytes.size() >= 2 && bytes.compare(0, 2, "\xFF\xFE") == 0)
    return {"UTF-16LE", EncodingSource::bom, 2};
  if (std::string_view named = encoding_for_label(http_charset); !named.empty())
    return {named, EncodingSource::header};
  if (std::string_view declared = prescan(bytes); !declared.empty())
    return {declared, EncodingSource::meta};
  if (valid_utf8(bytes)) return {"UTF-8", EncodingSource::fallback};
  if (std::string_view detected = detect(bytes); !detected.empty() && detected != "replacement")
    return {detected, EncodingSource::detected};
  return {"windows-1252", EncodingSource::fallback};
}

std::string to_utf8(std::string_view bytes, const Encoding& encoding) {
  bytes.remove_prefix(std::min(encoding.bom_bytes, bytes.size()));
  if (encoding.name == "UTF-8") return std::string(bytes);
  if (encoding.name == "replacement") return bytes.empty() ? "" : "\xEF\xBF\xBD";
  std::string out;
  if (encoding.name == "x-user-defined") {
    out.reserve(bytes.size() * 3);
    for (const char ch : bytes) {
      const auto b = static_cast<unsigned char>(ch);
      append_utf8(out, b < 0x80 ? b : 0xF780u + (b - 0x80u));  // the Standard's mapping
    }
    return out;
  }
  if (const SingleByte* table = single_byte(encoding.name)) {
    out.reserve(bytes.size() + bytes.size() / 4);
    for (const char ch : bytes) {
      const auto b = static_cast<unsigned char>(ch);
      if (b < 0x80)
        out += ch;
      else
        out += table->high[b - 0x80];
    }
    return out;
  }
  const char* icu = icu_name(encoding.name);
  UErrorCode error = U_ZERO_ERROR;
  std::unique_ptr<UConverter, CloseConverter> from(icu ? ucnv_open(icu, &error) : nullptr);
  if (!from || U_FAILURE(error)) return std::string(bytes);  // not reached: every name has one
  ucnv_setToUCallBack(from.get(), replace_invalid, nullptr, nullptr, nullptr, &error);
  std::unique_ptr<UConverter, CloseConverter> utf8(ucnv_open("UTF-8", &error));
  if (U_FAILURE(error)) return std::string(bytes);
  // Two bytes in make at most three out in the usual case (a CJK character, a UTF-16 unit); a
  // run of invalid bytes makes three out of one, and the buffer then grows. Sized for the usual,
  // not the worst: the text is held through the parse.
  out.resize(bytes.size() + bytes.size() / 2 + 16);
  char* target = out.data();
  const char* source = bytes.data();
  std::array<UChar, 1024> pivot{};
  UChar* pivot_source = pivot.data();
  UChar* pivot_target = pivot.data();
  bool reset = true;
  while (true) {
    error = U_ZERO_ERROR;
    ucnv_convertEx(utf8.get(), from.get(), &target, out.data() + out.size(), &source,
                   bytes.data() + bytes.size(), pivot.data(), &pivot_source, &pivot_target,
                   pivot.data() + pivot.size(), reset, true, &error);
    reset = false;
    if (error != U_BUFFER_OVERFLOW_ERROR) break;
    const std::size_t written = static_cast<std::size_t>(target - out.data());
    out.resize(out.size() * 2);
    target = out.data() + written;
  }
  out.resize(static_cast<std::size_t>(target - out.data()));
  return out;
}

}  // namespace crawl::html
