#pragma once
// deploy --relay: fleets in a few regions. Per group of hosts, one host (the relay) gets the
// binary from crawlctl and passes it on to the others of its group over their own network, so
// crawlctl's uplink carries one copy per group. The relay reaches them with a key made for it
// for this deploy, which each of them authorises for receiving that one file until the deploy's
// deadline and removes again (deploy::authorize_step); every host checks the binary's sha256 as
// for any upload. The trust model is in docs/operations.md.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "deploy/plan.hpp"
#include "fanout/remote.hpp"

namespace crawl::fanout {

// Moves each group's relay to the front of `hosts`, in the order the groups first appear, and
// returns how many there are: the first host reached over SSH of each group that has two or more
// such hosts (the hosts listed outside any group count as one group).
std::size_t relays_first(std::vector<config::Host>& hosts);

// A key made for one relay for one run, in OpenSSH's texts: the private key file's and the
// public key's ("ssh-ed25519 AAAA...", without a comment).
struct KeyPair {
  std::string private_key;
  std::string public_key;
};
using NewKey = std::function<Result<KeyPair>()>;

class Relays {
 public:
  // At most this many sessions to one relay at once; the hosts of its group wait for one.
  static constexpr std::size_t k_sessions_per_relay = 8;

  // The first `relays` of `hosts` are the relays (relays_first() put them there); `connect`
  // opens the sessions to them, `new_key` makes each one's key. Its hosts authorise it until
  // `deadline` (and a minute more, for clocks that differ), under tags
  // deploy::relay_tag(deploy_id, host).
  Relays(const std::vector<config::Host>& hosts, std::size_t relays, RemoteFactory connect,
         const NewKey& new_key, std::string deploy_id, Clock::time_point deadline);
  ~Relays();
  Relays(const Relays&) = delete;
  Relays& operator=(const Relays&) = delete;

  // The relay of `host`'s group; null when it has none or is one itself.
  const config::Host* relay_of(const config::Host& host) const;
  // The relay has the release's binary (its deploy goes on to verify its workers): from now on
  // it passes it on.
  void binary_ready(const config::Host& relay);
  // A host's deploy ended (fanout::PoolOptions::on_done): a relay that never got the binary
  // will not, and the hosts waiting for it go on without it.
  void ended(const config::Host& host);
  // A host of `relay`'s group will want it to pass the binary on: one more session to it is
  // opened in the background (while the host authorises the key), up to one per host of the
  // group and k_sessions_per_relay.
  void prepare(const config::Host& relay);
  // Why `relay` cannot pass the binary on whatever happens (it has no key), or "".
  std::string no_key(const config::Host& relay) const;
  // Waits until `relay` has the binary ("") or its deploy ended without it, or `deadline`
  // (why not). The relays come first in the hosts' order, so each was started before any host
  // that waits for it.
  std::string wait(const config::Host& relay, Clock::time_point deadline) const;

  // What `host` authorises for its relay: the relay's public key, the host's tag, the expiry.
  deploy::RelayGrant grant(const config::Host& relay, const config::Host& host) const;
  // Has `relay` send its binary to `peer` (deploy::relay_step) over a session kept open to it
  // (a new one when none is free and fewer than k_sessions_per_relay are open; a reused one that
  // turns out to be dead is replaced once). Fails with what the relay said (its ssh's error).
  Expected<void> pass_on(const config::Host& relay, const deploy::SshEndpoint& peer,
                         Clock::time_point deadline);

 private:
  struct Relay {
    config::Host host;
    Result<KeyPair> key;
    bool ready = false;                         // it has the binary
    bool ended = false;                         // its deploy ended
    std::vector<std::unique_ptr<Remote>> idle;  // sessions between two pass_on
    std::size_t open = 0;                       // sessions idle, in use or being opened
    std::size_t opening = 0;                    // of which prepare() is opening in the background
    std::size_t peers = 0;                      // the other hosts over SSH of its group
  };
  Relay* find(const config::Host& host) const;
  // Sets `flag` of `host`'s Relay when `host` is a relay, and wakes whoever waits on it.
  void mark(const config::Host& host, bool Relay::*flag);
  // A session to `r`, an idle one if `reuse` (left true only if it was one); null with
  // `failure` set when none could be had.
  std::unique_ptr<Remote> session(Relay& r, bool& reuse, Clock::time_point deadline,
                                  Failure& failure);
  void give_back(Relay& r, std::unique_ptr<Remote> session);

  std::vector<std::unique_ptr<Relay>> m_relays;
  RemoteFactory m_connect;
  std::string m_deploy_id;
  Clock::time_point m_deadline;
  std::int64_t m_until = 0;
  mutable std::mutex m_lock;  // guards every Relay's state and sessions, and m_opening
  mutable std::condition_variable m_freed;  // a session was given back, or a relay's state changed
  std::vector<std::thread> m_opening;       // the background connects prepare() starts
};

}  // namespace crawl::fanout
