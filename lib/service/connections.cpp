#include "service/connections.hpp"

namespace crawl::service {

namespace {

constexpr auto k_down_for = std::chrono::seconds(1);

}  // namespace

Connections::Connections(Open open, std::size_t keep) : m_open(std::move(open)), m_keep(keep) {}

Connections::Lease::~Lease() {
  if (m_owner != nullptr && m_queue) m_owner->give_back(std::move(m_queue), m_generation);
}

bool Connections::primary_moved(queue::Queue& queue) {
  std::unique_lock lock(m_check_mutex, std::try_to_lock);
  if (!lock.owns_lock()) return false;  // another request is checking
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count();
  return queue.primary_moved(m_check, now).has_value();
}

Result<Connections::Lease> Connections::take() {
  std::unique_ptr<queue::Queue> queue;
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(m_mutex);
    generation = m_generation;
    if (!m_idle.empty()) {
      queue = std::move(m_idle.back());
      m_idle.pop_back();
    } else if (Clock::now() < m_down_until) {
      return fail(m_down);
    }
  }
  if (queue && primary_moved(*queue)) {
    std::lock_guard lock(m_mutex);
    m_idle.clear();
    generation = ++m_generation;
    queue.reset();
  }
  if (!queue) {
    auto opened = m_open();
    if (!opened) {
      std::lock_guard lock(m_mutex);
      m_down = Error{opened.error().message, ErrorKind::connection};
      m_down_until = Clock::now() + k_down_for;
      return fail(m_down);
    }
    queue = std::make_unique<queue::Queue>(std::move(*opened));
  }
  return Lease(this, std::move(queue), generation);
}

void Connections::give_back(std::unique_ptr<queue::Queue> queue, std::uint64_t generation) {
  std::lock_guard lock(m_mutex);
  if (!queue->connected()) {
    // Redis went away (restarted, failed over): the idle ones are most likely broken too. The
    // next request opens a new connection instead of finding that out.
    m_idle.clear();
    ++m_generation;
    return;
  }
  if (generation == m_generation && m_idle.size() < m_keep) m_idle.push_back(std::move(queue));
}

}  // namespace crawl::service
