// The settings tables (config/schema.hpp) against what derives from them: every key read back
// from hosts.yaml text written from the table, at every level it may be written; the workers'
// config file that deploy writes carrying every worker setting; and the tables against
// inventory_keys(), which the example-file and reference-page tests walk.

#include <set>

#include <gtest/gtest.h>

#include "config/inventory.hpp"
#include "config/schema.hpp"
#include "deploy/plan.hpp"

namespace crawl::config {
namespace {

// A value of the field's rule that differs from `current` and stays valid beside the defaults.
Value other_value(const Rule& rule, const std::optional<Value>& current, std::string_view key) {
  using K = Rule::Kind;
  const std::int64_t n = current && std::holds_alternative<std::int64_t>(*current)
                             ? std::get<std::int64_t>(*current)
                             : 0;
  switch (rule.kind) {
    case K::integer:
      return Value(n == rule.high ? rule.low : rule.high);
    case K::size:
      return Value(std::max<std::int64_t>(n, rule.low) + 3 * 1024);
    case K::duration:
      return Value(std::max<std::int64_t>(n, rule.low) + 1500);
    case K::choice:
      return Value(
          static_cast<std::int64_t>((n + 1) % static_cast<std::int64_t>(rule.choices.size())));
    case K::labels:
      return Value(Labels{{"tier", "edge"}});
    case K::env_name:
      return Value(std::string("CRAWL_TEST_ENV"));
    case K::redis_url:
      return Value(std::string("redis://10.0.0.7:6380/3"));
    case K::addresses:
      return Value(Strings{"10.0.0.7:26379", "[fd00::7]:26380"});
    case K::text:
    case K::line:
      return Value(key == "user" ? std::string("crawl-op") : "value-of-" + std::string(key));
  }
  return Value(std::string());
}

template <class S>
std::string section_text(const S& defaults, const std::vector<Field<S>>& fields,
                         std::string_view indent, S& expected, std::string_view skip = "") {
  std::string text;
  for (const auto& f : fields) {
    if (f.key == skip) continue;
    const Value v = other_value(f.rule, value_of(defaults, f), f.key);
    text += std::string(indent) + std::string(f.key) + ": " + yaml_value(f.rule, v) + "\n";
    assign(expected, f, v);
  }
  return text;
}

template <class S>
void expect_same(const S& got, const S& want, const std::vector<Field<S>>& fields,
                 const std::string& where) {
  for (const auto& f : fields)
    EXPECT_EQ(value_of(got, f), value_of(want, f)) << where << ": " << f.key;
}

TEST(Schema, EveryKeyWrittenFromTheTableReadsBackAtEveryLevel) {
  Host host, group_host, own_host;
  WorkerSettings worker;
  RedisSettings redis;
  JobDefaults job;
  std::string text = "defaults:\n" + section_text(Host{}, host_fields(), "  ", host);
  // url and sentinels say the same thing two ways: one at a time.
  text += "redis:\n" + section_text(RedisSettings{}, redis_fields(), "  ", redis, "url");
  text += "worker:\n" + section_text(WorkerSettings{}, worker_fields(), "  ", worker);
  text += "job:\n" + section_text(JobDefaults{}, job_fields(), "  ", job);
  // A group and a host that set every setting again, to other values.
  group_host = host;
  text += "groups:\n  eu:\n" + section_text(host, host_fields(), "    ", group_host);
  text += "    hosts:\n      g1: {}\n";
  own_host = group_host;
  text += "hosts:\n  h1:\n" + section_text(group_host, host_fields(), "    ", own_host);
  auto inv = parse_inventory(text, "hosts.yaml");
  ASSERT_TRUE(inv) << inv.error().message << "\n" << text;
  expect_same(inv->worker, worker, worker_fields(), "worker");
  expect_same(inv->redis, redis, redis_fields(), "redis");
  EXPECT_EQ(inv->redis.effective_url(),
            "sentinel://10.0.0.7:26379,[fd00::7]:26380/value-of-master_name");
  RedisSettings with_url;
  auto url_only = parse_inventory(
      "redis:\n" + section_text(RedisSettings{}, {redis_fields()[0]}, "  ", with_url), "h.yaml");
  ASSERT_TRUE(url_only) << url_only.error().message;
  EXPECT_EQ(url_only->redis.url, with_url.url);
  expect_same(inv->job, job, job_fields(), "job");
  ASSERT_EQ(inv->hosts.size(), 2u);
  const Host* h1 = inv->find_host("h1");
  const Host* g1 = inv->find_host("g1");
  ASSERT_TRUE(h1 && g1);
  // Labels merge level by level; every other setting is the nearest level's.
  group_host.labels = own_host.labels = host.labels;
  expect_same(*g1, group_host, host_fields(), "group eu");
  expect_same(*h1, own_host, host_fields(), "host h1 over the defaults");
}

TEST(Schema, TheWorkersConfigFileCarriesEveryWorkerSetting) {
  Inventory inv;
  WorkerSettings expected;
  // Every setting away from its default, so a setting the writer left out would read back as
  // the default and differ.
  const std::string section = section_text(WorkerSettings{}, worker_fields(), "  ", expected);
  auto parsed = parse_inventory("worker:\n" + section, "w.yaml");
  ASSERT_TRUE(parsed) << parsed.error().message;
  inv.worker = parsed->worker;
  const std::string text = deploy::worker_config(inv, "redis://10.0.0.5:6379/2");
  auto back = parse_inventory(text, "worker.yaml");
  ASSERT_TRUE(back) << back.error().message << "\n" << text;
  expect_same(back->worker, expected, worker_fields(), "worker config");
  for (const auto& f : worker_fields())
    EXPECT_NE(text.find("\n  " + std::string(f.key) + ": "), std::string::npos) << f.key;
}

TEST(Schema, InventoryKeysAreTheTablesKeys) {
  const auto keys = inventory_keys();
  const std::set<std::string> listed(keys.begin(), keys.end());
  EXPECT_EQ(listed.size(), keys.size()) << "a key listed twice";
  auto expect_section = [&](std::string_view section, const auto& fields) {
    std::set<std::string_view> json;
    for (const auto& f : fields) {
      EXPECT_TRUE(listed.count(std::string(section) + "." + std::string(f.key))) << f.key;
      EXPECT_TRUE(json.insert(f.json).second) << "json name used twice: " << f.json;
    }
  };
  expect_section("defaults", host_fields());
  expect_section("redis", redis_fields());
  expect_section("worker", worker_fields());
  expect_section("job", job_fields());
}

}  // namespace
}  // namespace crawl::config
