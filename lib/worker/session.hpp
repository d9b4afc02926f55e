#pragma once
// A worker's connection to Redis over its whole life: connected with back-off while Redis is
// away, dropped when a call loses it or when the Sentinels name another primary, and the log
// lines of failed calls kept few. What the worker does on a (re)connection is its own.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "queue/queue.hpp"

namespace crawl::worker {

class RedisSession {
 public:
  RedisSession(queue::RedisUrl url, queue::Durability durability, std::string key_prefix)
      : m_url(std::move(url)), m_durability(durability), m_prefix(std::move(key_prefix)) {}

  // The connection, or nullptr while there is none.
  queue::Queue* queue() { return m_queue ? &*m_queue : nullptr; }
  bool connected() const { return m_queue.has_value(); }

  // Connects when there is no connection and the back-off allows; true when a connection was
  // just made (false: connected already, not yet time, or Redis is still away).
  bool connect(std::int64_t now_ms);
  // When connect() may try next; -1 while connected (nothing to do).
  std::int64_t connect_at() const { return m_queue ? -1 : m_next_connect_ms; }

  // With Sentinels, at most every 10 s: does a majority still name the server reached? If not,
  // the connection is dropped (the next connect() finds the primary they name) and false is
  // returned.
  bool primary_holds(std::int64_t now_ms);

  // True when `r` holds a value. Otherwise the failure is logged, at most one line per kind of
  // call (`what`) every 10 s with how many were not logged, so a Redis answering every call
  // with an error cannot flood the log; a lost connection is dropped, to be made again. An
  // error Redis answered with leaves the connection as it is: each caller waits before it
  // tries again.
  template <class T>
  bool ok(const Result<T>& r, std::string_view what) {
    if (r) return true;
    failed(r.error(), what);
    return false;
  }

 private:
  void failed(const Error& error, std::string_view what);
  // Sentinels that do not name the primary the others name (down, stale, or someone else's),
  // logged when what they say changes.
  void note_dissent(const std::vector<std::string>& dissent);

  queue::RedisUrl m_url;
  queue::Durability m_durability;
  std::string m_prefix;
  std::optional<queue::Queue> m_queue;
  std::string m_server;                 // the server the last connection reached (host:port)
  queue::PrimaryCheck m_primary_check;  // does a majority of the Sentinels still name m_server?
  std::vector<std::string> m_dissent;   // as last logged
  std::chrono::milliseconds m_backoff{100};
  std::int64_t m_next_connect_ms = 0;
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>, std::less<>>
      m_error_log;  // next, unlogged
};

}  // namespace crawl::worker
