#pragma once
// serve's drainer: every job's records out of Redis into their homes on this machine
// (queue/records.hpp), a pass a second, on connections of serve's pool. While serve runs, Redis
// holds about a second of records.

#include <functional>
#include <string>

#include "service/connections.hpp"

namespace crawl::service {

// Runs until `done` returns true; each error is handed to `say` once (a job whose home is on
// another machine fails every pass).
void drain_records(Connections& connections, const std::string& root,
                   const std::function<bool()>& done,
                   const std::function<void(const std::string&)>& say);

}  // namespace crawl::service
