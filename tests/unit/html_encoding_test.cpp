// A page's encoding as a browser finds it, and its text as UTF-8 (lib/html/encoding.hpp). The
// expected texts are Python's codecs' (the bytes below were made by str.encode); the labels are
// held to Node's TextDecoder and every single-byte table to Chromium's, which implement the WHATWG
// Encoding Standard.

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "html/encoding.hpp"

namespace crawl::html {
namespace {

using namespace std::string_view_literals;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Runs `script` with Node, `input` on its standard input; its standard output.
std::string node(const std::string& script, const std::string& input) {
  const std::string dir = ::testing::TempDir();
  const std::string js = dir + "crawl-encoding-test.js", in = dir + "crawl-encoding-test.in";
  for (const auto& [path, text] : {std::pair{js, script}, std::pair{in, input}}) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return "cannot write " + path;
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  const std::string command = "node '" + js + "' < '" + in + "' 2>&1";
  std::FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return "cannot run node";
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, p)) > 0;) out.append(buffer, n);
  const int status = pclose(p);
  std::remove(js.c_str());
  std::remove(in.c_str());
  return status == 0 ? out : "node failed: " + out;
}

TEST(Encoding, LabelsAreReadAsTheStandardSays) {
  EXPECT_EQ(encoding_for_label("latin1"), "windows-1252");
  EXPECT_EQ(encoding_for_label(" ISO-8859-1\t"), "windows-1252");
  EXPECT_EQ(encoding_for_label("US-ASCII"), "windows-1252");
  EXPECT_EQ(encoding_for_label("gb2312"), "GBK");
  EXPECT_EQ(encoding_for_label("Shift_JIS"), "Shift_JIS");
  EXPECT_EQ(encoding_for_label("UTF8"), "UTF-8");
  EXPECT_EQ(encoding_for_label("utf-16"), "UTF-16LE");
  EXPECT_EQ(encoding_for_label("iso-2022-kr"), "replacement");
  EXPECT_EQ(encoding_for_label("utf-7"), "");
  EXPECT_EQ(encoding_for_label(""), "");
  EXPECT_EQ(encoding_for_label("a-label-longer-than-any-the-standard-has"), "");
}

TEST(Encoding, EveryLabelNamesWhatNodesTextDecoderNames) {
  std::string input;
  const auto labels = encoding_labels();
  ASSERT_GT(labels.size(), 200u);
  for (const auto& [label, name] : labels) (input += label) += '\n';
  // Node refuses the replacement encoding's labels (the Standard's TextDecoder does), and has no
  // ISO-8859-16 or x-user-defined: for those it says "refused".
  const std::string said = node(R"(
const labels = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
for (const label of labels) {
  let name;
  try { name = new TextDecoder(label).encoding; } catch (e) { name = 'refused'; }
  console.log(label + '\t' + name);
})",
                                input);
  // Labels the Standard added in 2022 (UTF-8's and UTF-16's aliases): Node 18, Debian 12's,
  // does not know them yet and refuses them; Node 20 names them as the Standard does. Either
  // answer is taken for these, and only for these.
  const std::set<std::string_view> newer{"csunicode",   "iso-10646-ucs-2", "ucs-2",
                                         "unicode",     "unicode11utf8",   "unicode20utf8",
                                         "unicodefeff", "unicodefffe",     "x-unicode20utf8"};
  std::size_t at = 0, checked = 0;
  for (const auto& [label, name] : labels) {
    const std::size_t end = said.find('\n', at);
    ASSERT_NE(end, std::string::npos) << said;
    const bool refused = name == "replacement" || name == "ISO-8859-16" || name == "x-user-defined";
    const std::string answer = said.substr(at, end - at);
    if (newer.count(label) && answer == std::string(label) + "\trefused") {
      at = end + 1;
      ++checked;
      continue;
    }
    EXPECT_EQ(answer, std::string(label) + '\t' + (refused ? std::string("refused") : lower(name)));
    at = end + 1;
    ++checked;
  }
  EXPECT_EQ(checked, labels.size());
}

// Every byte of every single-byte encoding, decoded by Chromium's TextDecoder (Blink implements
// the Standard's indexes; Node's TextDecoder is ICU's tables, the very ones mended here).
TEST(Encoding, EverySingleByteTableDecodesAsChromiumsTextDecoderDoes) {
  const char* names[] = {
      "IBM866",       "ISO-8859-2",   "ISO-8859-3",     "ISO-8859-4",    "ISO-8859-5",
      "ISO-8859-6",   "ISO-8859-7",   "ISO-8859-8",     "ISO-8859-8-I",  "ISO-8859-10",
      "ISO-8859-13",  "ISO-8859-14",  "ISO-8859-15",    "ISO-8859-16",   "KOI8-R",
      "KOI8-U",       "macintosh",    "windows-874",    "windows-1250",  "windows-1251",
      "windows-1252", "windows-1253", "windows-1254",   "windows-1255",  "windows-1256",
      "windows-1257", "windows-1258", "x-mac-cyrillic", "x-user-defined"};
  std::string list;
  for (const char* name : names) list += std::string(list.empty() ? "" : ",") + '"' + name + '"';
  const std::string dir = ::testing::TempDir() + "crawl-encoding-chromium";
  const std::string page = dir + "/tables.html";
  ASSERT_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  {
    std::FILE* f = std::fopen(page.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string html =
        "<script>const all = new Uint8Array(256).map((_, i) => i); const out = [];"
        "for (const n of [" +
        list +
        "]) {"
        "  const cps = [];"
        "  for (const ch of new TextDecoder(n).decode(all)) cps.push(ch.codePointAt(0));"
        "  out.push(cps.join(','));"
        "}"
        "document.write('TABLES:' + out.join(';') + ':TABLES');</script>";
    std::fwrite(html.data(), 1, html.size(), f);
    std::fclose(f);
  }
  const char* chromium = std::getenv("CRAWL_CHROMIUM");
  const std::string command = std::string(chromium ? chromium : "chromium") +
                              " --headless --no-sandbox --disable-gpu --user-data-dir='" + dir +
                              "/profile' --dump-dom 'file://" + page + "' 2>/dev/null";
  std::FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string dom;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, p)) > 0;) dom.append(buffer, n);
  pclose(p);
  std::system(("rm -rf '" + dir + "'").c_str());
  const std::size_t from = dom.rfind("TABLES:"), to = dom.rfind(":TABLES");
  ASSERT_TRUE(from != std::string::npos && to != std::string::npos && from < to)
      << "chromium said: " << dom.substr(0, 2000);
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::size_t at = from + 7, checked = 0;
  for (const char* name : names) {
    // Chromium's code points for bytes 0..255, as UTF-8 text.
    std::string expected;
    const std::size_t end = std::min(dom.find(';', at), to);
    for (std::size_t i = at; i < end;) {
      const std::size_t comma = std::min(dom.find(',', i), end);
      const auto cp = static_cast<char32_t>(std::stoul(dom.substr(i, comma - i)));
      if (cp < 0x80) {
        expected += static_cast<char>(cp);
      } else if (cp < 0x800) {
        expected += static_cast<char>(0xC0 | (cp >> 6));
        expected += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        expected += static_cast<char>(0xE0 | (cp >> 12));
        expected += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        expected += static_cast<char>(0x80 | (cp & 0x3F));
      }
      i = comma + 1;
    }
    EXPECT_EQ(to_utf8(all, Encoding{name, EncodingSource::header}), expected) << name;
    at = end + 1;
    ++checked;
  }
  EXPECT_EQ(checked, std::size(names));
}

TEST(Encoding, TheTwoSingleByteEncodingsIcuLacksDecodeAsTheirTablesSay) {
  // ISO-8859-16 as Python's iso8859_16 codec reads it; x-user-defined as the Standard defines it.
  EXPECT_EQ(to_utf8("a\xA4\xAA\xDE\xFF"sv, Encoding{"ISO-8859-16", EncodingSource::meta}),
            "a\u20AC\u0218\u021A\u00FF");
  EXPECT_EQ(to_utf8("a\x80\xFF"sv, Encoding{"x-user-defined", EncodingSource::meta}),
            "a\uF780\uF7FF");
  EXPECT_EQ(
      url::Resolver("http://a/", query_encoder("ISO-8859-16")).resolve("?q=\u0218").value_or(""),
      "http://a/?q=%AA");
}

struct Sample {
  std::string_view name, bytes, text;
};
// str.encode of Python's codecs: shift_jis, euc_jp, iso2022_jp, gbk, gb18030, big5, euc_kr,
// koi8_r, cp1251, utf-16-le, utf-16-be.
const Sample k_samples[] = {
    {"Shift_JIS",
     "\x93\xFA\x96\x7B\x8C\xEA\x82\xCC\x83\x79\x81\x5B\x83\x57\x81\x41\x83\x4A\x83\x5E\x83\x4A\x83\x69"sv,
     "日本語のページ、カタカナ"},
    {"EUC-JP", "\xC6\xFC\xCB\xDC\xB8\xEC\xA4\xCE\xA5\xDA\xA1\xBC\xA5\xB8"sv, "日本語のページ"},
    {"ISO-2022-JP",
     "\x1B\x24\x42\x46\x7C\x4B\x5C\x38\x6C\x24\x4E\x25\x5A\x21\x3C\x25\x38\x1B\x28\x42"sv,
     "日本語のページ"},
    {"GBK", "\xD6\xD0\xCE\xC4\xCD\xF8\xD2\xB3\xB1\xEA\xCC\xE2"sv, "中文网页标题"},
    {"gb18030", "\xD6\xD0\xCE\xC4\xCD\xF8\xD2\xB3\xB1\xEA\xCC\xE2\xA2\xE3"sv, "中文网页标题€"},
    {"Big5", "\xC1\x63\xC5\xE9\xA4\xA4\xA4\xE5\xBA\xF4\xAD\xB6"sv, "繁體中文網頁"},
    {"EUC-KR", "\xC7\xD1\xB1\xB9\xBE\xEE\x20\xC1\xA6\xB8\xF1"sv, "한국어 제목"},
    {"KOI8-R", "\xF0\xD2\xC9\xD7\xC5\xD4\x2C\x20\xCD\xC9\xD2"sv, "Привет, мир"},
    {"windows-1251", "\xCF\xF0\xE8\xE2\xE5\xF2\x2C\x20\xEC\xE8\xF0"sv, "Привет, мир"},
    {"UTF-16LE", "\x43\x00\x61\x00\x66\x00\xE9\x00\x20\x00\x15\x26"sv, "Café ☕"},
    {"UTF-16BE", "\x00\x43\x00\x61\x00\x66\x00\xE9\x00\x20\x26\x15"sv, "Café ☕"},
};

TEST(Encoding, MultiByteTextComesOutAsPythonWroteIt) {
  for (const Sample& s : k_samples)
    EXPECT_EQ(to_utf8(s.bytes, Encoding{s.name, EncodingSource::header}), s.text) << s.name;
  EXPECT_EQ(to_utf8("Caf\xE9"sv, Encoding{"windows-1252", EncodingSource::meta}), "Café");
  EXPECT_EQ(to_utf8("\xEF\xBB\xBFok"sv, Encoding{"UTF-8", EncodingSource::bom, 3}), "ok");
  EXPECT_EQ(to_utf8("\xFF\xFEo\x00k\x00"sv, Encoding{"UTF-16LE", EncodingSource::bom, 2}), "ok");
  EXPECT_EQ(to_utf8("anything"sv, Encoding{"replacement", EncodingSource::meta}), "\uFFFD");
}

TEST(Encoding, InvalidSequencesBecomeOneReplacementCharacterEach) {
  // Shift_JIS: a lead byte followed by a byte that cannot trail it, then a lone lead at the end.
  const std::string out = to_utf8(
      "a\x81\x20"
      "b\x82"sv,
      Encoding{"Shift_JIS", EncodingSource::header});
  EXPECT_EQ(out, "a\uFFFD b\uFFFD");
  // A byte windows-874 does not map.
  EXPECT_EQ(to_utf8("x\xDBy"sv, Encoding{"windows-874", EncodingSource::header}), "x\uFFFDy");
}

TEST(Encoding, ThePrescanFindsMetaCharsetAndHttpEquivAsHtmlSays) {
  EXPECT_EQ(prescan(R"(<html><head><meta charset="koi8-r"><title>x</title>)"), "KOI8-R");
  EXPECT_EQ(prescan("<meta charset=Shift_JIS>"), "Shift_JIS");
  EXPECT_EQ(prescan(R"(<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=euc-kr">)"),
            "EUC-KR");
  EXPECT_EQ(prescan(R"(<meta content='text/html; charset="gb2312"' http-equiv=content-type>)"),
            "GBK");
  // content= without http-equiv=content-type is not a declaration.
  EXPECT_EQ(prescan(R"(<meta content="text/html; charset=koi8-r">)"), "");
  EXPECT_EQ(prescan(R"(<meta http-equiv="refresh" content="0; charset=koi8-r">)"), "");
  // The first charset attribute counts; a later duplicate is ignored.
  EXPECT_EQ(prescan(R"(<meta charset="windows-1251" charset="koi8-r">)"), "windows-1251");
  // In a comment, in an attribute value of another tag, or past 1024 bytes: not seen.
  EXPECT_EQ(prescan("<!-- <meta charset=koi8-r> --><meta charset=latin1>"), "windows-1252");
  EXPECT_EQ(prescan(R"(<a title="<meta charset=koi8-r>">x</a>)"), "");
  EXPECT_EQ(prescan(std::string(1024, ' ') + "<meta charset=koi8-r>"), "");
  EXPECT_EQ(prescan("<!--><meta charset=koi8-r>"), "KOI8-R");  // "<!-->" ends itself
  // A declared UTF-16 is read as UTF-8 (these bytes are ASCII); x-user-defined as windows-1252.
  EXPECT_EQ(prescan("<meta charset=utf-16le>"), "UTF-8");
  EXPECT_EQ(prescan("<meta charset=x-user-defined>"), "windows-1252");
  EXPECT_EQ(prescan("<meta charset=no-such-thing>"), "");
  EXPECT_EQ(prescan("<meta charset=\"koi8-r"), "");  // cut off: no declaration
  // The first of content= and charset= is the one: here content, which needs the pragma.
  EXPECT_EQ(prescan(R"(<meta content="text/html;charset=shift_jis" charset="utf-8">)"), "");
  EXPECT_EQ(prescan(R"(<meta charset="bogus" content="text/html;charset=koi8-r" )"
                    R"(http-equiv="content-type">)"),
            "");
}

TEST(Encoding, TheBomThenTheHeaderThenTheMetaThenTheBytesDecide) {
  const std::string meta = "<meta charset=koi8-r><title>x</title>";
  Encoding e = sniff("\xEF\xBB\xBF" + meta, "windows-1251");
  EXPECT_EQ(e.name, "UTF-8");
  EXPECT_EQ(e.source, EncodingSource::bom);
  EXPECT_EQ(e.bom_bytes, 3u);
  e = sniff("\xFF\xFE<\0"sv, "");
  EXPECT_EQ(e.name, "UTF-16LE");
  EXPECT_EQ(e.bom_bytes, 2u);
  e = sniff(meta, "windows-1251");
  EXPECT_EQ(e.name, "windows-1251");
  EXPECT_EQ(e.source, EncodingSource::header);
  e = sniff(meta, "no-such-charset");  // an unknown label is no declaration
  EXPECT_EQ(e.name, "KOI8-R");
  EXPECT_EQ(e.source, EncodingSource::meta);
  e = sniff("<title>Caf\xC3\xA9</title>", "");
  EXPECT_EQ(e.name, "UTF-8");
  EXPECT_EQ(e.source, EncodingSource::fallback);
  EXPECT_EQ(to_string(e.source), "default");
  // Cut inside a character at the end, as a body cut at a cap is: still UTF-8.
  EXPECT_EQ(sniff("<p>caf\xC3"sv, "").name, "UTF-8");
}

TEST(Encoding, UndeclaredTextThatIsNotUtf8IsDetected) {
  std::string japanese = "<html><head><title>";
  std::string body;
  for (int i = 0; i < 20; ++i) body += std::string(k_samples[0].bytes);
  const Encoding sjis = sniff(japanese + "x</title></head><body><p>" + body + "</p>", "");
  EXPECT_EQ(sjis.name, "Shift_JIS");
  EXPECT_EQ(sjis.source, EncodingSource::detected);
  // Too little to tell: windows-1252, by detection or by default.
  const Encoding latin = sniff("<title>Caf\xE9</title>"sv, "");
  EXPECT_EQ(latin.name, "windows-1252");
  EXPECT_NE(latin.source, EncodingSource::meta);
}

TEST(Encoding, QueriesOfALegacyDocumentAreEncodedInItAndPathsInUtf8) {
  const url::Resolver latin("http://a.example/dir/", query_encoder("windows-1252"));
  EXPECT_EQ(latin.resolve("?q=caf\u00e9"), "http://a.example/dir/?q=caf%E9");
  EXPECT_EQ(latin.resolve("caf\u00e9?q=caf\u00e9#x"), "http://a.example/dir/caf%C3%A9?q=caf%E9");
  EXPECT_EQ(latin.resolve("http://b.example/?q=\u20ac"), "http://b.example/?q=%80");
  // A character windows-1252 cannot hold: "&#9749;", percent-encoded.
  EXPECT_EQ(latin.resolve("?q=\u2615&r=1"), "http://a.example/dir/?q=%26%239749%3B&r=1");
  // ASCII and escapes already written are left as they are.
  EXPECT_EQ(latin.resolve("?a=1&b=%E9"), "http://a.example/dir/?a=1&b=%E9");
  // GBK's encoder is not gb18030's: the euro sign is 0x80, and a character outside GBK "&#N;".
  const url::Resolver gbk("http://a.example/", query_encoder("GBK"));
  EXPECT_EQ(gbk.resolve("?q=\u20ac\u4e2d").value_or(""), "http://a.example/?q=%80%D6%D0");
  EXPECT_EQ(gbk.resolve("?q=\U0001F600").value_or(""), "http://a.example/?q=%26%23128512%3B");
  const url::Resolver sjis("http://a.example/", query_encoder("Shift_JIS"));
  // 日本 is 93 FA 96 7B: the last byte is "{", which a query keeps as it is.
  EXPECT_EQ(sjis.resolve("/\u65e5?\u65e5\u672c").value_or("rejected"),
            "http://a.example/%E6%97%A5?%93%FA%96{");
  // UTF-8, UTF-16 and replacement documents give no encoder: their queries are UTF-8.
  for (const char* name : {"UTF-8", "UTF-16LE", "UTF-16BE", "replacement"})
    EXPECT_FALSE(query_encoder(name)) << name;
  EXPECT_EQ(url::Resolver("http://a.example/", query_encoder("UTF-8")).resolve("?q=caf\u00e9"),
            "http://a.example/?q=caf%C3%A9");
}

TEST(Encoding, Utf8ValidityAllowsOnlyACharacterCutByTheEnd) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii text, long enough for the eight-byte steps"));
  EXPECT_TRUE(valid_utf8("\xE6\x97\xA5\xE6\x9C"sv));  // 日 and the start of 本
  EXPECT_FALSE(valid_utf8("\xE6\x97\xA5\xE6x"sv));
  EXPECT_FALSE(valid_utf8("caf\xE9 au lait"sv));
  EXPECT_FALSE(valid_utf8("\xC0\xAF"sv));      // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"sv));  // a surrogate
  EXPECT_FALSE(valid_utf8("abc\xFF"sv));
}

}  // namespace
}  // namespace crawl::html
