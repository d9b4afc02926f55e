#include "worker/tasks.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "queue/record.hpp"
#include "sitemap/sitemap.hpp"
#include "url/url.hpp"

namespace crawl::worker {

namespace {

using namespace std::chrono_literals;
using Kind = queue::PageOutcome::Kind;

// A broken job's URLs wait this long in the delayed set before they are looked at again.
constexpr std::chrono::milliseconds k_broken_job_wait{5'000};

// Sites whose sitemaps a worker remembers having handed on, per worker: past this many it
// forgets them all (a site met again hands its sitemaps on again, which dedup absorbs).
constexpr std::size_t k_max_sitemap_sites = 100'000;

std::string path_and_query(std::string_view normalized) {
  const url::Parts p = url::split(normalized);
  return std::string(p.path) + (p.query.empty() ? "" : "?" + std::string(p.query));
}

}  // namespace

void Stats::page(std::int64_t now) {
  ++per_second[now / 1000];
  while (!per_second.empty() && per_second.begin()->first < now / 1000 - 60)
    per_second.erase(per_second.begin());
}

double Stats::rate(std::int64_t now) const {
  std::uint64_t n = 0;
  for (auto [second, count] : per_second)
    if (second >= now / 1000 - 60 && second < now / 1000) n += count;
  return static_cast<double>(n) / 60.0;
}

Tasks::Tasks(TaskEnv& env, std::string worker_id, int max_redirects)
    : m_env(env), m_worker_id(std::move(worker_id)), m_max_redirects(max_redirects) {}

void Tasks::start(queue::Entry entry, std::shared_ptr<const JobContext> job,
                  const std::string& gone, std::int64_t now) {
  Task t;
  t.id = new_id();
  t.attempt.url = entry.url;
  t.attempt.attempt = entry.attempt;
  t.entry = std::move(entry);
  t.job = std::move(job);
  auto [it, inserted] = m_tasks.emplace(t.id, std::move(t));
  Task& task = it->second;
  if (!task.job) {
    // The job is gone or unreadable now; hand the URL back for later.
    finish(task, Kind::release, "", now);
    return;
  }
  if (!task.job->broken.empty()) {
    // Crawled by rules that cannot be read, it would be crawled wrong: it waits, unchanged.
    task.retry_in = k_broken_job_wait;
    finish(task, Kind::defer, "", now);
    return;
  }
  if (!gone.empty()) {
    // Its site was given up on (its requests failed many times in a row): failed, unfetched.
    task.last.error =
        "the site failed too many times in a row (" + gone + "); given up on for an hour";
    finish(task, Kind::failed, "site_unreachable", now);
    return;
  }
  advance(task, now);
}

void Tasks::resume(std::uint64_t task, std::int64_t now) {
  if (auto it = m_tasks.find(task); it != m_tasks.end() && it->second.stage == Task::Stage::robots)
    advance(it->second, now);
}

std::int64_t Tasks::wake_polite(std::int64_t now, std::int64_t until) {
  std::vector<std::uint64_t> due;
  for (auto& [id, t] : m_tasks) {
    if (t.stage != Task::Stage::polite) continue;
    if (t.polite_until_ms <= now)
      due.push_back(id);
    else
      until = std::min(until, t.polite_until_ms);
  }
  for (auto id : due) advance(m_tasks.at(id), now);
  return until;
}

bool Tasks::waiting_on_robots() const {
  for (const auto& [id, t] : m_tasks)
    if (t.stage == Task::Stage::robots) return true;
  return false;
}

std::set<std::string> Tasks::jobs() const {
  std::set<std::string> used;
  for (const auto& [id, t] : m_tasks) used.insert(t.entry.job);
  return used;
}

std::set<std::string> Tasks::held() const {
  std::set<std::string> known;
  for (const auto& [id, t] : m_tasks) known.insert(queue::encode(t.entry));
  for (const auto& o : m_outcomes) known.insert(queue::encode(o.entry));
  return known;
}

// The next step for a task at its current URL (worker/step.hpp decides it), carried out.
void Tasks::advance(Task& t, std::int64_t now) {
  const policy::JobOptions& o = t.job->info.options;
  const std::string site = url::origin(t.attempt.url);
  const policy::Robots* robots = nullptr;
  std::chrono::milliseconds robots_expires_in{0};
  if (o.respect_robots) {
    robots = m_env.robots(site, t.id, now);
    if (robots != nullptr && robots->unreachable())
      robots_expires_in = m_env.robots_expires_in(site, now);
    else if (robots != nullptr)
      m_env.crawl_delay(site, *robots, now);
  }
  // A job that reads sitemaps learns a site's from its robots.txt (and /sitemap.xml), once per
  // site and worker: they are admitted with this task's outcome.
  if (o.sitemaps && t.sitemaps.empty() &&
      (!o.respect_robots || (robots && !robots->unreachable())) &&
      !m_sitemaps_sent.count(t.entry.job + " " + site)) {
    t.sitemaps_key = t.entry.job + " " + site;
    t.sitemaps.push_back(site + "/sitemap.xml");
    if (robots)
      for (const std::string& listed : robots->sitemaps())
        if (auto u = url::resolve(site + "/robots.txt", listed)) {
          std::string ruled = t.job->filter ? url::apply(t.job->filter->url_rules(), *u) : *u;
          if (std::find(t.sitemaps.begin(), t.sitemaps.end(), ruled) == t.sitemaps.end())
            t.sitemaps.push_back(std::move(ruled));
        }
  }
  t.steps.redirected = t.attempt.hops > 0;
  const Step step = next_step(t.steps, o, robots, path_and_query(t.attempt.url), robots_expires_in,
                              [&] { return m_env.site_start(t.entry.job, site); });
  switch (step.kind) {
    case Step::Kind::wait_robots:
      t.stage = Task::Stage::robots;  // resume() once the rules are known
      return;
    case Step::Kind::defer:
      t.retry_in = step.wait;
      finish(t, Kind::defer, step.reason, now);
      return;
    case Step::Kind::filtered:
      finish(t, Kind::filtered, step.reason, now);
      return;
    case Step::Kind::release:
      finish(t, Kind::release, "", now);
      return;
    case Step::Kind::polite:
      t.stage = Task::Stage::polite;
      t.polite_until_ms = now + step.wait.count();
      return;
    case Step::Kind::fetch:
      t.stage = Task::Stage::fetching;
      m_env.fetch(t.id, t.attempt.url, t.job->info.options.max_parse_bytes + 1, o.sitemaps,
                  o.warc ? t.entry.job : std::string());
      return;
  }
}

const JobContext* Tasks::job_of(std::uint64_t task) const {
  auto it = m_tasks.find(task);
  return it == m_tasks.end() ? nullptr : it->second.job.get();
}

void Tasks::on_response(fetch::Response r, std::int64_t now, double jitter,
                        std::optional<Archived> archived) {
  auto it = m_tasks.find(r.id);
  if (it == m_tasks.end()) return;
  Task& t = it->second;
  t.fetch_ms += r.elapsed_ms;
  t.archived = std::move(archived);
  const Decision d = decide(r, t.attempt, t.job->info.options, m_max_redirects, now, jitter);
  t.body_bytes = r.body_bytes;
  t.site = d.site == Decision::Site::failed     ? queue::PageOutcome::Site::failed
           : d.site == Decision::Site::answered ? queue::PageOutcome::Site::answered
                                                : queue::PageOutcome::Site::unknown;
  t.site_backoff = d.site_backoff;
  // What is kept of a response not parsed: its status and headers, not its body, whose share of
  // the body memory goes back at once (a redirect waits for robots.txt and politeness).
  auto keep_meta = [&t](fetch::Response&& response) {
    std::string().swap(response.body);
    response.hold.release();
    t.last = std::move(response);
  };
  // A redirect's target is a URL the job admits: under its rules (url::Rules) like any other.
  // Unless the rules make it a URL this task has fetched already (a site redirecting /a to
  // /a;jsessionid=X, or to its parameters in another order): that hop goes as the site sent it,
  // or the task would ask for the same redirect until too_many_redirects.
  static const url::Rules k_no_rules;
  const url::Rules& rules = t.job->filter ? t.job->filter->url_rules() : k_no_rules;
  std::string target =
      d.redirect_to.empty() || rules.empty() ? d.redirect_to : url::apply(rules, d.redirect_to);
  if (target != d.redirect_to && (target == t.attempt.url || t.attempt.visited.count(target)))
    target = d.redirect_to;
  switch (d.next) {
    case Decision::Next::redirect:
    case Decision::Next::moved:
      keep_meta(std::move(r));
      hop(t, d.next == Decision::Next::redirect, std::move(target), now);
      return;
    case Decision::Next::requeue:
      keep_meta(std::move(r));
      finish(t, Kind::requeue, d.reason, now);
      return;
    case Decision::Next::parse:
      to_parser(t, std::move(r), false);
      return;
    case Decision::Next::retry:
      keep_meta(std::move(r));
      t.retry_in = d.retry_in;
      finish(t, Kind::retry, d.reason, now);
      return;
    case Decision::Next::done:
      if (t.job->info.options.sitemaps && sitemap::looks_like_sitemap(r.body)) {
        to_parser(t, std::move(r), true);  // its URLs are admitted as a page's links are
        return;
      }
      keep_meta(std::move(r));
      finish(t, Kind::done, "", now);
      return;
    case Decision::Next::failed:
      keep_meta(std::move(r));
      finish(t, Kind::failed, d.reason, now);
      return;
  }
}

// A page's body (or a sitemap's) goes to the parser threads with what the job says of it; the
// task keeps the response's status and headers for its record.
void Tasks::to_parser(Task& t, fetch::Response r, bool sitemap) {
  const policy::JobOptions& o = t.job->info.options;
  ParseJob job{t.id,
               t.attempt.url,
               std::move(r.body),
               std::move(r.hold),
               r.memory_cut,
               t.entry.depth,
               t.job->filter,
               sitemap ? static_cast<int>(sitemap::k_max_urls) : o.max_links_per_page,
               r.charset,
               o.max_parse_bytes,
               sitemap,
               r.truncated};
  t.last = std::move(r);
  t.stage = Task::Stage::parsing;
  m_env.parse(std::move(job));
}

// The next hop of a task, to `target`: on the same site, fetched in this task once robots.txt
// and the site's delay allow; to another site, not followed here (that site's politeness is not
// this lease's), but admitted, in scope, as a URL of its own at this one's depth, and this one
// recorded as filtered (redirect). Every hop is judged like a link first (scope, traps,
// patterns); out of scope, the task is recorded with the reason.
void Tasks::hop(Task& t, bool same_site, std::string target, std::int64_t now) {
  if (same_site) {
    t.attempt.visited.insert(t.attempt.url);
    ++t.attempt.hops;
  }
  t.attempt.url = std::move(target);
  const policy::Drop drop = t.job->filter->judge(t.attempt.url, t.entry.depth);
  if (drop != policy::Drop::none && drop != policy::Drop::depth) {
    finish(t, Kind::filtered, std::string(policy::to_string(drop)), now);
    return;
  }
  if (same_site) {
    advance(t, now);
    return;
  }
  t.moved_to = t.attempt.url;
  finish(t, Kind::filtered, "redirect", now);
}

void Tasks::on_parsed(Parsed p, std::int64_t now) {
  auto it = m_tasks.find(p.task);
  if (it == m_tasks.end()) return;
  Task& t = it->second;
  // A meta refresh to another URL is followed as a redirect is, by the same hop rules; the
  // page's own links are not taken (a browser shows the next page instead of this one).
  if (!p.refresh.empty() && p.refresh != t.attempt.url) {
    const Decision d = decide_hop(t.attempt, p.refresh, m_max_redirects);
    if (d.next == Decision::Next::failed)
      finish(t, Kind::failed, d.reason, now);
    else
      hop(t, d.next == Decision::Next::redirect, d.redirect_to, now);
    return;
  }
  if (!p.refused.empty()) {
    t.last.error = "sitemap refused: " + p.refused;
    finish(t, Kind::failed, "bad_sitemap", now);
    return;
  }
  finish(t, Kind::done, "", now, std::move(p));
}

void Tasks::clear_outcomes() {
  m_outcomes.clear();
  m_outcome_bytes = 0;
}

void Tasks::release_unstarted(const std::string& job, std::int64_t now) {
  std::vector<std::uint64_t> ids;
  for (auto& [id, t] : m_tasks)
    if ((t.stage == Task::Stage::robots || t.stage == Task::Stage::polite) &&
        (job.empty() || t.entry.job == job))
      ids.push_back(id);
  for (auto id : ids) finish(m_tasks.at(id), Kind::release, "", now);
}

void Tasks::release_all(std::int64_t now) {
  std::vector<std::uint64_t> ids;
  for (auto& [id, t] : m_tasks) ids.push_back(id);
  for (auto id : ids) finish(m_tasks.at(id), Kind::release, "", now);
}

std::size_t Tasks::cancel_job(const std::string& job, std::int64_t now) {
  std::vector<std::uint64_t> ids;
  for (auto& [id, t] : m_tasks)
    if (t.entry.job == job) ids.push_back(id);
  for (auto id : ids) {
    m_env.cancel_fetch(id);
    finish(m_tasks.at(id), Kind::cancel, "", now);
  }
  return ids.size();
}

// Turns a task into an outcome for the next batch and forgets it.
void Tasks::finish(Task& t, Kind kind, const std::string& reason, std::int64_t now,
                   std::optional<Parsed> parsed) {
  queue::PageOutcome out;
  out.entry = t.entry;
  out.kind = kind;
  out.reason = reason;
  out.site = t.site;
  out.site_backoff = t.site_backoff;
  if (t.moved_to) out.moved_to = queue::Link{*t.moved_to, "", 0};  // judged in scope on_fetched
  if (kind == Kind::done || kind == Kind::failed || kind == Kind::filtered) {
    queue::Record r;
    r.url = t.entry.url;
    r.outcome = kind == Kind::done     ? queue::Outcome::done
                : kind == Kind::failed ? queue::Outcome::failed
                                       : queue::Outcome::filtered;
    r.reason = reason;
    r.status = static_cast<int>(t.last.status);
    if (t.last.status != 0 || !t.last.url.empty()) {
      r.final_url = t.attempt.url;
      r.content_type = t.last.content_type;
      r.bytes = t.body_bytes;
      r.truncated = t.last.truncated;
      r.fetch_ms = t.fetch_ms;
    }
    r.error = t.last.error;  // also for a URL failed unfetched (its site given up on)
    if (t.archived) {
      r.warc_file = t.archived->file;
      r.warc_offset = t.archived->offset;
    }
    if (parsed && !parsed->error.empty()) r.error = parsed->error;
    r.depth = t.entry.depth;
    r.worker = m_worker_id;
    r.at_ms = now;
    if (parsed) {
      r.title = std::move(parsed->title);
      r.images = std::move(parsed->images);
      r.links = parsed->found;
      r.parse_cut = std::move(parsed->parse_cut);
      r.encoding = std::move(parsed->encoding);
      r.encoding_from = std::move(parsed->encoding_from);
      r.noindex = parsed->noindex;
      r.canonical = parsed->canonical;
      r.sitemap = parsed->sitemap;
      r.links_dropped = parsed->links_dropped;
      r.images_dropped = parsed->images_dropped;
      out.links = std::move(parsed->links);
      out.links_dropped = parsed->links_dropped;
      out.parse_cut = r.parse_cut;
      // With --canonical, a page that names another URL as its canonical one admits that URL
      // (judged as a link), not its own links: the crawl keeps to the pages a site calls its own.
      if (t.job && t.job->info.options.canonical && !parsed->canonical.empty() &&
          parsed->canonical != t.attempt.url && t.job->filter) {
        const policy::Drop drop = t.job->filter->judge(parsed->canonical, t.entry.depth + 1);
        out.links = {
            {parsed->canonical,
             drop == policy::Drop::none ? std::string() : std::string(policy::to_string(drop)),
             url::fingerprint(parsed->canonical)}};
        out.links_dropped = 0;
      }
    }
    // The site's sitemaps, once per site and worker, with its first outcome recorded. Not from
    // a page at the job's depth limit: the sitemaps would be recorded too deep, and dedup would
    // keep a shallower page of the site from handing them on.
    if (!t.sitemaps.empty() && t.job->filter &&
        t.job->filter->judge(t.sitemaps.front(), t.entry.depth + 1) != policy::Drop::depth &&
        m_sitemaps_sent.insert(t.sitemaps_key).second) {
      if (m_sitemaps_sent.size() > k_max_sitemap_sites) m_sitemaps_sent.clear();
      for (std::string& u : t.sitemaps) {
        const policy::Drop drop = t.job->filter->judge(u, t.entry.depth + 1);
        const std::uint64_t fp = url::fingerprint(u);
        out.links.push_back(
            {std::move(u),
             drop == policy::Drop::none ? std::string() : std::string(policy::to_string(drop)),
             fp});
      }
    }
    queue::fit(r);
    out.images_dropped = r.images_dropped;
    out.record_json = queue::to_json(r);
    out.bytes = t.body_bytes;
    ++m_stats.counts[std::string(queue::to_string(r.outcome))];
    m_stats.counts["bytes"] += t.body_bytes;
    if (kind == Kind::done) m_stats.page(now);
    if (kind == Kind::failed) ++m_stats.errors[reason];
    spdlog::debug("event=outcome url={} outcome={} reason={} status={}", t.entry.url,
                  queue::to_string(r.outcome), reason, r.status);
  } else if (kind == Kind::retry || kind == Kind::defer) {
    out.retry_in = t.retry_in;
  }
  if (kind == Kind::retry || kind == Kind::requeue) {
    ++m_stats.counts["retries"];
    ++m_stats.errors[reason];
  }
  if (m_outcomes.empty()) m_oldest_outcome_ms = now;
  m_outcome_bytes += out.record_json.size();
  for (const queue::Link& link : out.links) m_outcome_bytes += link.url.size() + 16;
  m_outcomes.push_back(std::move(out));
  m_tasks.erase(t.id);
}

}  // namespace crawl::worker
