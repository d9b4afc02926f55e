#include "service/drainer.hpp"

#include <chrono>
#include <set>
#include <thread>

namespace crawl::service {

void drain_records(Connections& connections, const std::string& root,
                   const std::function<bool()>& done,
                   const std::function<void(const std::string&)>& say) {
  std::set<std::string> said;
  auto once = [&](const std::string& what) {
    if (said.insert(what).second) say(what);
  };
  while (!done()) {
    if (auto lease = connections.take(); !lease) {
      once(lease.error().message);
    } else if (auto pass = (*lease)->drain_records(root); !pass) {
      once(pass.error().message);
    } else {
      for (const auto& row : *pass)
        if (row.error) once(row.error->message);
    }
    for (int i = 0; i < 20 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace crawl::service
