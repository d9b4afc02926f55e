#include "queue/jobs.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <limits>
#include <numeric>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "policy/job_options.hpp"
#include "policy/scope.hpp"
#include "queue/entry.hpp"
#include "queue/replies.hpp"
#include "queue/scripts.hpp"
#include "url/url.hpp"

namespace crawl::queue {

std::string_view to_string(Counter counter) {
  switch (counter) {
    case Counter::submitted:
      return "submitted";
    case Counter::queued:
      return "queued";
    case Counter::in_flight:
      return "in_flight";
    case Counter::done:
      return "done";
    case Counter::failed:
      return "failed";
    case Counter::filtered:
      return "filtered";
    case Counter::retries:
      return "retries";
    case Counter::duplicates:
      return "duplicates";
    case Counter::budget_used:
      return "budget_used";
    case Counter::cancelled:
      return "cancelled";
    case Counter::bytes:
      return "bytes";
  }
  return "";
}

namespace {

constexpr std::size_t k_links_per_call = 1000;          // URLs per enqueue script call
constexpr std::size_t k_calls_per_trip = 4;             // script calls per round trip
constexpr std::size_t k_window = 4 * k_links_per_call;  // links put in site order together: a trip

constexpr long long k_cancel_chunk = 10'000;  // entries a cancel drops per call: ~10 ms of Redis

}  // namespace

// Each option as its rule stores it: numbers (durations in ms, booleans 1 or 0) in decimal, a
// choice by name, patterns as a JSON list of strings.
std::vector<std::pair<std::string, std::string>> job_fields(const policy::JobOptions& o) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& option : policy::job_options()) {
    std::string value;
    switch (option.rule.kind) {
      case policy::OptionRule::Kind::choice:
      case policy::OptionRule::Kind::url:
        value = policy::option_text(o, option);
        break;
      case policy::OptionRule::Kind::patterns:
        value = nlohmann::json(
                    o.*std::get<std::vector<std::string> policy::JobOptions::*>(option.member))
                    .dump();
        break;
      default:
        value = std::to_string(policy::option_integer(o, option));
    }
    fields.emplace_back(option.field, std::move(value));
  }
  return fields;
}

Result<policy::JobOptions> job_options(const std::map<std::string, std::string>& f) {
  policy::JobOptions o;
  for (const auto& option : policy::job_options()) {
    auto it = f.find(std::string(option.field));
    if (it == f.end()) continue;  // a job written before the option existed: its default
    const std::string& v = it->second;
    Result<void> set;
    switch (option.rule.kind) {
      case policy::OptionRule::Kind::choice:
      case policy::OptionRule::Kind::url:
        set = policy::set_option(o, option, std::string_view(v));
        break;
      case policy::OptionRule::Kind::patterns: {
        auto j = nlohmann::json::parse(v, nullptr, false);
        const bool strings = j.is_array() && std::all_of(j.begin(), j.end(), [](const auto& e) {
                               return e.is_string();
                             });
        if (!strings) return fail("job field '{}' is not a JSON list of strings", option.field);
        // As written (an older submit took an empty pattern too).
        o.*std::get<std::vector<std::string> policy::JobOptions::*>(option.member) =
            j.get<std::vector<std::string>>();
        break;
      }
      default: {
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || end != v.data() + v.size())
          return fail("job field '{}' is not a whole number: '{}'", option.field, v);
        policy::set_option_clamped(o, option, n);
      }
    }
    if (!set) return fail("job field '{}': {}", option.field, set.error().message);
  }
  return o;
}

Result<std::string> Jobs::create(const policy::JobOptions& options, const std::string& name,
                                 const std::vector<std::string>& seed_authorities,
                                 std::int64_t now_ms, FirstSeeds first_seeds) {
  // The job's id, and its creation time by the server's clock: the rate status shows is measured
  // against the time of its pages, which the scripts take from the same clock.
  auto first = m_redis.pipeline({{"INCR", m_keys.job_seq()}, {"TIME"}});
  if (!first) return fail(first.error());
  const Reply& id = (*first)[0];
  if (!id.ok()) return fail(ErrorKind::remote, "creating a job: {}", id.str);
  const std::string job = std::to_string(id.integer);
  if (const std::int64_t server = server_ms((*first)[1]); server > 0) now_ms = server;
  std::vector<std::string> hset{
      "HSET",       m_keys.job(job),        "name",       name, "state", "running",
      "created_ms", std::to_string(now_ms), "submitting", "1"};
  for (auto& [k, v] : job_fields(options)) {
    hset.push_back(k);
    hset.push_back(v);
  }
  // P:loading first: a job marked loading is always in it (the reaper forgets one that is not).
  std::vector<std::vector<std::string>> commands;
  if (first_seeds == FirstSeeds::loaded) {
    commands.push_back({"SADD", m_keys.loading(), job});
    hset.insert(hset.end(), {"loading", "1"});
  }
  commands.push_back(std::move(hset));
  commands.push_back(
      {"SET", m_keys.submitter(job), "1", "PX", std::to_string(scripts::k_submitter_ttl_ms)});
  // The counters of the invariant (and the page budget) from 0; the others appear when counted.
  std::vector<std::string> counters{"HSET", m_keys.stats(job)};
  for (const Counter c : {Counter::submitted, Counter::queued, Counter::in_flight, Counter::done,
                          Counter::failed, Counter::filtered, Counter::budget_used})
    counters.insert(counters.end(), {std::string(to_string(c)), "0"});
  commands.push_back(std::move(counters));
  for (std::size_t i = 0; i < seed_authorities.size(); i += 1000) {
    std::vector<std::string> sadd{"SADD", m_keys.seeds(job)};
    for (std::size_t k = i; k < std::min(i + 1000, seed_authorities.size()); ++k)
      sadd.push_back(seed_authorities[k]);
    commands.push_back(std::move(sadd));
  }
  commands.push_back({"ZADD", m_keys.jobs(), std::to_string(now_ms), job});
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail(ErrorKind::remote, "creating job {}: {}", job, r.str);
  return job;
}

Result<void> Jobs::begin_submit(const std::string& job,
                                const std::vector<std::string>& seed_authorities) {
  auto begun = m_redis.script(scripts::begin_submit,
                              {m_keys.prefix, job, std::to_string(scripts::k_submitter_ttl_ms)});
  if (!begun) return fail(begun.error());
  if (!begun->ok()) return fail(ErrorKind::remote, "adding seeds to job {}: {}", job, begun->str);
  if (begun->integer == 0) return fail(ErrorKind::not_found, "no job '{}'", job);
  if (begun->integer == -2)
    return fail(ErrorKind::invalid,
                "job {} is still loading the seeds of the submit that created it: add seeds when "
                "it is done",
                job);
  if (begun->integer < 0)
    return fail(ErrorKind::invalid, "job {} was cancelled: no seeds can be added to it", job);
  std::vector<std::vector<std::string>> commands;
  for (std::size_t i = 0; i < seed_authorities.size(); i += 1000) {
    std::vector<std::string> sadd{"SADD", m_keys.seeds(job)};
    for (std::size_t k = i; k < std::min(i + 1000, seed_authorities.size()); ++k)
      sadd.push_back(seed_authorities[k]);
    commands.push_back(std::move(sadd));
  }
  if (commands.empty()) return {};
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail(ErrorKind::remote, "adding seeds to job {}: {}", job, r.str);
  return {};
}

Result<void> Jobs::end_submit(const std::string& job) {
  // The last submit to end clears the mark (and the submitter key, which the others kept alive).
  auto r = m_redis.script(scripts::end_submit, {m_keys.prefix, job});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(ErrorKind::remote, "ending the submit of job {}: {}", job, r->str);
  return {};
}

Result<Admitted> Jobs::enqueue(const std::string& job, int depth, const std::vector<Link>& links,
                               const Progress& progress) {
  std::vector<LinkView> views;
  views.reserve(links.size());
  for (const Link& l : links) views.push_back({l.url, l.drop, l.fingerprint});
  return enqueue(job, depth, views, progress);
}

Result<Admitted> Jobs::enqueue(const std::string& job, int depth,
                               const std::vector<LinkView>& links, const Progress& progress) {
  // Links go in windows of k_window, each sent with a site's links together (in their order),
  // so that a call's links of one site enter its queue in one LPUSH. Round trips are sent
  // without waiting: while Redis runs one, the next is prepared, and its replies are read after
  // the following one has gone out. Progress is told when a window's last trip is
  // acknowledged: everything before its end is then recorded.
  Admitted total;
  std::size_t in_flight = 0;
  std::size_t closes = 0;  // the end of the window whose last trip is in flight (0: none)
  std::vector<std::vector<std::string_view>> outstanding;  // the trip whose replies are awaited
  auto collect = [&]() -> Result<void> {
    auto replies = m_redis.receive(in_flight);
    if (!replies) return fail(replies.error());
    // A server that lost its script cache refused the whole trip, none of it ran: send it
    // again the slow way, which loads the script first.
    if (!replies->empty() && !replies->front().ok() &&
        replies->front().str.starts_with("NOSCRIPT")) {
      std::vector<std::vector<std::string>> again;
      for (const auto& v : outstanding) again.emplace_back(v.begin(), v.end());
      replies = m_redis.scripts(scripts::enqueue, again);
    }
    if (!replies) return fail(replies.error());
    for (const Reply& r : *replies) {
      if (!r.ok() || r.elements.size() != 2)
        return fail(ErrorKind::remote, "enqueue into job {}: {}", job, r.str);
      total.admitted += static_cast<std::uint64_t>(r.elements[0].integer);
      total.duplicates += static_cast<std::uint64_t>(r.elements[1].integer);
    }
    in_flight = 0;
    if (closes > 0 && progress) progress(closes, total);
    closes = 0;
    return {};
  };
  // The calls' arguments are views: the prefix, job and depth live here, each window's
  // fingerprints and entries in a buffer of its own, and two of those alternate (the trip in
  // flight when the next window is built belongs to the one before).
  const std::string depth_text = std::to_string(depth);
  const std::string head = job + ' ' + depth_text + " 0 ";
  std::array<std::vector<std::string>, 2> fingerprints, entries;
  std::size_t window = 0;
  std::vector<std::size_t> order;
  std::vector<std::size_t> site_hash;
  for (std::size_t first = 0; first < links.size(); first += k_window) {
    // Grouping needs only equal sites together: they are ordered by a hash of the site.
    const std::size_t last = std::min(first + k_window, links.size());
    order.resize(last - first);
    std::iota(order.begin(), order.end(), first);
    site_hash.resize(last - first);
    for (std::size_t i = first; i < last; ++i)
      site_hash[i - first] = std::hash<std::string_view>{}(url::origin_view(links[i].url));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return site_hash[a - first] < site_hash[b - first];
    });
    std::vector<std::string>& fps = fingerprints[window % 2];
    std::vector<std::string>& texts = entries[window % 2];
    ++window;
    fps.resize(order.size());
    texts.resize(order.size());
    std::size_t k = 0;
    while (k < order.size()) {
      std::vector<std::vector<std::string_view>> views;
      for (std::size_t c = 0; c < k_calls_per_trip && k < order.size(); ++c) {
        std::vector<std::string_view> args{m_keys.prefix, job, depth_text};
        const std::size_t end = std::min(k + k_links_per_call, order.size());
        args.reserve(3 + 3 * (end - k));
        for (; k < end; ++k) {
          const LinkView& link = links[order[k]];
          fps[k] = fingerprint_bytes(link.fingerprint != 0 ? link.fingerprint
                                                           : url::fingerprint(link.url));
          texts[k].assign(head).append(link.url);
          args.insert(args.end(), {fps[k], texts[k], link.drop});
        }
        views.push_back(std::move(args));
      }
      if (in_flight > 0)
        if (auto done = collect(); !done) return fail(done.error());
      if (auto sent = m_redis.send_scripts(scripts::enqueue, views); !sent)
        return fail(sent.error());
      in_flight = views.size();
      outstanding = std::move(views);
      if (k == order.size()) closes = last;
    }
  }
  if (in_flight > 0)
    if (auto done = collect(); !done) return fail(done.error());
  return total;
}

Result<Admitted> Jobs::load(const std::string& job, const std::vector<LinkView>& links,
                            const Progress& progress) {
  auto max_pages = m_redis.command({"HGET", m_keys.job(job), "max_pages"});
  if (!max_pages) return fail(max_pages.error());
  std::uint64_t budget = std::numeric_limits<std::uint64_t>::max();
  if (max_pages->type == Reply::Type::string && !max_pages->str.empty()) {
    std::uint64_t n = 0;
    std::from_chars(max_pages->str.data(), max_pages->str.data() + max_pages->str.size(), n);
    if (n > 0) budget = n;
  }
  auto fingerprint = [](const LinkView& l) {
    return l.fingerprint != 0 ? l.fingerprint : url::fingerprint(l.url);
  };
  for (std::size_t i = 0; i < links.size(); ++i) {
    if (!links[i].drop.empty())
      return fail(ErrorKind::invalid, "loading job {}: seed {} has a drop reason", job, i);
    if (i > 0 && fingerprint(links[i]) < fingerprint(links[i - 1]))
      return fail(ErrorKind::invalid, "loading job {}: the seeds are not in fingerprint order",
                  job);
  }

  // A batch ends at a dedup bucket's end (the fingerprint's first 2 bytes) once it has
  // k_load_batch links (about 20 ms of Redis). Its arguments are views into buffers of its own;
  // three rotate, so that while one is built Redis has two: it never waits for the next.
  constexpr std::size_t k_load_batch = 16'384;
  constexpr std::size_t k_load_in_flight = 2;
  static const char* const k_hex = "0123456789abcdef";
  struct Batch {
    std::vector<std::string> bucket_names, remainders, entries, counts;
    std::string before, after, bucket_count, site_count, duplicates, over;
    std::vector<std::string_view> args;
    std::size_t ends = 0;  // the links before this index are done once it is acknowledged
  };
  std::array<Batch, k_load_in_flight + 1> batches;
  const std::string head = job + " 0 0 ";
  Admitted total;
  std::uint64_t admitted = 0;          // queued so far, against the budget
  std::deque<const Batch*> in_flight;  // sent, oldest first
  // What Redis said of one batch.
  auto settle = [&](const Batch& sent, const Reply& r) -> Result<void> {
    if (!r.ok() || r.elements.size() != 2)
      return fail(ErrorKind::remote, "loading job {}: {}", job, r.str);
    if (r.elements[0].integer == -2)
      return fail(ErrorKind::invalid,
                  "job {} has seeds loaded by another call: its first seeds load once", job);
    if (r.elements[0].integer < 0)
      return fail(
          ErrorKind::invalid,
          "job {} is no longer loading its seeds: it was cancelled, or another submit took it over "
          "after this one stalled",
          job);
    total.admitted += static_cast<std::uint64_t>(r.elements[0].integer);
    total.duplicates += static_cast<std::uint64_t>(r.elements[1].integer);
    if (progress) progress(sent.ends, total);
    return {};
  };
  // After an error, the replies still due are read, so the connection is left with none pending.
  auto drain = [&] {
    if (!in_flight.empty()) (void)m_redis.receive(in_flight.size());
    in_flight.clear();
  };
  // The oldest batch's reply.
  auto collect = [&]() -> Result<void> {
    const Batch* oldest = in_flight.front();
    in_flight.pop_front();
    auto replies = m_redis.receive(1);
    if (!replies) return fail(replies.error());
    Reply r = std::move(replies->front());
    if (r.ok() || !r.str.starts_with("NOSCRIPT")) {
      auto done = settle(*oldest, r);
      if (!done) drain();
      return done;
    }
    // A server that lost its script cache refused the batch, and the one after it too (unless
    // another client loaded the script meanwhile): both replies are read, and each refused batch
    // is sent again, in order, the slow way, which loads the script first.
    std::vector<std::pair<const Batch*, Reply>> read;
    read.emplace_back(oldest, std::move(r));
    auto rest = m_redis.receive(in_flight.size());
    if (!rest) return fail(rest.error());
    for (std::size_t k = 0; k < rest->size(); ++k)
      read.emplace_back(in_flight[k], std::move((*rest)[k]));
    in_flight.clear();
    for (auto& [sent, reply] : read) {
      if (!reply.ok() && reply.str.starts_with("NOSCRIPT")) {
        auto again = m_redis.scripts(
            scripts::load, {std::vector<std::string>(sent->args.begin(), sent->args.end())});
        if (!again) return fail(again.error());
        reply = std::move(again->front());
      }
      if (auto done = settle(*sent, reply); !done) return done;
    }
    return {};
  };
  std::unordered_map<std::string_view, std::vector<std::size_t>>
      by_site;  // site -> entries of the batch
  std::vector<std::string_view> site_order;
  std::size_t next = 0, built = 0;
  std::uint64_t last_fp = 0;
  while (next < links.size()) {
    Batch& b = batches[built++ % batches.size()];
    const std::size_t b_start = next;
    b.bucket_names.clear();
    b.remainders.clear();
    b.entries.clear();
    b.counts.clear();
    by_site.clear();
    site_order.clear();
    std::uint64_t duplicates = 0, over = 0;
    int bucket = -1;
    for (; next < links.size(); ++next) {
      const LinkView& link = links[next];
      const std::uint64_t fp = fingerprint(link);
      const int this_bucket = static_cast<int>(fp >> 48);
      if (this_bucket != bucket) {
        if (b.entries.size() + duplicates + over >= k_load_batch) break;
        bucket = this_bucket;
        b.bucket_names.push_back({k_hex[(fp >> 60) & 15], k_hex[(fp >> 56) & 15],
                                  k_hex[(fp >> 52) & 15], k_hex[(fp >> 48) & 15]});
        b.remainders.emplace_back();
      }
      if (next > 0 && fp == last_fp) {
        ++duplicates;
        continue;
      }
      last_fp = fp;
      // Seen, as the enqueue script does it, even over the budget.
      for (int shift = 40; shift >= 0; shift -= 8)
        b.remainders.back().push_back(static_cast<char>((fp >> shift) & 0xff));
      if (admitted >= budget) {
        ++over;
        continue;
      }
      ++admitted;
      b.entries.emplace_back(head).append(link.url);
      const std::string_view site = url::origin_view(link.url);
      auto [it, fresh] = by_site.try_emplace(site);
      if (fresh) site_order.push_back(site);
      it->second.push_back(b.entries.size() - 1);
    }
    b.before = std::to_string(b_start);
    b.after = std::to_string(next);
    b.args.assign({m_keys.prefix, job, b.before, b.after});
    b.bucket_count = std::to_string(b.bucket_names.size());
    b.args.push_back(b.bucket_count);
    for (std::size_t k = 0; k < b.bucket_names.size(); ++k)
      b.args.insert(b.args.end(), {b.bucket_names[k], b.remainders[k]});
    b.site_count = std::to_string(site_order.size());
    b.args.push_back(b.site_count);
    b.counts.reserve(site_order.size());
    for (std::string_view site : site_order) {
      const auto& members = by_site[site];
      b.counts.push_back(std::to_string(members.size()));
      b.args.insert(b.args.end(), {site, b.counts.back()});
      for (std::size_t k : members) b.args.push_back(b.entries[k]);
    }
    b.duplicates = std::to_string(duplicates);
    b.over = std::to_string(over);
    b.args.insert(b.args.end(), {b.duplicates, b.over});
    b.ends = next;
    if (auto sent = m_redis.send_scripts(scripts::load, {b.args}); !sent) return fail(sent.error());
    in_flight.push_back(&b);
    if (in_flight.size() == k_load_in_flight)
      if (auto done = collect(); !done) return fail(done.error());
  }
  while (!in_flight.empty())
    if (auto done = collect(); !done) return fail(done.error());
  return total;
}

Result<JobInfo> Jobs::job(const std::string& id) {
  auto all = jobs({id});
  if (!all) return fail(all.error());
  if (all->front().missing) return fail(ErrorKind::not_found, "no job '{}'", id);
  return std::move(all->front());
}

Result<std::vector<JobInfo>> Jobs::jobs(const std::vector<std::string>& ids, std::int64_t* now) {
  // One round trip: TIME, then per job its hash, counters, rate ring, submitter key and how its
  // sites stand (job_sites.lua, sent whole: it is short).
  constexpr std::size_t k_per_job = 6;
  const std::string site_counts(scripts::job_sites);
  std::vector<std::vector<std::string>> commands{{"TIME"}};
  for (const auto& id : ids) {
    commands.push_back({"HGETALL", m_keys.job(id)});
    commands.push_back({"HGETALL", m_keys.stats(id)});
    commands.push_back({"HGETALL", m_keys.rate(id)});
    commands.push_back({"EXISTS", m_keys.submitter(id)});
    commands.push_back({"EVAL", site_counts, "0", m_keys.prefix, id});
    commands.push_back({"XLEN", m_keys.records(id)});
  }
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  const std::int64_t now_ms = server_ms((*replies)[0]);
  if (now != nullptr) *now = now_ms;
  const long long now_s = now_ms / 1000;
  std::vector<JobInfo> out;
  for (std::size_t j = 0; j < ids.size(); ++j) {
    const std::string& id = ids[j];
    const Reply* r = &(*replies)[1 + k_per_job * j];
    auto f = hash_of(r[0]);
    JobInfo info;
    info.id = id;
    // What Redis holds is read as untrusted: a job whose keys cannot be read is listed as broken
    // beside the others, saying why, never an error that hides them.
    if (!r[0].ok() || !r[1].ok()) {
      info.problem = fmt::format("{}: {}", !r[0].ok() ? m_keys.job(id) : m_keys.stats(id),
                                 !r[0].ok() ? r[0].str : r[1].str);
    } else if (f.empty()) {
      info.missing = true;
      info.problem =
          fmt::format("{} is missing, yet the job is listed in {}", m_keys.job(id), m_keys.jobs());
    }
    auto options = job_options(f);
    info.name = f["name"];
    info.state = f["state"];
    info.created_ms = to_number(f["created_ms"]);
    if (!info.problem.empty()) {
      // said above
    } else if (!f["broken"].empty()) {
      info.problem = f["broken"];  // as the scripts found it (prelude.lua's job_fault)
    } else if (!options) {
      info.problem = options.error().message;
    } else if (auto filter = policy::LinkFilter::create(*options, {}); !filter) {
      info.problem = filter.error().message;  // an allow or deny pattern that does not compile
    } else {
      info.options = std::move(*options);
    }
    info.submitting = to_number(f["submitting"]) > 0;
    info.seeds_version = to_number(f["seeds_version"]);
    info.submitter_alive = r[3].integer == 1;
    info.records_waiting = r[5].ok() ? r[5].integer : 0;  // another type: the job is broken
    info.records_home = f["records_home"];
    for (auto& [k, v] : hash_of(r[1])) {
      long long n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || v.empty()) {
        if (info.problem.empty())
          info.problem = fmt::format("counter {} of {} is not a whole number", k, m_keys.stats(id));
        continue;
      }
      info.stats[k] = n;
    }
    if (const auto& s = r[4].elements; s.size() == 5) {
      info.sites.queued = s[0].integer;
      info.sites.ready = s[1].integer;
      info.sites.waiting = s[2].integer - s[1].integer;
      info.sites.for_slot = s[3].integer;
      info.sites.backing_off = s[4].integer;
    }
    // The pages-per-second ring (complete.lua): the last 60 whole seconds; for a job younger
    // than a minute, every page since its creation, over its age to the millisecond.
    auto rate = hash_of(r[2]);
    info.pages_recorded = to_number(rate["pages"]);
    info.last_page_ms = to_number(rate["last_ms"]);
    if (now_ms > 0 && info.created_ms > 0 && now_ms - info.created_ms < 60'000) {
      info.recent_pages = info.pages_recorded;
      info.recent_seconds =
          static_cast<double>(std::max<long long>(1, now_ms - info.created_ms)) / 1000.0;
    } else if (!rate.empty() && now_s > 0) {
      info.recent_seconds = 60;
      for (int slot = 0; slot < 64; ++slot) {
        const long long second = to_number(rate["t" + std::to_string(slot)]);
        if (second >= now_s - 60 && second < now_s)
          info.recent_pages += to_number(rate["c" + std::to_string(slot)]);
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<JobChange> Jobs::control(const std::string& job, JobAction action) {
  const char* name = action == JobAction::pause    ? "pause"
                     : action == JobAction::resume ? "resume"
                                                   : "cancel";
  JobChange change;
  while (true) {
    auto r = m_redis.script(scripts::control,
                            {m_keys.prefix, job, name, std::to_string(k_cancel_chunk)});
    if (!r) return fail(r.error());
    if (!r->ok() && r->str.starts_with("no job"))
      return fail(ErrorKind::not_found, "no job '{}'", job);
    if (!r->ok() || r->elements.size() != 3)
      return fail(ErrorKind::remote, "{} job {}: {}", name, job, r->str);
    change.state = r->elements[0].str;
    change.moved += r->elements[1].integer;
    if (r->elements[2].integer == 0) break;  // nothing more to drop
  }
  if (action != JobAction::cancel || change.state != "cancelled") return change;
  // The job's entries waiting for a retry, in chunks.
  long long rank = 0;
  while (rank >= 0) {
    auto r = m_redis.script(scripts::sweep,
                            {m_keys.prefix, std::to_string(k_cancel_chunk), std::to_string(rank)});
    if (!r) return fail(r.error());
    if (!r->ok() || r->elements.size() != 3)
      return fail(ErrorKind::remote, "{} job {}: {}", name, job, r->str);
    change.moved += r->elements[1].integer;
    rank = r->elements[2].integer;
  }
  return change;
}

Result<std::vector<JobState>> Jobs::states(const std::vector<std::string>& ids) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& id : ids)
    commands.push_back({"HMGET", m_keys.job(id), "state", "seeds_version"});
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  std::vector<JobState> out;
  for (const Reply& r : *replies) {
    JobState s;
    s.state = r.elements.size() == 2 && r.elements[0].type == Reply::Type::string
                  ? r.elements[0].str
                  : "gone";
    if (r.elements.size() == 2) s.seeds_version = to_number(r.elements[1].str);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> Jobs::seed_authorities(const std::string& job) {
  auto r = m_redis.command({"SMEMBERS", m_keys.seeds(job)});
  if (!r) return fail(r.error());
  return strings_of(*r);
}

Result<std::vector<std::string>> Jobs::ids() {
  auto r = m_redis.command({"ZRANGE", m_keys.jobs(), "0", "-1"});
  if (!r) return fail(r.error());
  return strings_of(*r);
}

Result<bool> Jobs::notification(const std::string& job, const std::string& event, Notice step,
                                const std::string& owner, std::chrono::milliseconds lease) {
  const char* action = step == Notice::claim ? "claim" : step == Notice::sent ? "sent" : "failed";
  auto r = m_redis.script(
      scripts::notify, {m_keys.prefix, job, event, action, owner, std::to_string(lease.count())});
  if (!r) return fail(r.error());
  if (r->type != Reply::Type::integer)
    return fail(ErrorKind::remote, "notification of job {}: {}", job, r->str);
  return r->integer == 1;
}

Result<std::vector<std::string>> Jobs::results(const std::string& job, std::string& cursor,
                                               std::size_t count) {
  auto r = m_redis.command({"HSCAN", m_keys.results(job), cursor, "COUNT", std::to_string(count)});
  if (!r) return fail(r.error());
  if (!r->ok() || r->elements.size() != 2)
    return fail(ErrorKind::remote, "reading results of job {}: {}", job, r->str);
  cursor = r->elements[0].str;
  std::vector<std::string> records;
  auto& pairs = r->elements[1].elements;
  records.reserve(pairs.size() / 2);
  for (std::size_t i = 1; i < pairs.size(); i += 2) records.push_back(std::move(pairs[i].str));
  return records;
}

}  // namespace crawl::queue
