#pragma once
// The Redis connections of `crawlctl serve`: one per request being served at once, opened as
// every crawlctl command opens its own (--redis, $CRAWL_REDIS_URL, the hosts file, Sentinels),
// kept for the next request while they work, dropped once one fails. With Redis down, a
// request is told so at once for a second after a failed attempt, instead of each waiting out
// its own connect. With Sentinels, a connection is checked every 10 s against the primary a
// majority of them names, and all are dropped when it moved.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "queue/queue.hpp"

namespace crawl::service {

class Connections {
 public:
  using Open = std::function<Result<queue::Queue>()>;
  using Clock = std::chrono::steady_clock;

  // Keeps at most `keep` idle connections.
  explicit Connections(Open open, std::size_t keep = 16);

  // A connection for one request, given back when the lease ends (unless it broke).
  class Lease {
   public:
    Lease(Connections* owner, std::unique_ptr<queue::Queue> queue, std::uint64_t generation)
        : m_owner(owner), m_queue(std::move(queue)), m_generation(generation) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = default;
    ~Lease();
    queue::Queue& operator*() { return *m_queue; }
    queue::Queue* operator->() { return m_queue.get(); }

   private:
    Connections* m_owner;
    std::unique_ptr<queue::Queue> m_queue;
    std::uint64_t m_generation;
  };

  // A connection error (ErrorKind::connection) when Redis cannot be reached.
  Result<Lease> take();

 private:
  void give_back(std::unique_ptr<queue::Queue> queue, std::uint64_t generation);
  // With Sentinels, every 10 s: true when a majority names another primary than `queue`'s.
  bool primary_moved(queue::Queue& queue);

  Open m_open;
  std::size_t m_keep;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<queue::Queue>> m_idle;
  Clock::time_point m_down_until{};  // after a failed open: fail at once until then
  Error m_down;
  std::mutex m_check_mutex;  // one check at a time, outside m_mutex
  queue::PrimaryCheck m_check;
  std::uint64_t m_generation = 0;  // moves when every connection is dropped (a failover)
};

}  // namespace crawl::service
