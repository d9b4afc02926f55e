// JsonWriter against nlohmann::json, the writer it stands in for: the same documents written
// both ways give the same text, compact and indented.

#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/json_writer.hpp"
#include "core/output.hpp"

namespace crawl {
namespace {

using Json = nlohmann::ordered_json;

// `j` written through JsonWriter's calls, one by one.
void write(JsonWriter& out, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      out.begin_object();
      for (const auto& [k, v] : j.items()) {
        out.key(k);
        write(out, v);
      }
      out.end_object();
      break;
    case Json::value_t::array:
      out.begin_array();
      for (const auto& v : j) write(out, v);
      out.end_array();
      break;
    case Json::value_t::string:
      out.value(j.get_ref<const std::string&>());
      break;
    case Json::value_t::boolean:
      out.value(j.get<bool>());
      break;
    case Json::value_t::number_integer:
      out.value(j.get<std::int64_t>());
      break;
    case Json::value_t::number_unsigned:
      out.value(j.get<std::uint64_t>());
      break;
    case Json::value_t::number_float:
      out.value(j.get<double>());
      break;
    default:
      out.null();
  }
}

std::string written(const Json& j, int indent) {
  std::string text;
  JsonWriter out(text, indent);
  write(out, j);
  return text;
}

TEST(JsonWriter, WritesWhatNlohmannWrites) {
  const Json doc = {{"ascii", "plain text / with a slash"},
                    {"escapes", "quote \" backslash \\ \b\f\n\r\t \x01\x1f del \x7f"},
                    {"utf8", "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad"},
                    {"numbers",
                     {0, -1, 42, std::numeric_limits<std::int64_t>::min(),
                      std::numeric_limits<std::uint64_t>::max()}},
                    {"floats",
                     {12.5, 1.0, 0.1, 1e20, 1e-5, -0.0, 123456789012.0, 2.0 / 3.0, 1e300, 1e15,
                      999999999999999.0, 5e-324, 0.30000000000000004}},
                    {"flags", {true, false, nullptr}},
                    {"empty", {{"object", Json::object()}, {"array", Json::array()}, {"", ""}}},
                    {"nested", {{{"a", {{"b", {1, {{"c", Json::array({Json::object()})}}}}}}}}}};
  for (int indent : {-1, 0, 2, 4})
    EXPECT_EQ(written(doc, indent), json_text(doc, indent)) << indent;
  EXPECT_EQ(written(Json::array(), 2), "[]");
  EXPECT_EQ(written(Json("top"), 2), "\"top\"");
}

TEST(JsonWriter, BytesThatAreNotUtf8AreReplacedAsNlohmannReplacesThem) {
  for (const char* text : {"a\xff"
                           "b",
                           "\xe2\x82"
                           "z",
                           "end \xf0\x9f\x98", "\xe0\x80\x80", "\xed\xa0\x80 surrogate",
                           "\xc0\xaf overlong", "\x80 stray", "\xf4\x90\x80\x80 past U+10FFFF",
                           "\xc3", "ok \xc3\xa9 \xc3(", "\xf0\x9f\x98\x80\xf0\x9f"}) {
    std::string mine;
    JsonWriter(mine).value(std::string_view(text));
    EXPECT_EQ(mine, json_text(Json(text), -1)) << text;
  }
}

TEST(JsonWriter, ANumberThatIsNoNumberIsNullAndBadUtf8IsReplaced) {
  std::string text;
  JsonWriter out(text);
  out.begin_array()
      .value(std::nan(""))
      .value(std::numeric_limits<double>::infinity())
      .value(
          "a\xff"
          "b\xc3"
          "\xe2\x82"
          "z\xed\xa0\x80")
      .end_array();
  const Json back = Json::parse(text);  // valid JSON, whatever the bytes were
  EXPECT_TRUE(back[0].is_null());
  EXPECT_TRUE(back[1].is_null());
  const std::string s = back[2].get<std::string>();
  EXPECT_EQ(s.front(), 'a');
  EXPECT_TRUE(s.ends_with("\xef\xbf\xbd")) << "ends in U+FFFD";
  EXPECT_NE(s.find('b'), std::string::npos);
  EXPECT_NE(s.find('z'), std::string::npos);
  for (char c : text) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << "ASCII only: " << text;
}

TEST(JsonWriter, ADocumentOfNlohmannsSitsAtItsDepth) {
  const Json inner = {{"x", {1, 2}}, {"y", "z"}};
  const Json doc = {{"a", {{"inner", inner}}}, {"b", {inner, 3}}};
  for (int indent : {-1, 2}) {
    std::string text;
    JsonWriter out(text, indent);
    out.begin_object().key("a").begin_object().member("inner", inner).end_object();
    out.key("b").begin_array().value(inner).value(3).end_array().end_object();
    EXPECT_EQ(text, json_text(doc, indent));
  }
}

}  // namespace
}  // namespace crawl
