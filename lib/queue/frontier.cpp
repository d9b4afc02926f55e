#include "queue/frontier.hpp"

#include <fmt/format.h>

#include "queue/replies.hpp"
#include "queue/scripts.hpp"
#include "url/url.hpp"

namespace crawl::queue {

namespace {

std::string_view kind_name(PageOutcome::Kind kind) {
  switch (kind) {
    case PageOutcome::Kind::done:
      return "done";
    case PageOutcome::Kind::failed:
      return "failed";
    case PageOutcome::Kind::filtered:
      return "filtered";
    case PageOutcome::Kind::retry:
      return "retry";
    case PageOutcome::Kind::requeue:
      return "requeue";
    case PageOutcome::Kind::release:
      return "release";
    case PageOutcome::Kind::defer:
      return "defer";
    case PageOutcome::Kind::cancel:
      return "cancel";
  }
  return "?";
}

}  // namespace

Result<Claim> Frontier::claim(const std::string& worker, std::size_t n) {
  auto r = m_redis.script(scripts::claim, {m_keys.prefix, worker, std::to_string(n)});
  if (!r) return fail(r.error());
  if (!r->ok() || r->elements.size() != 5) return fail(ErrorKind::remote, "claim: {}", r->str);
  Claim c;
  const auto& flags = r->elements[1].elements;
  for (auto& [i, entry] : read_leased(worker, r->elements[0].elements, c.dead_lettered)) {
    c.entries.push_back(std::move(entry));
    const std::string flag = i < flags.size() ? flags[i].str : "";
    c.gone.push_back(flag.starts_with("gone:") ? flag.substr(5) : "");
  }
  const long long next = r->elements[2].integer, now = r->elements[4].integer;
  c.next_in_ms = next < 0 ? -1 : std::max<long long>(0, next - now);
  c.dead_lettered += r->elements[3].integer;
  return c;
}

Result<Completed> Frontier::complete(const std::string& worker,
                                     const std::vector<PageOutcome>& pages) {
  if (pages.empty()) return Completed{};
  std::vector<std::string> args{m_keys.prefix, worker};
  for (const PageOutcome& p : pages) {
    Entry next = p.entry;
    if (p.kind == PageOutcome::Kind::retry || p.kind == PageOutcome::Kind::requeue) ++next.attempt;
    const bool moves = p.kind == PageOutcome::Kind::retry || p.kind == PageOutcome::Kind::requeue ||
                       p.kind == PageOutcome::Kind::defer;
    args.push_back(encode(p.entry));
    args.push_back(std::string(kind_name(p.kind)));
    args.push_back(p.reason);
    args.push_back(p.entry.url);
    args.push_back(p.record_json);
    args.push_back(std::to_string(p.bytes));
    args.push_back(moves ? encode(next) : std::string());
    args.push_back(std::to_string(p.retry_in.count()));
    args.push_back(std::to_string(p.entry.depth + 1));
    args.push_back(p.site == PageOutcome::Site::failed     ? "1"
                   : p.site == PageOutcome::Site::answered ? "0"
                                                           : "");
    args.push_back(std::to_string(p.site_backoff.count()));
    args.push_back(std::to_string(p.links_dropped));
    args.push_back(std::to_string(p.images_dropped));
    if (p.moved_to) {
      const Link& m = *p.moved_to;
      args.push_back(
          fingerprint_bytes(m.fingerprint != 0 ? m.fingerprint : url::fingerprint(m.url)));
      args.push_back(m.url);
      args.push_back(m.drop);
    } else {
      args.insert(args.end(), {"", "", ""});
    }
    args.push_back(p.parse_cut);
    args.push_back(std::to_string(p.links.size()));
    for (const Link& link : p.links) {
      args.push_back(
          fingerprint_bytes(link.fingerprint != 0 ? link.fingerprint : url::fingerprint(link.url)));
      args.push_back(link.url);
      args.push_back(link.drop);
    }
  }
  auto r = m_redis.script(scripts::complete, args);
  if (!r) return fail(r.error());
  if (!r->ok() || r->elements.size() != 2)
    return fail(ErrorKind::remote, "recording outcomes: {}", r->str);
  // Records cannot be redone once their leases are gone: with replicas asked for, they count
  // as recorded once the replicas have them (else they are sent again, and a second sending
  // finds their leases gone and changes nothing).
  if (auto confirmed = m_redis.confirm_writes(); !confirmed)
    return fail(ErrorKind::remote, "recording outcomes: {}", confirmed.error().message);
  return Completed{static_cast<std::uint64_t>(r->elements[0].integer),
                   static_cast<std::uint64_t>(r->elements[1].integer)};
}

Result<long long> Frontier::reap(const std::string& worker, Reap mode) {
  auto r =
      m_redis.script(scripts::reap, {m_keys.prefix, worker, mode == Reap::even_alive ? "1" : "0"});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(ErrorKind::remote, "reaping worker {}: {}", worker, r->str);
  return r->integer;
}

Result<std::vector<Entry>> Frontier::leased(const std::string& worker) {
  auto r = m_redis.command({"LRANGE", m_keys.inflight(worker), "0", "-1"});
  if (!r) return fail(r.error());
  long long refused = 0;
  std::vector<Entry> entries;
  for (auto& [i, entry] : read_leased(worker, r->elements, refused))
    entries.push_back(std::move(entry));
  return entries;
}

// The entries leased to `worker`, decoded, each with its place in `leased`. Those queue::decode
// refuses (past the scripts' pattern, not in the normal form) go out of the worker's hands into
// the dead letters, counted in `refused`; a refusal that fails leaves them leased, for the next
// reconciliation: the entries read go ahead either way.
std::vector<std::pair<std::size_t, Entry>> Frontier::read_leased(const std::string& worker,
                                                                 const std::vector<Reply>& leased,
                                                                 long long& refused) {
  std::vector<std::pair<std::size_t, Entry>> out;
  std::vector<std::string> args{m_keys.prefix, worker};
  for (std::size_t i = 0; i < leased.size(); ++i) {
    if (auto entry = decode(leased[i].str))
      out.emplace_back(i, std::move(*entry));
    else
      args.push_back(leased[i].str);
  }
  if (args.size() > 2)
    if (auto moved = m_redis.script(scripts::refuse, args);
        moved && moved->type == Reply::Type::integer)
      refused += moved->integer;
  return out;
}

Result<bool> Frontier::wait_for_work(std::chrono::milliseconds timeout) {
  const double seconds = static_cast<double>(timeout.count()) / 1000.0;
  auto r = m_redis.command({"BLPOP", m_keys.wake(), fmt::format("{:.3f}", seconds)});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(ErrorKind::remote, "waiting for work on {}: {}", m_keys.wake(), r->str);
  return r->type == Reply::Type::array && !r->elements.empty();
}

Result<std::chrono::milliseconds> Frontier::site_start(const std::string& job,
                                                       const std::string& site) {
  auto r = m_redis.script(scripts::site_start, {m_keys.prefix, job, site});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(ErrorKind::remote, "politeness for {}: {}", site, r->str);
  return std::chrono::milliseconds(r->integer);
}

Result<std::chrono::milliseconds> Frontier::site_failed(const std::string& site,
                                                        const std::string& reason,
                                                        std::chrono::milliseconds backoff) {
  auto r = m_redis.script(scripts::site_failed,
                          {m_keys.prefix, site, reason, std::to_string(backoff.count())});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail(ErrorKind::remote, "backing {} off: {}", site, r->str);
  return std::chrono::milliseconds(r->integer);
}

Result<long long> Frontier::dead_letters() {
  auto r = m_redis.command({"GET", m_keys.dead_letters()});
  if (!r) return fail(r.error());
  return r->type == Reply::Type::string ? to_number(r->str) : 0;
}

Result<std::vector<std::string>> Frontier::dead_letter_sample(std::size_t n) {
  auto r = m_redis.command(
      {"LRANGE", m_keys.dead_letter(), "0", std::to_string(static_cast<long long>(n) - 1)});
  if (!r) return fail(r.error());
  return strings_of(*r);
}

}  // namespace crawl::queue
