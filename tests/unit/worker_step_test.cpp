// The steps of a leased URL before its request (robots.txt, the site's delay), against a fake
// clock and a fake frontier: politeness rules tested without sleeps.

#include <gtest/gtest.h>

#include "policy/robots.hpp"
#include "worker/step.hpp"

namespace crawl::worker {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// One site as the frontier keeps it: the start of its last request and its delay, on a clock
// the test moves. A claim marks a start; site_start() marks one when the delay has passed.
struct FakeFrontier {
  std::int64_t now = 0;
  std::int64_t last = 0;
  milliseconds delay{1000};
  int asked = 0, starts = 0;

  void claim() {
    last = now;
    ++starts;
  }
  SiteStart site_start() {
    return [this] {
      ++asked;
      const std::int64_t allowed = last + delay.count();
      if (now < allowed) return milliseconds(allowed - now);
      last = now;
      ++starts;
      return 0ms;
    };
  }
};

policy::JobOptions polite_job() {
  policy::JobOptions o;
  o.respect_robots = true;
  o.delay = 1000ms;
  o.max_crawl_delay = 30s;
  return o;
}

const policy::Robots k_allow = policy::Robots::allow_all();

TEST(Step, AFreshLeaseWithTheRulesKnownFetchesAtOnceWithoutAskingTheFrontier) {
  FakeFrontier site;
  site.claim();
  StepState state;
  const Step s = next_step(state, polite_job(), &k_allow, "/a", 0ms, site.site_start());
  EXPECT_EQ(s.kind, Step::Kind::fetch);
  EXPECT_EQ(site.asked, 0) << "the claim took the site's slot and delay";
  EXPECT_FALSE(state.first_request);
}

TEST(Step, AfterRobotsTxtThePageGoesBackToItsSiteUntilTheSiteIsDue) {
  FakeFrontier site;
  site.claim();  // the lease: its request is the site's robots.txt
  StepState state;
  EXPECT_EQ(next_step(state, polite_job(), nullptr, "/a", 0ms, site.site_start()).kind,
            Step::Kind::wait_robots);
  site.now = 40;  // robots.txt answered
  const Step s = next_step(state, polite_job(), &k_allow, "/a", 0ms, site.site_start());
  EXPECT_EQ(s.kind, Step::Kind::release) << "no worker slot waits out the delay";
  EXPECT_EQ(site.starts, 1) << "the page did not leave";
  // Leased again when the site is due (the claim marks the start): it leaves at once.
  site.now = 1000;
  site.claim();
  StepState again;
  EXPECT_EQ(next_step(again, polite_job(), &k_allow, "/a", 0ms, site.site_start()).kind,
            Step::Kind::fetch);
  EXPECT_EQ(site.starts, 2);
}

TEST(Step, AfterRobotsTxtOnASiteAlreadyDueThePageLeavesInTheSameLease) {
  FakeFrontier site;
  site.delay = 0ms;
  site.claim();
  StepState state;
  next_step(state, polite_job(), nullptr, "/a", 0ms, site.site_start());
  EXPECT_EQ(next_step(state, polite_job(), &k_allow, "/a", 0ms, site.site_start()).kind,
            Step::Kind::fetch);
  EXPECT_EQ(site.starts, 2) << "robots.txt and the page, each a start at the site";
}

TEST(Step, ARedirectWithinTheSiteWaitsForTheDelayThenLeaves) {
  FakeFrontier site;
  site.claim();
  StepState state;
  ASSERT_EQ(next_step(state, polite_job(), &k_allow, "/a", 0ms, site.site_start()).kind,
            Step::Kind::fetch);
  site.now = 200;  // a 301 to /b, on the same site
  state.redirected = true;
  const Step wait = next_step(state, polite_job(), &k_allow, "/b", 0ms, site.site_start());
  EXPECT_EQ(wait.kind, Step::Kind::polite) << "the hops so far would be lost by a release";
  EXPECT_EQ(wait.wait, 800ms);
  site.now = 1000;
  EXPECT_EQ(next_step(state, polite_job(), &k_allow, "/b", 0ms, site.site_start()).kind,
            Step::Kind::fetch);
  EXPECT_EQ(site.last, 1000);
  EXPECT_EQ(site.starts, 2);
}

TEST(Step, AnUnreachableRobotsTxtDefersTheUrlAsLongAsTheAnswerStandsAtLeastASecond) {
  FakeFrontier site;
  const policy::Robots down = policy::Robots::disallow_all();
  StepState state;
  Step s = next_step(state, polite_job(), &down, "/a", 200ms, site.site_start());
  EXPECT_EQ(s.kind, Step::Kind::defer);
  EXPECT_EQ(s.reason, "robots_unreachable");
  EXPECT_EQ(s.wait, 1000ms);
  s = next_step(state, polite_job(), &down, "/a", 30s, site.site_start());
  EXPECT_EQ(s.wait, 30s);
  EXPECT_EQ(site.asked, 0);
}

TEST(Step, DisallowedPathsAndCrawlDelaysOverTheJobsMaximumAreFiltered) {
  FakeFrontier site;
  const policy::Robots rules =
      policy::parse_robots("User-agent: *\nDisallow: /private\nCrawl-delay: 40\n", "crawlworker");
  StepState a;
  EXPECT_EQ(next_step(a, polite_job(), &rules, "/private/x", 0ms, site.site_start()).reason,
            "robots");
  StepState b;
  const Step over = next_step(b, polite_job(), &rules, "/public", 0ms, site.site_start());
  EXPECT_EQ(over.kind, Step::Kind::filtered);
  EXPECT_EQ(over.reason, "crawl_delay");
  policy::JobOptions patient = polite_job();
  patient.max_crawl_delay = 40s;
  StepState c;
  EXPECT_EQ(next_step(c, patient, &rules, "/public", 0ms, site.site_start()).kind,
            Step::Kind::fetch)
      << "a Crawl-delay up to the maximum is honoured by the claims, not refused";
}

TEST(Step, AJobThatIgnoresRobotsTxtNeitherWaitsForItNorObeysIt) {
  FakeFrontier site;
  policy::JobOptions o = polite_job();
  o.respect_robots = false;
  const policy::Robots none = policy::Robots::disallow_all();
  StepState a;
  EXPECT_EQ(next_step(a, o, nullptr, "/a", 0ms, site.site_start()).kind, Step::Kind::fetch);
  StepState b;
  EXPECT_EQ(next_step(b, o, &none, "/a", 0ms, site.site_start()).kind, Step::Kind::fetch);
}

}  // namespace
}  // namespace crawl::worker
