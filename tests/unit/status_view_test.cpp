// crawlctl status's judgement of a snapshot: which workers are dead, missing or unreachable,
// which jobs failed URLs, the ETA, and the JSON scripts read.

#include <gtest/gtest.h>

#include "status/view.hpp"

namespace crawl::status {
namespace {

using Liveness = queue::WorkerInfo::Liveness;
using State = deploy::WorkerProcess::State;

queue::WorkerInfo beat(const std::string& id, Liveness liveness, std::int64_t age_ms = 100) {
  queue::WorkerInfo w;
  w.id = id;
  w.liveness = liveness;
  w.heartbeat_age_ms = age_ms;
  w.report.host = id.substr(0, id.find('/'));
  w.report.pages = 12;
  w.report.rate = 1.5;
  w.report.in_flight = 3;
  w.report.errors = {{"timeout", 2}, {"http_503", 5}};
  w.report.rss_bytes = 35'000'000;
  w.report.pid = 42;
  return w;
}

queue::JobInfo job(long long queued, long long in_flight, long long done, long long failed) {
  queue::JobInfo j;
  j.id = "7";
  j.state = "running";
  j.stats = {{"submitted", queued + in_flight + done + failed},
             {"queued", queued},
             {"in_flight", in_flight},
             {"done", done},
             {"failed", failed},
             {"filtered", 0}};
  return j;
}

HostView host(const std::string& name, int expected, std::vector<deploy::WorkerProcess> workers) {
  HostView h;
  h.name = name;
  h.expected = expected;
  h.inspection.now = 1000;
  h.inspection.workers = std::move(workers);
  return h;
}

deploy::WorkerProcess process(int index, State state, std::int64_t log_bytes = 100) {
  deploy::WorkerProcess p;
  p.index = index;
  p.pid = 40 + index;
  p.state = state;
  p.log_bytes = log_bytes;
  p.log_mtime = 995;
  return p;
}

const WorkerRow& row(const Verdict& v, const std::string& id) {
  for (const auto& r : v.rows)
    if (r.id == id) return r;
  throw std::runtime_error("no row " + id);
}

TEST(StatusView, NamesTheRedisPrimaryAndItsReplicasInSync) {
  queue::Replication r;
  r.server = "10.0.0.5:6379";
  r.role = "master";
  EXPECT_EQ(redis_text(r), "") << "a lone server reached directly is not worth a line";
  queue::parse_replication(
      "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
      "slave0:ip=10.0.0.6,port=6379,state=online,offset=1200,lag=0\r\n"
      "slave1:ip=10.0.0.7,port=6379,state=wait_bgsave,offset=0,lag=7\r\n"
      "master_failover_state:no-failover\r\n",
      r);
  EXPECT_EQ(r.replicas, 2);
  EXPECT_EQ(r.in_sync, 1);
  EXPECT_EQ(redis_text(r), "redis: primary 10.0.0.5:6379, 1 of 2 replicas in sync");
  r.via_sentinels = true;
  EXPECT_EQ(redis_text(r),
            "redis: primary 10.0.0.5:6379 (named by the Sentinels), 1 of 2 replicas in sync");
  Snapshot s;
  s.redis = r;
  const auto j = nlohmann::ordered_json::parse(to_json(s, judge(s, nullptr), ""));
  EXPECT_EQ(j["redis"]["replicas_in_sync"], 1);
  EXPECT_EQ(j["redis"]["server"], "10.0.0.5:6379");
}

TEST(StatusView, FlagsDeadWorkersAndFailedUrls) {
  Snapshot s;
  s.jobs = {job(10, 3, 20, 0)};
  s.workers = {beat("h1/1", Liveness::alive), beat("h1/2", Liveness::dead, 12'000)};
  s.returned["h1/2"] = 5;
  Verdict v = judge(s, nullptr);
  EXPECT_TRUE(v.workers_missing);
  EXPECT_FALSE(v.jobs_failed);
  EXPECT_EQ(row(v, "h1/1").state, "running");
  EXPECT_FALSE(row(v, "h1/1").problem);
  EXPECT_EQ(row(v, "h1/2").state, "dead");
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(
      v.problems[0],
      "worker h1/2 is dead: last heartbeat 12s ago; 5 leased URLs returned to the frontier now");
  // Failed URLs are a verdict of their own.
  s.jobs = {job(10, 3, 20, 4)};
  s.workers.pop_back();
  v = judge(s, nullptr);
  EXPECT_FALSE(v.workers_missing);
  EXPECT_TRUE(v.jobs_failed);
  EXPECT_EQ(v.problems.back(), "job 7 has 4 failed URLs");
  // Work queued and nobody alive to do it.
  s.workers.clear();
  s.jobs = {job(10, 0, 0, 0)};
  v = judge(s, nullptr);
  EXPECT_TRUE(v.workers_missing);
  EXPECT_EQ(v.problems.back(), "job 7 has 10 URLs queued and no worker is alive");
}

TEST(StatusView, WithHostsAProcessThatIsGoneOutweighsAFreshHeartbeat) {
  Snapshot s;
  s.with_hosts = true;
  s.workers = {beat("h1/1", Liveness::alive), beat("h1/2", Liveness::alive)};
  s.hosts = {
      host("h1", 3,
           {process(1, State::running), process(2, State::exited), process(5, State::exited)}),
      host("h2", 1, {process(1, State::running)}), host("h3", 1, {})};
  s.hosts[2].outcome = fanout::Outcome::unreachable;
  s.hosts[2].message = "Connection refused";
  const Verdict v = judge(s, nullptr);
  EXPECT_EQ(row(v, "h1/1").state, "running");
  EXPECT_EQ(row(v, "h1/2").state, "dead");  // killed within its TTL: the host knows first
  EXPECT_NE(row(v, "h1/2").why.find("NOT RUNNING (pid 42 gone)"), std::string::npos)
      << row(v, "h1/2").why;
  EXPECT_EQ(row(v, "h1/3").state, "missing");   // the hosts file says 3
  EXPECT_EQ(row(v, "h2/1").state, "starting");  // runs, no heartbeat yet: not a problem
  EXPECT_FALSE(row(v, "h2/1").problem);
  EXPECT_EQ(row(v, "h3/1").state, "unreachable");
  EXPECT_THROW(row(v, "h1/5"), std::runtime_error);  // an old worker's files are history
  EXPECT_EQ(v.rows.size(), 5u);
  EXPECT_TRUE(v.workers_missing);
  const std::string text = render(s, v, "");
  EXPECT_NE(text.find("host h3 could not be asked (unreachable): Connection refused"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("timeout:2"), std::string::npos) << text;  // errors by kind, most first
  EXPECT_LT(text.find("http_503:5"), text.find("timeout:2")) << text;
}

TEST(StatusView, LogGrowthComesFromTwoSnapshots) {
  Snapshot before, now;
  before.with_hosts = now.with_hosts = true;
  before.at_ms = 10'000;
  now.at_ms = 12'000;
  before.hosts = {host("h1", 1, {process(1, State::running, 1000)})};
  now.hosts = {host("h1", 1, {process(1, State::running, 3000)})};
  now.workers = {beat("h1/1", Liveness::alive)};
  const Verdict v = judge(now, &before);
  EXPECT_DOUBLE_EQ(row(v, "h1/1").log_growth, 1000.0);
  const auto json = nlohmann::ordered_json::parse(to_json(now, v, ""));
  EXPECT_EQ(json["workers"][0]["process"]["log_bytes_per_second"], 1000.0);
  EXPECT_EQ(json["workers"][0]["process"]["log_age_seconds"], 5);
}

// A job whose options cannot be read is shown as broken, beside the others, with why.
TEST(StatusView, ABrokenJobIsShownBesideTheOthers) {
  Snapshot s;
  s.jobs = {job(5, 0, 1, 0), job(2, 1, 3, 0)};
  s.jobs[0].id = "1";
  s.jobs[0].problem = "job field 'deny' is not a JSON list of strings";
  s.workers = {beat("h1/1", Liveness::alive)};
  const Verdict v = judge(s, nullptr);
  EXPECT_EQ(job_state(s.jobs[0]), "broken");
  EXPECT_EQ(job_state(s.jobs[1]), "in progress");
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_EQ(v.problems[0],
            "job 1 is broken: job field 'deny' is not a JSON list of strings; its 5 queued URLs "
            "wait until it is fixed (then crawlctl resume 1) or cancelled");
  const auto json = nlohmann::ordered_json::parse(to_json(s, v, ""));
  EXPECT_EQ(json["jobs"][0]["state"], "broken");
  EXPECT_EQ(json["jobs"][0]["problem"], s.jobs[0].problem);
  EXPECT_EQ(json["jobs"][1]["state"], "in progress");
  EXPECT_EQ(json["workers"].size(), 1u);
  const std::string table = render(s, v, "");
  EXPECT_NE(table.find("broken"), std::string::npos) << table;
  EXPECT_NE(table.find("h1/1"), std::string::npos) << table;
  // Cancelled, it is just cancelled.
  s.jobs[0].state = "cancelled";
  EXPECT_EQ(job_state(s.jobs[0]), "cancelled");
  EXPECT_TRUE(judge(s, nullptr).problems.empty());
}

TEST(StatusView, EtaAndStates) {
  queue::JobInfo j = job(90, 10, 50, 0);
  j.recent_pages = 120;
  j.recent_seconds = 60;
  EXPECT_DOUBLE_EQ(j.rate(), 2.0);
  ASSERT_TRUE(eta_seconds(j));
  EXPECT_DOUBLE_EQ(*eta_seconds(j), 50.0);
  EXPECT_EQ(job_state(j), "in progress");
  j.state = "paused";
  EXPECT_FALSE(eta_seconds(j));
  EXPECT_EQ(job_state(j), "paused");
  j.state = "cancelled";
  EXPECT_EQ(job_state(j), "cancelling");  // leases still out
  j.stats["in_flight"] = 0;
  EXPECT_EQ(job_state(j), "cancelled");
  queue::JobInfo done = job(0, 0, 50, 1);
  EXPECT_EQ(job_state(done), "finished");
  EXPECT_FALSE(eta_seconds(done));
  queue::JobInfo fresh = job(5, 0, 0, 0);
  EXPECT_FALSE(eta_seconds(fresh)) << "no rate yet, no ETA";
  EXPECT_EQ(job_state(fresh), "queued");
}

TEST(StatusView, JsonForOneJobKeepsItsFieldsAtTheTop) {
  Snapshot s;
  s.jobs = {job(1, 2, 3, 0)};
  s.workers = {beat("h1/1", Liveness::alive)};
  const auto one = nlohmann::ordered_json::parse(to_json(s, judge(s, nullptr), "7"));
  EXPECT_EQ(one["id"], "7");
  EXPECT_EQ(one["counters"]["in_flight"], 2);
  EXPECT_EQ(one["workers"][0]["errors"]["http_503"], 5);
  EXPECT_EQ(one["workers"][0]["pages_per_second"], 1.5);
  EXPECT_EQ(one["eta_seconds"], nullptr);
  const auto all = nlohmann::ordered_json::parse(to_json(s, judge(s, nullptr), ""));
  EXPECT_EQ(all["jobs"][0]["id"], "7");
  EXPECT_TRUE(all["problems"].empty());
  EXPECT_EQ(render_lines(s, judge(s, nullptr)),
            "1970-01-01T00:00:00Z job 7 in progress: 6 submitted, 1 queued, 2 in flight, 3 done, 0 "
            "failed, 0 filtered, 0.0 pages/s\n"
            "1970-01-01T00:00:00Z workers: 1 running\n");
}

// How a job's sites stand: counted on the job's line, listed with --sites, and the dead letters
// flagged.
TEST(StatusView, SitesAreCountedAndTheBusiestListed) {
  Snapshot s;
  s.at_ms = 100'000;
  s.jobs = {job(10, 1, 3, 0)};
  s.jobs[0].sites = {4, 1, 2, 1, 1};  // queued, ready, waiting, for a slot, backing off
  s.workers = {beat("h1/1", Liveness::alive)};
  s.with_sites = true;
  auto site = [](std::string name, long long queued, std::int64_t due_ms) {
    queue::SiteInfo out;
    out.site = std::move(name);
    out.queued = queued;
    out.due_ms = due_ms;
    return out;
  };
  queue::SiteInfo slow = site("http://slow.example", 7, 0);
  slow.busy = 1;
  slow.last_ms = 99'000;
  slow.for_slot = true;
  queue::SiteInfo throttled = site("https://busy.example", 3, 105'000);
  throttled.last_ms = 90'000;
  throttled.backoff_until_ms = 105'000;
  throttled.backoff_reason = "http_429";
  throttled.failures = 1;
  queue::SiteInfo gone = site("http://down.example:8080", 2, 100'000);
  gone.failures = 8;
  gone.gone_until_ms = 3'700'000;
  s.sites = {slow, throttled, gone};
  s.dead_letters = 3;
  const Verdict v = judge(s, nullptr);
  const std::string text = render(s, v, "7");
  EXPECT_NE(text.find("4 sites with queued URLs: 1 ready, 2 waiting for their delay, 1 for a slot "
                      "(1 of them backing off)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("http://slow.example"), std::string::npos) << text;
  EXPECT_NE(text.find("when a request ends"), std::string::npos) << text;
  EXPECT_NE(text.find("5.0s (http_429)"), std::string::npos) << text;
  EXPECT_NE(text.find("given up for 1h00m"), std::string::npos) << text;
  EXPECT_NE(text.find("! 3 frontier entries could not be read or belonged to no job"),
            std::string::npos)
      << text;
  EXPECT_EQ(site_next_text(throttled, s.at_ms), "in 5.0s");
  const auto json = nlohmann::ordered_json::parse(to_json(s, v, "7"));
  EXPECT_EQ(json["sites"]["waiting_for_slot"], 1);
  EXPECT_EQ(json["dead_letters"], 3);
  ASSERT_EQ(json["busiest_sites"].size(), 3u);
  EXPECT_EQ(json["busiest_sites"][0]["next_ms"], nullptr);
  EXPECT_EQ(json["busiest_sites"][1]["backoff_reason"], "http_429");
  EXPECT_EQ(json["busiest_sites"][1]["next_ms"], 105'000);
  EXPECT_EQ(json["busiest_sites"][2]["given_up_until_ms"], 3'700'000);
  EXPECT_NE(render_lines(s, v).find("; sites: 1 ready, 2 waiting, 1 for a slot, 1 backing off\n"),
            std::string::npos);
}

}  // namespace
}  // namespace crawl::status
