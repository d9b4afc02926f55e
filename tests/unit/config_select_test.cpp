#include <gtest/gtest.h>

#include "config/select.hpp"

namespace crawl::config {
namespace {

const char* k_fleet = R"(
hosts:
  seed:
    labels: {region: us-east, tier: small}
groups:
  eu:
    labels: {region: eu-west}
    hosts:
      crawl[01-04].eu:
  us:
    labels: {region: us-west}
    hosts:
      crawl[01-02].us:
        labels: {tier: big}
)";

class Select : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = parse_inventory(k_fleet, "hosts.yaml");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    m_inventory = std::move(*r);
  }

  std::vector<std::string> names(std::string_view limit) {
    auto r = select_hosts(m_inventory, limit);
    EXPECT_TRUE(r.has_value()) << limit << ": " << (r ? "" : r.error().message);
    std::vector<std::string> out;
    if (r)
      for (std::size_t i : *r) out.push_back(m_inventory.hosts[i].name);
    return out;
  }

  std::string error(std::string_view limit) {
    auto r = select_hosts(m_inventory, limit);
    EXPECT_FALSE(r.has_value()) << limit;
    return r ? "" : r.error().message;
  }

  Inventory m_inventory;
};

TEST_F(Select, EmptyAndAllSelectEverythingInFileOrder) {
  const std::vector<std::string> all{"seed",       "crawl01.eu", "crawl02.eu", "crawl03.eu",
                                     "crawl04.eu", "crawl01.us", "crawl02.us"};
  EXPECT_EQ(names(""), all);
  EXPECT_EQ(names("all"), all);
  EXPECT_EQ(names("*"), all);
}

TEST_F(Select, GroupsNamesGlobsAndRanges) {
  EXPECT_EQ(names("us"), (std::vector<std::string>{"crawl01.us", "crawl02.us"}));
  EXPECT_EQ(names("seed"), std::vector<std::string>{"seed"});
  EXPECT_EQ(names("crawl0[3-4].eu"), (std::vector<std::string>{"crawl03.eu", "crawl04.eu"}));
  EXPECT_EQ(names("crawl01*"), (std::vector<std::string>{"crawl01.eu", "crawl01.us"}));
  EXPECT_EQ(names("crawl0[14].eu"), (std::vector<std::string>{"crawl01.eu", "crawl04.eu"}));
  EXPECT_EQ(names("seed, us"), (std::vector<std::string>{"seed", "crawl01.us", "crawl02.us"}));
}

TEST_F(Select, LabelsWithGlobValues) {
  EXPECT_EQ(names("tier=big"), (std::vector<std::string>{"crawl01.us", "crawl02.us"}));
  EXPECT_EQ(names("region=us-*"), (std::vector<std::string>{"seed", "crawl01.us", "crawl02.us"}));
}

TEST_F(Select, ExcludeAndIntersect) {
  EXPECT_EQ(names("eu,!crawl02.eu"),
            (std::vector<std::string>{"crawl01.eu", "crawl03.eu", "crawl04.eu"}));
  EXPECT_EQ(names("!eu"), (std::vector<std::string>{"seed", "crawl01.us", "crawl02.us"}));
  EXPECT_EQ(names("region=us-*,&tier=big"), (std::vector<std::string>{"crawl01.us", "crawl02.us"}));
  // Order of terms does not matter.
  EXPECT_EQ(names("!crawl02.eu,eu"), names("eu,!crawl02.eu"));
}

TEST_F(Select, TermsThatMatchNothingAreErrors) {
  EXPECT_EQ(error("ue"), "--limit: 'ue' matches no host, group or label (did you mean 'eu'?)");
  EXPECT_EQ(error("eu,crawl09.eu"),
            "--limit: 'crawl09.eu' matches no host, group or label "
            "(did you mean 'crawl01.eu'?)");
  EXPECT_EQ(error("region=mars"), "--limit: 'region=mars' matches no host, group or label");
  // A range must name only hosts that exist: 05-09 are typos, not a smaller selection.
  EXPECT_EQ(error("crawl[01-09].eu"),
            "--limit: 'crawl[01-09].eu' names hosts that do not exist: "
            "crawl05.eu, crawl06.eu, crawl07.eu, ...");
  EXPECT_EQ(error("eu,&us"), "--limit 'eu,&us' selects no host");
  EXPECT_NE(error("!").find("needs a host"), std::string::npos);
}

TEST(SelectEmpty, InventoryWithoutHosts) {
  auto inv = parse_inventory("redis:\n  url: redis://h:1/0\n", "only-redis.yaml");
  ASSERT_TRUE(inv.has_value());
  auto r = select_hosts(*inv, "");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "only-redis.yaml defines no hosts");
}

}  // namespace
}  // namespace crawl::config
