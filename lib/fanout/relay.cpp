#include "fanout/relay.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace crawl::fanout {
namespace {

void wipe(std::string& secret) {
  std::fill(secret.begin(), secret.end(), '\0');
}

}  // namespace

std::size_t relays_first(std::vector<config::Host>& hosts) {
  std::vector<std::string> groups;  // in the order they first appear
  for (const auto& host : hosts)
    if (host.transport == config::Transport::ssh &&
        std::find(groups.begin(), groups.end(), host.group) == groups.end())
      groups.push_back(host.group);
  std::vector<config::Host> relays, rest;
  for (const auto& group : groups) {
    const auto in_group = [&](const config::Host& h) {
      return h.transport == config::Transport::ssh && h.group == group;
    };
    if (std::count_if(hosts.begin(), hosts.end(), in_group) < 2) continue;
    relays.push_back(*std::find_if(hosts.begin(), hosts.end(), in_group));
  }
  for (auto& host : hosts) {
    const bool relay = std::any_of(relays.begin(), relays.end(),
                                   [&](const config::Host& r) { return r.name == host.name; });
    if (!relay) rest.push_back(std::move(host));
  }
  const std::size_t count = relays.size();
  hosts = std::move(relays);
  hosts.insert(hosts.end(), std::make_move_iterator(rest.begin()),
               std::make_move_iterator(rest.end()));
  return count;
}

Relays::Relays(const std::vector<config::Host>& hosts, std::size_t relays, RemoteFactory connect,
               const NewKey& new_key, std::string deploy_id, Clock::time_point deadline)
    : m_connect(std::move(connect)), m_deploy_id(std::move(deploy_id)), m_deadline(deadline) {
  for (std::size_t i = 0; i < std::min(relays, hosts.size()); ++i) {
    m_relays.push_back(std::make_unique<Relay>());
    m_relays.back()->host = hosts[i];
    m_relays.back()->key = new_key();
  }
  for (const auto& host : hosts)
    if (Relay* r = find(host);
        r && r->host.name != host.name && host.transport == config::Transport::ssh)
      ++r->peers;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(
      std::min(deadline - Clock::now(), Clock::duration(std::chrono::hours(24 * 365))));
  const auto until = std::chrono::system_clock::now() + left + std::chrono::minutes(1);
  m_until = std::chrono::duration_cast<std::chrono::seconds>(until.time_since_epoch()).count();
}

Relays::~Relays() {
  for (auto& opening : m_opening) opening.join();
  for (auto& relay : m_relays)
    if (relay->key) wipe(relay->key->private_key);
}

Relays::Relay* Relays::find(const config::Host& host) const {
  for (const auto& relay : m_relays)
    if (relay->host.group == host.group) return relay.get();
  return nullptr;
}

const config::Host* Relays::relay_of(const config::Host& host) const {
  const Relay* relay = find(host);
  if (!relay || relay->host.name == host.name || host.transport != config::Transport::ssh)
    return nullptr;
  return &relay->host;
}

void Relays::mark(const config::Host& host, bool Relay::*flag) {
  Relay* r = find(host);
  if (!r || r->host.name != host.name) return;
  {
    std::lock_guard lock(m_lock);
    r->*flag = true;
  }
  m_freed.notify_all();
}

void Relays::binary_ready(const config::Host& relay) {
  mark(relay, &Relay::ready);
}

void Relays::ended(const config::Host& host) {
  mark(host, &Relay::ended);
}

void Relays::prepare(const config::Host& relay) {
  Relay* r = find(relay);
  if (!r || !r->key) return;
  std::lock_guard lock(m_lock);
  if ((r->ended && !r->ready) || r->open >= std::min(r->peers, k_sessions_per_relay)) return;
  ++r->open;
  ++r->opening;
  m_opening.emplace_back([this, r] {
    auto session = m_connect(r->host);
    const auto connected =
        session->connect(std::min(m_deadline, Clock::now() + r->host.connect_timeout));
    {
      std::lock_guard opened(m_lock);
      --r->opening;
    }
    give_back(*r, connected ? std::move(session) : nullptr);
  });
}

std::string Relays::no_key(const config::Host& relay) const {
  const Relay* r = find(relay);
  if (!r) return relay.name + " is not a relay";
  return r->key ? "" : "no key for the relay " + relay.name + ": " + r->key.error().message;
}

std::string Relays::wait(const config::Host& relay, Clock::time_point deadline) const {
  const Relay* r = find(relay);
  if (!r) return relay.name + " is not a relay";
  std::unique_lock lock(m_lock);
  if (!m_freed.wait_until(lock, deadline, [&] { return r->ready || r->ended; }))
    return "the relay " + relay.name + " did not have the binary by the deadline";
  return r->ready ? "" : "the relay " + relay.name + " did not deploy";
}

deploy::RelayGrant Relays::grant(const config::Host& relay, const config::Host& host) const {
  const Relay* r = find(relay);
  return deploy::RelayGrant{r && r->key ? r->key->public_key : "",
                            deploy::relay_tag(m_deploy_id, host.name), m_until};
}

std::unique_ptr<Remote> Relays::session(Relay& r, bool& reuse, Clock::time_point deadline,
                                        Failure& failure) {
  {
    std::unique_lock lock(m_lock);
    // A session being opened in the background is waited for rather than one more opened.
    const bool free = m_freed.wait_until(lock, deadline, [&] {
      if (reuse && !r.idle.empty()) return true;
      return (!reuse || r.opening == 0) && r.open < k_sessions_per_relay;
    });
    if (!free) {
      failure = Failure{Outcome::timeout, "relay",
                        fmt::format("no session to the relay {} came free", r.host.name)};
      return nullptr;
    }
    if (reuse && !r.idle.empty()) {
      auto session = std::move(r.idle.back());
      r.idle.pop_back();
      return session;
    }
    reuse = false;
    ++r.open;
  }
  auto session = m_connect(r.host);
  auto connected = session->connect(std::min(deadline, Clock::now() + r.host.connect_timeout));
  if (connected) return session;
  failure = Failure{
      connected.error().kind, "relay",
      fmt::format("connecting to the relay {}: {}", r.host.name, connected.error().message)};
  give_back(r, nullptr);
  return nullptr;
}

void Relays::give_back(Relay& r, std::unique_ptr<Remote> session) {
  {
    std::lock_guard lock(m_lock);
    if (session)
      r.idle.push_back(std::move(session));
    else
      --r.open;
  }
  m_freed.notify_all();
}

Expected<void> Relays::pass_on(const config::Host& relay, const deploy::SshEndpoint& peer,
                               Clock::time_point deadline) {
  Relay* r = find(relay);
  if (!r || !r->key) return failure(Outcome::step_failed, "relay", no_key(relay));
  deploy::Step step = deploy::relay_step(r->host, peer, r->key->private_key);
  Expected<ExecResult> ran = failure(Outcome::step_failed, "relay", "not run");
  // A session kept idle may have been closed meanwhile (the relay's sshd restarted): then once
  // more, on a new one. Not after a timeout, which a new session would only wait out again.
  for (const bool again : {false, true}) {
    bool reuse = !again;
    Failure why;
    auto s = session(*r, reuse, deadline, why);
    if (!s) {
      wipe(step.input);
      return tl::unexpected(why);
    }
    ran = s->exec(step.command, step.input,
                  std::min(deadline, Clock::now() + r->host.command_timeout));
    give_back(*r, ran ? std::move(s) : nullptr);
    if (ran || !reuse || ran.error().kind != Outcome::unreachable) break;
  }
  wipe(step.input);
  if (!ran)
    return failure(ran.error().kind, "relay",
                   fmt::format("the relay {}: {}", r->host.name, ran.error().message));
  if (ran->status != 0) {
    std::string err = ran->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    if (err.size() > 1000) err = "..." + err.substr(err.size() - 1000);
    return failure(Outcome::step_failed, "relay",
                   fmt::format("the relay {} could not pass the binary on (exit status {}){}{}",
                               r->host.name, ran->status, err.empty() ? "" : ": ", err));
  }
  return {};
}

}  // namespace crawl::fanout
