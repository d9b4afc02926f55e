// HTML extraction and link resolution: never crashes, and the caps hold. The bytes are a page in
// an encoding: found as the worker finds it (or declared by the first byte's pick of a charset),
// made UTF-8 (which must come out valid), and its links' queries encoded back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz.hpp"
#include "html/encoding.hpp"
#include "html/html.hpp"
#include "html/outlinks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl::html;
  static const char* charsets[] = {
      "",        "utf-8",    "windows-1252", "shift_jis",      "gbk",         "euc-kr",
      "koi8-r",  "utf-16le", "utf-16be",     "iso-2022-jp",    "big5",        "euc-jp",
      "gb18030", "ibm866",   "iso-8859-16",  "x-user-defined", "iso-2022-kr", "macintosh"};
  const std::string_view charset =
      size > 0 ? charsets[data[0] % std::size(charsets)] : std::string_view();
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const Encoding encoding = sniff(body, charset);
  FUZZ_CHECK(!encoding.name.empty());
  (void)prescan(body);
  const std::string text = encoding.name == "UTF-8" ? std::string(body.substr(encoding.bom_bytes))
                                                    : to_utf8(body, encoding);
  if (encoding.name != "UTF-8") FUZZ_CHECK(valid_utf8(text + " "));
  const Page page = extract(text);
  FUZZ_CHECK(page.links.size() <= text.size());
  const Outlinks links =
      outlinks(page, "http://fuzz.example/dir/page.html", {}, query_encoder(encoding.name));
  FUZZ_CHECK(links.follow.size() + links.nofollow + links.rejected <= page.links.size());
  for (const auto& u : links.follow) FUZZ_CHECK(u.starts_with("http"));
  (void)srcset_urls(body);
  return 0;
}
