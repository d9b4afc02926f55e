#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/redact.hpp"
#include "policy/job_options.hpp"
#include "queue/entry.hpp"
#include "queue/heartbeat.hpp"
#include "queue/queue.hpp"
#include "queue/record.hpp"
#include "queue/records.hpp"
#include "queue/redis.hpp"
#include "url/url.hpp"

namespace crawl::queue {
namespace {

TEST(Entry, RoundTrip) {
  const Entry e{"17", 2, 1, "http://example.org/a?b=c%20d"};
  EXPECT_EQ(encode(e), "17 2 1 http://example.org/a?b=c%20d");
  EXPECT_EQ(decode(encode(e)), e);
  EXPECT_FALSE(decode(""));
  EXPECT_FALSE(decode("17 2 1"));
  EXPECT_FALSE(decode("17 x 1 http://a/"));
  EXPECT_FALSE(decode("17 -1 0 http://a/"));
  EXPECT_EQ(fingerprint_bytes(0x0102030405060708ULL),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
}

// What Redis holds is read as untrusted: an entry decodes only as our scripts write it (numbers
// without leading zeros, a URL in the normal form), so what decodes encodes back to its bytes.
TEST(Entry, OnlyTheFormWeWriteDecodes) {
  for (const char* good : {"1 0 0 http://a/", "17 123456 9999 https://[::1]:8443/x?y=%20",
                           "999999999999999999 0 0 http://a.b/%zz"})
    EXPECT_EQ(encode(*decode(good)), good) << good;
  for (const char* bad : {"0 0 0 http://a/",
                          "017 0 0 http://a/",
                          "17 00 0 http://a/",
                          "17 0 01 http://a/",
                          "17 1234567 0 http://a/",
                          "17 0 12345 http://a/",
                          "1234567890123456789 0 0 http://a/",
                          "17 0 0 http://a/ctl\x01",
                          "17 0 0 http://a/frag#x",
                          "17 0 0 http://a/sp ace",
                          "17 0 0 http://a/caf\xc3\xa9",
                          "17 0 0 http://a/%7e",
                          "17 0 0 http://a/%c3%a9",
                          "17 0 0 http://a/x/./y",
                          "17 0 0 http://a/?",
                          "17 0 0 http://A/",
                          "17 0 0 http://a",
                          "17 0 0 http://a:80/",
                          "17 0 0 http://[0::1]/",
                          "17 0 0 ftp://a/",
                          "17 0 0 http://u@a/",
                          "17  0 0 http://a/",
                          "17 0 0  http://a/"})
    EXPECT_FALSE(decode(bad)) << bad;
  EXPECT_FALSE(decode("17 0 0 http://a/" + std::string(url::k_max_length, 'x')));
}

TEST(Record, JsonRoundTripAndFilteredRecordsAreShort) {
  Record r;
  r.url = "http://example.org/";
  r.status = 200;
  r.final_url = "http://example.org/";
  r.title = "T \"quoted\" \xc3\xa9";
  r.content_type = "text/html";
  r.bytes = 1234;
  r.truncated = true;
  r.fetch_ms = 12;
  r.depth = 3;
  r.links = 7;
  r.images = {"http://example.org/a.png"};
  r.encoding = "Shift_JIS";
  r.encoding_from = "meta";
  r.parse_cut = "size";
  r.noindex = true;
  r.canonical = "http://example.org/c";
  r.sitemap = "index";
  r.warc_file = "job1-20261207031500123-00001-h1_1.warc.gz";
  r.warc_offset = 123456;
  r.worker = "h1/1";
  r.at_ms = 99;
  EXPECT_EQ(record_from_json(to_json(r)), r);
  Record f;
  f.url = "http://other.example/";
  f.outcome = Outcome::filtered;
  f.reason = "offsite";
  EXPECT_EQ(
      to_json(f),
      R"({"url":"http://other.example/","outcome":"filtered","reason":"offsite","depth":0,"at_ms":0})");
  EXPECT_EQ(record_from_json(to_json(f)), f);
  EXPECT_FALSE(record_from_json("not json"));
  EXPECT_FALSE(record_from_json(R"({"url":"x","outcome":"maybe"})"));
  // A field of the wrong type makes the record unreadable, never an exception.
  for (const char* bad :
       {R"({"url":"x","outcome":"done","bytes":"big"})",
        R"({"url":"x","outcome":"done","images":"x"})", R"({"url":1,"outcome":"done"})",
        R"({"url":"x","outcome":"done","images":[1,2]})",
        R"({"url":"x","outcome":"done","bytes":-1})",
        R"({"url":"x","outcome":"done","status":1e10})",
        R"({"url":"x","outcome":"done","depth":99999999999})",
        R"({"url":"x","outcome":"done","truncated":"yes"})", R"({"url":"x","outcome":3})",
        R"({"outcome":"done"})", R"(["url","x"])", R"({"url":"","outcome":"done"})"})
    EXPECT_FALSE(record_from_json(bad)) << bad;
  // Absent or null fields keep their defaults.
  auto minimal = record_from_json(R"({"url":"x","outcome":"failed","status":null})");
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->status, 0);
  // Invalid UTF-8 in a title is replaced, not a failure.
  r.title = "bad \xff byte";
  EXPECT_TRUE(record_from_json(to_json(r)));
}

// Whatever it is given, a record is at most k_max_record_bytes: texts are cut at a character
// boundary, images kept in order while they fit and the rest counted, worst-case escaping included.
// record_from_json reads in one SAX pass; here it is held to a reader of the parsed document,
// the plain way to read the same rules: a field absent or null keeps its default, a field of the
// wrong type makes the record unreadable, a member given twice counts as its last, members of no
// field are passed over.
std::optional<Record> record_from_document(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Record r;
  bool ok = true;
  auto field = [&](const char* key) -> const nlohmann::json* {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  auto text_of = [&](const char* key, std::string& out) {
    if (const auto* v = field(key))
      v->is_string() ? void(out = v->get<std::string>()) : void(ok = false);
  };
  auto number = [&](const char* key, auto& out) {
    using Int = std::remove_reference_t<decltype(out)>;
    if (const auto* v = field(key)) {
      if (v->is_number_unsigned() && std::in_range<Int>(v->get<std::uint64_t>()))
        out = static_cast<Int>(v->get<std::uint64_t>());
      else if (v->is_number_integer() && !v->is_number_unsigned() &&
               std::in_range<Int>(v->get<std::int64_t>()))
        out = static_cast<Int>(v->get<std::int64_t>());
      else
        ok = false;
    }
  };
  auto flag = [&](const char* key, bool& out) {
    if (const auto* v = field(key)) v->is_boolean() ? void(out = v->get<bool>()) : void(ok = false);
  };
  std::string outcome;
  text_of("url", r.url);
  text_of("outcome", outcome);
  text_of("reason", r.reason);
  number("status", r.status);
  text_of("final_url", r.final_url);
  text_of("title", r.title);
  text_of("content_type", r.content_type);
  number("bytes", r.bytes);
  flag("truncated", r.truncated);
  number("fetch_ms", r.fetch_ms);
  number("depth", r.depth);
  number("links", r.links);
  number("links_dropped", r.links_dropped);
  number("images_dropped", r.images_dropped);
  if (const auto* v = field("images")) {
    if (!v->is_array()) ok = false;
    for (const auto& e : v->is_array() ? *v : nlohmann::json::array())
      e.is_string() ? r.images.push_back(e.get<std::string>()) : void(ok = false);
  }
  text_of("encoding", r.encoding);
  text_of("encoding_from", r.encoding_from);
  text_of("parse_cut", r.parse_cut);
  flag("noindex", r.noindex);
  text_of("canonical", r.canonical);
  text_of("sitemap", r.sitemap);
  text_of("warc_file", r.warc_file);
  number("warc_offset", r.warc_offset);
  text_of("error", r.error);
  text_of("worker", r.worker);
  number("at_ms", r.at_ms);
  if (!ok || r.url.empty()) return std::nullopt;
  if (!outcome_of(outcome)) return std::nullopt;
  r.outcome = *outcome_of(outcome);
  return r;
}

TEST(Record, ReadInOnePassAsADocumentReaderReadsIt) {
  const char* cases[] = {
      R"({"url":"http://a/","outcome":"done","status":200,"images":["http://a/1.png"],"at_ms":5})",
      R"({"url":"http://a/","outcome":"failed","reason":"timeout","error":"took é long"})",
      R"({"url":"http://a/","outcome":"filtered","reason":"offsite","depth":3,"noindex":true})",
      R"({"url":"http://a/","outcome":"done","title":null,"images":null,"status":null})",
      R"({"url":"http://a/","outcome":"done","title":5})",
      R"({"url":"http://a/","outcome":"done","title":{"a":"b"}})",
      R"({"url":"http://a/","outcome":"done","title":["a"]})",
      R"({"url":"http://a/","outcome":"done","status":2.5})",
      R"({"url":"http://a/","outcome":"done","status":-1})",
      R"({"url":"http://a/","outcome":"done","status":99999999999})",
      R"({"url":"http://a/","outcome":"done","bytes":-1})",
      R"({"url":"http://a/","outcome":"done","bytes":18446744073709551615})",
      R"({"url":"http://a/","outcome":"done","bytes":18446744073709551616})",
      R"({"url":"http://a/","outcome":"done","at_ms":-5})",
      R"({"url":"http://a/","outcome":"done","status":18446744073709551615})",
      R"({"url":"http://a/","outcome":"done","at_ms":9223372036854775808})",
      R"({"url":"http://a/","outcome":"done","truncated":1})",
      R"({"url":"http://a/","outcome":"done","images":"x"})",
      R"({"url":"http://a/","outcome":"done","images":["a",1]})",
      R"({"url":"http://a/","outcome":"done","images":["a",null]})",
      R"({"url":"http://a/","outcome":"done","images":["a",["b"]]})",
      R"({"url":"http://a/","outcome":"done","images":["a",{"b":"c"}],"x":1})",
      R"({"url":"http://a/","outcome":"done","images":[]})",
      R"({"url":"http://a/","outcome":"done","title":5,"title":"ok"})",
      R"({"url":"http://a/","outcome":"done","title":"first","title":null})",
      R"({"url":"http://a/","outcome":"done","images":["a"],"images":["b"]})",
      R"({"url":"http://a/","outcome":"nope"})",
      R"({"url":"http://a/"})",
      R"({"url":"","outcome":"done"})",
      R"({"outcome":"done"})",
      R"({"url":7,"outcome":"done"})",
      R"({"url":"http://a/","outcome":"done","extra":{"url":"http://b/","images":[1,2]},"more":[{"title":3}]})",
      R"({"url":"http://a/","outcome":"done"} x)",
      R"({"url":"http://a/","outcome":"done")",
      R"([{"url":"http://a/","outcome":"done"}])",
      R"("a string")",
      R"(12)",
      "",
  };
  for (const char* text : cases) {
    const auto fast = record_from_json(text);
    const auto plain = record_from_document(text);
    EXPECT_EQ(fast.has_value(), plain.has_value()) << text;
    if (fast && plain) {
      EXPECT_EQ(*fast, *plain) << text;
    }
  }
  EXPECT_TRUE(record_from_json(cases[0]));
  EXPECT_FALSE(record_from_json(cases[4]));
  EXPECT_EQ(
      record_from_json(R"({"url":"http://a/","outcome":"done","title":5,"title":"ok"})")->title,
      "ok");
  EXPECT_EQ(
      record_from_json(R"({"url":"http://a/","outcome":"done","images":["a"],"images":["b"]})")
          ->images,
      std::vector<std::string>{"b"});
  EXPECT_FALSE(
      record_from_json(R"({"url":"http://a/","outcome":"done","status":18446744073709551615})"))
      << "not -1, as a reader of the document that took it for a signed number said";
}

TEST(Record, IsCutToItsBoundAndSaysWhatItDropped) {
  Record r;
  r.url = "http://example.org/";
  r.status = 200;
  r.title = std::string(1, 'x') + std::string(100'000, '\x01');  // \u0001 each, once written
  r.error = std::string(5000, '"');
  r.images_dropped = 5;
  for (int i = 0; i < 10'000; ++i)
    r.images.push_back("http://example.org/" + std::string(200, '\\') + std::to_string(i));
  const std::string json = to_json(r);
  EXPECT_LE(json.size(), k_max_record_bytes);
  EXPECT_GT(json.size(), k_max_record_bytes * 9 / 10) << "what fits is kept";
  const auto read = record_from_json(json);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->title.size(), k_max_record_text);
  EXPECT_EQ(read->images_dropped, 5 + r.images.size() - read->images.size());
  EXPECT_EQ(read->images.front(), r.images.front());
  // fit() cuts the record itself the same way, and to_json writes it unchanged.
  Record fitted = r;
  fit(fitted);
  EXPECT_EQ(fitted.images_dropped, read->images_dropped);
  EXPECT_EQ(to_json(fitted), json);
  r.title = "\xc3\xa9" + std::string(k_max_record_text, 'x');
  fit(r);
  EXPECT_EQ(r.title.size(), k_max_record_text);
  r.title = "x" + std::string(k_max_record_text, '\xa9');  // a cut inside a (broken) character
  fit(r);
  EXPECT_LT(r.title.size(), k_max_record_text);
}

// A records stream entry is a worker's record (r) as it is, or a filtered URL's parts (u, f, d,
// t) written as its record by to_json; anything else is no record, and a drainer counts it.
TEST(Record, AStreamEntryIsARecordInEitherFormOrNone) {
  auto fields = [](std::vector<std::string> kv) {
    Reply r;
    r.type = Reply::Type::array;
    for (auto& s : kv) {
      Reply e;
      e.type = Reply::Type::string;
      e.str = std::move(s);
      r.elements.push_back(std::move(e));
    }
    return r;
  };
  const std::string page = R"({"url":"http://a.example/","outcome":"done"})";
  EXPECT_EQ(record_of_entry(fields({"r", page})), page);
  const auto filtered =
      record_of_entry(fields({"u", "http://a.example/x/y", "f", "offsite", "d", "3", "t", "1700"}));
  ASSERT_TRUE(filtered);
  Record want;
  want.url = "http://a.example/x/y";
  want.outcome = Outcome::filtered;
  want.reason = "offsite";
  want.depth = 3;
  want.at_ms = 1700;
  EXPECT_EQ(*filtered, to_json(want));
  EXPECT_EQ(filtered->find("\\/"), std::string::npos) << *filtered;
  for (const auto& bad : std::vector<std::vector<std::string>>{
           {},
           {"x", "y"},
           {"r", ""},
           {"r", "not json"},
           {"r", "{\"url\":\"a\",\n\"outcome\":\"done\"}"},       // two lines in the home
           {"u", "http://a.example/", "f", "offsite", "d", "3"},  // no time
           {"u", "", "f", "offsite", "d", "3", "t", "1"},
           {"u", "http://a.example/", "f", "offsite", "d", "-1", "t", "1"},
           {"u", "http://a.example/", "f", "offsite", "d", "2000000", "t", "1"},
           {"u", "http://a.example/", "f", "offsite", "d", "3", "t", "soon"}})
    EXPECT_FALSE(record_of_entry(fields(bad))) << ::testing::PrintToString(bad);
  Reply not_fields;
  not_fields.type = Reply::Type::string;
  EXPECT_FALSE(record_of_entry(not_fields));
}

TEST(Heartbeat, FieldsRoundTripAndAFieldOutOfFormReadsAsItsDefault) {
  Heartbeat b;
  b.host = "crawl01";
  b.pid = 4242;
  b.state = "draining";
  b.started_ms = 1'700'000'000'000;
  b.deploy = "d-7";
  b.last_ms = 1'700'000'060'000;
  b.ttl_ms = 30'000;
  b.in_flight = 12;
  b.transfers = 9;
  b.body_memory = 1 << 20;
  b.pages = 1234;
  b.failed = 5;
  b.filtered = 6;
  b.retries = 7;
  b.bytes = 99'999'999'999;
  b.rate = 12.25;
  b.errors = {{"timeout", 3}, {"http_503", 2}};
  b.rss_bytes = 36'000'000;
  b.concurrency = 64;
  b.errors["odd=reason%\n"] = 1;
  const std::string value = encode_heartbeat(b);
  EXPECT_EQ(std::count(value.begin(), value.end(), '\n'), 18 + 3) << value;
  const Heartbeat back = decode_heartbeat(value);
  EXPECT_EQ(back.host, b.host);
  EXPECT_EQ(back.pid, b.pid);
  EXPECT_EQ(back.state, b.state);
  EXPECT_EQ(back.started_ms, b.started_ms);
  EXPECT_EQ(back.deploy, b.deploy);
  EXPECT_EQ(back.last_ms, b.last_ms);
  EXPECT_EQ(back.ttl_ms, b.ttl_ms);
  EXPECT_EQ(back.in_flight, b.in_flight);
  EXPECT_EQ(back.transfers, b.transfers);
  EXPECT_EQ(back.body_memory, b.body_memory);
  EXPECT_EQ(back.pages, b.pages);
  EXPECT_EQ(back.failed, b.failed);
  EXPECT_EQ(back.filtered, b.filtered);
  EXPECT_EQ(back.retries, b.retries);
  EXPECT_EQ(back.bytes, b.bytes);
  EXPECT_DOUBLE_EQ(back.rate, b.rate);
  EXPECT_EQ(back.errors, b.errors);
  EXPECT_EQ(back.rss_bytes, b.rss_bytes);
  EXPECT_EQ(back.concurrency, b.concurrency);

  b.host = "crawl=01\nfake=1";
  EXPECT_EQ(decode_heartbeat(encode_heartbeat(b)).host, b.host)
      << "a line break cannot add a field";

  // Out of form, missing, unknown: each reads as its default and the rest stand.
  const Heartbeat odd = decode_heartbeat(
      "host=h\npages=12x\npid=\nnewer_field=1\nno equals sign\nerror.timeout=x\nfailed=5\n"
      "%zz=1\nrate=1e999");
  EXPECT_EQ(odd.host, "h");
  EXPECT_EQ(odd.pages, 0u);
  EXPECT_EQ(odd.pid, 0);
  EXPECT_EQ(odd.errors, (std::map<std::string, std::uint64_t>{{"timeout", 0}}));
  EXPECT_EQ(odd.state, "running") << "a worker from before the state field";
  EXPECT_EQ(odd.failed, 5u) << "the other fields stand";
  EXPECT_EQ(odd.rate, 0.0);
  EXPECT_EQ(decode_heartbeat("").state, "running");

  // The hash a worker of the version before wrote.
  const Heartbeat old = parse_heartbeat_hash({{"host", "h1"},
                                              {"pages", "7"},
                                              {"errors", R"({"timeout":3})"},
                                              {"state", "draining"},
                                              {"died_ms", "1"}});
  EXPECT_EQ(old.host, "h1");
  EXPECT_EQ(old.pages, 7u);
  EXPECT_EQ(old.state, "draining");
  EXPECT_EQ(old.errors, (std::map<std::string, std::uint64_t>{{"timeout", 3}}));
  EXPECT_TRUE(parse_heartbeat_hash({{"errors", "not json"}}).errors.empty());
}

TEST(RedisUrl, WrittenAsParsed) {
  for (const char* text :
       {"redis://10.0.0.5:6380/2", "redis://:s3cret/with@slash@h/1",
        "redis://user:p%40ss@[::1]:7000", "redis://user@h:1/0", "unix:///run/redis.sock?db=3"}) {
    auto u = parse_redis_url(text);
    ASSERT_TRUE(u) << text;
    auto written = format_redis_url(*u);
    ASSERT_TRUE(written) << text;
    auto back = parse_redis_url(*written);
    ASSERT_TRUE(back) << *written;
    EXPECT_EQ(back->host, u->host) << *written;
    EXPECT_EQ(back->port, u->port) << *written;
    EXPECT_EQ(back->socket, u->socket) << *written;
    EXPECT_EQ(back->db, u->db) << *written;
    EXPECT_EQ(back->user, u->user) << *written;
    EXPECT_EQ(back->password, u->password) << *written;
  }
  RedisUrl socket_with_password;
  socket_with_password.socket = "/run/redis.sock";
  socket_with_password.password = "pw";
  EXPECT_FALSE(format_redis_url(socket_with_password));
}

TEST(RedisUrl, Forms) {
  auto u = parse_redis_url("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "10.0.0.5");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2);
  EXPECT_EQ(u->display, "redis://10.0.0.5:6380/2");
  u = parse_redis_url("redis://:s3cret/with@slash@h/1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->password, "s3cret/with@slash");
  EXPECT_EQ(u->host, "h");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 1);
  EXPECT_EQ(u->display, "redis://:***@h/1");
  u = parse_redis_url("redis://user:p%40ss@[::1]:7000");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->user, "user");
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7000);
  u = parse_redis_url("unix:///run/redis.sock?db=3");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->socket, "/run/redis.sock");
  EXPECT_EQ(u->db, 3);
  for (const char* bad : {"http://h/", "redis://", "redis://h:0", "redis://h:x/", "redis://h/x",
                          "unix://relative.sock", "rediss://h/"})
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
  // A bad URL's error never shows the password.
  auto err = parse_redis_url("redis://:hunter2@h:99999/0");
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().message.find("hunter2"), std::string::npos) << err.error().message;
}

TEST(RedisUrl, SentinelForms) {
  auto u = parse_redis_url(
      "sentinel://op:pa?ss@10.0.0.5:26380,[fd00::6],sentinel.example/crawl/3"
      "?sentinel_password=s%40nt");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->user, "op");
  EXPECT_EQ(u->password, "pa?ss") << "an unencoded '?' in the primary's password, as redis://";
  EXPECT_EQ(u->sentinel_password, "s@nt");
  ASSERT_EQ(u->sentinels.size(), 3u);
  EXPECT_EQ(u->sentinels[0], (HostPort{"10.0.0.5", 26380}));
  EXPECT_EQ(u->sentinels[1], (HostPort{"fd00::6", 26379}));
  EXPECT_EQ(u->sentinels[2], (HostPort{"sentinel.example", 26379}));
  EXPECT_EQ(u->master_name, "crawl");
  EXPECT_EQ(u->db, 3);
  EXPECT_EQ(u->display,
            "sentinel://op:***@10.0.0.5:26380,[fd00::6]:26379,sentinel.example:26379/crawl/3");
  auto written = format_redis_url(*u);
  ASSERT_TRUE(written);
  auto back = parse_redis_url(*written);
  ASSERT_TRUE(back) << *written;
  EXPECT_EQ(back->sentinels, u->sentinels);
  EXPECT_EQ(back->password, u->password);
  EXPECT_EQ(back->sentinel_password, u->sentinel_password);
  EXPECT_EQ(back->master_name, u->master_name);
  EXPECT_EQ(back->db, u->db);
  // Neither password in what is shown of it.
  const std::string shown = redact_password(*written);
  EXPECT_EQ(shown.find("pa?ss"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("s%40nt"), std::string::npos) << shown;
  EXPECT_EQ(redact_password("sentinel://h:26379/m?sentinel_password=se@cret"),
            "sentinel://h:26379/m?sentinel_password=***");
  for (const char* bad :
       {"sentinel://h1:26379", "sentinel://h1/", "sentinel://::1/m", "sentinel://h1,/m",
        "sentinel://h1:0/m", "sentinel://h1/m/x", "sentinel://h1/m?db=2"})
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
}

TEST(JobOptions, FieldsRoundTrip) {
  policy::JobOptions o;
  o.scope = policy::Scope::domain;
  o.max_depth = 4;
  o.max_pages = 1000;
  o.records_backlog = 500;
  o.allow = {"/docs/", "a\"b"};
  o.deny = {"\\.pdf$"};
  o.respect_robots = false;
  o.delay = std::chrono::milliseconds(250);
  o.max_retries = 5;
  o.max_url_length = 300;
  o.max_repeats = 4;
  o.host_concurrency = 3;
  o.max_crawl_delay = std::chrono::milliseconds(1500);
  o.max_links_per_page = 12;
  o.notify = "https://hooks.example/crawl?k=1";
  o.max_parse_bytes = 4 << 20;
  o.sort_query = true;
  o.canonical = true;
  o.sitemaps = true;
  o.warc = true;
  o.strip_query = {"utm_.*", "j?sessionid"};
  std::map<std::string, std::string> fields;
  for (auto& [k, v] : job_fields(o)) fields[k] = v;
  EXPECT_EQ(fields.size(), policy::job_options().size());
  auto back = job_options(fields);
  ASSERT_TRUE(back);
  EXPECT_EQ(job_fields(*back), job_fields(o));
  // Every field of the table differs from its default above, so each one was read back.
  for (const auto& [k, v] : job_fields(policy::JobOptions{})) EXPECT_NE(fields[k], v) << k;
  fields["scope"] = "galaxy";
  EXPECT_FALSE(job_options(fields));
}

TEST(JobOptions, AFieldRedisHoldsThatIsNoNumberIsAProblemNamingItAndOneOutOfRangeIsClamped) {
  // Written by an older submit that checked no range: the nearest end of the range.
  auto old = job_options({{"host_concurrency", "0"},
                          {"max_depth", "5000000"},
                          {"max_retries", "1000"},
                          {"allow", R"([""])"}});
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(old->host_concurrency, 1);
  EXPECT_EQ(old->max_depth, 1'000'000);
  EXPECT_EQ(old->max_retries, 100);
  EXPECT_EQ(old->allow, std::vector<std::string>{""});
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"delay_ms", "soon"},
           {"max_depth", "12abc"},
           {"max_links_per_page", "99999999999999999999"},
           {"scope", "galaxy"},
           {"allow", "[1]"}}) {
    auto read = job_options({{field, value}});
    ASSERT_FALSE(read) << field;
    EXPECT_NE(read.error().message.find(field), std::string::npos) << read.error().message;
  }
}

TEST(JobOptions, EachOptionHasOneFlagOneFieldAndAValidDefault) {
  std::set<std::string_view> flags, fields, keys;
  const policy::JobOptions defaults;
  for (const auto& option : policy::job_options()) {
    EXPECT_TRUE(flags.insert(option.flag).second) << option.flag;
    EXPECT_TRUE(fields.insert(option.field).second) << option.field;
    EXPECT_TRUE(option.key.empty() || keys.insert(option.key).second) << option.key;
    EXPECT_EQ(option.flag.substr(0, 2), "--");
    EXPECT_FALSE(option.help.empty()) << option.field;
    if (option.rule.kind == policy::OptionRule::Kind::patterns ||
        option.rule.kind == policy::OptionRule::Kind::url)
      continue;
    // The default is within the option's own rule, and its text reads back to it.
    policy::JobOptions o;
    EXPECT_TRUE(policy::set_option(o, option, policy::option_integer(defaults, option)))
        << option.field;
    if (option.rule.kind != policy::OptionRule::Kind::boolean) {
      EXPECT_TRUE(
          policy::set_option(o, option, std::string_view(policy::option_text(defaults, option))))
          << option.field;
      EXPECT_EQ(policy::option_integer(o, option), policy::option_integer(defaults, option));
    }
    if (option.rule.high < std::numeric_limits<std::int64_t>::max()) {
      EXPECT_FALSE(policy::set_option(o, option, option.rule.high + 1)) << option.field;
    }
  }
}

// The scripts read a job's options only through opts_of(), by the names the table gives them
// (k_job_fields): every o.NAME they use is one of those, or the state the prelude reads itself.
TEST(JobOptions, TheScriptsUseOnlyTheFieldsTheTableGivesThem) {
  std::set<std::string> known = {"state", "loading"};
  for (const auto& option : policy::job_options())
    if (option.scripts) known.insert(std::string(option.field));
  const std::regex use(R"((?:\bo|opts_of\(\w+\))\.([a-z_]+))");
  int uses = 0;
  for (const char* name : {"prelude", "claim", "complete", "site_start", "enqueue", "load"}) {
    std::ifstream in(std::string(CRAWL_SOURCE_DIR) + "/lib/queue/lua/" + name + ".lua");
    ASSERT_TRUE(in) << name;
    std::stringstream text;
    text << in.rdbuf();
    const std::string lua = text.str();
    for (std::sregex_iterator it(lua.begin(), lua.end(), use), end; it != end; ++it, ++uses)
      EXPECT_TRUE(known.count((*it)[1].str()) > 0) << name << ".lua uses o." << (*it)[1].str();
  }
  EXPECT_GT(uses, 5);
}

}  // namespace
}  // namespace crawl::queue
