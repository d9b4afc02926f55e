#pragma once
// The Lua scripts of the data model (lib/queue/lua/*.lua, each opening with what it reads,
// writes and returns), as sent to Redis: the shared prelude and the constants below come first.
// Each runs atomically, so a counter never moves without the entry it counts. Every script
// takes the key prefix as ARGV[1].

#include <string_view>

namespace crawl::queue::scripts {

// A submit in progress refreshes its job's submitter key with every batch (enqueue, load); silent
// this long, it is taken to have been cut short.
inline constexpr long long k_submitter_ttl_ms = 10'000;

extern const std::string_view claim;         // lua/claim.lua
extern const std::string_view complete;      // lua/complete.lua
extern const std::string_view refuse;        // lua/refuse.lua
extern const std::string_view enqueue;       // lua/enqueue.lua
extern const std::string_view load;          // lua/load.lua
extern const std::string_view loading;       // lua/loading.lua
extern const std::string_view reap;          // lua/reap.lua
extern const std::string_view control;       // lua/control.lua
extern const std::string_view sweep;         // lua/sweep.lua
extern const std::string_view site_start;    // lua/site_start.lua
extern const std::string_view site_failed;   // lua/site_failed.lua
extern const std::string_view begin_submit;  // lua/begin_submit.lua
extern const std::string_view end_submit;    // lua/end_submit.lua
extern const std::string_view job_sites;     // lua/job_sites.lua
extern const std::string_view notify;        // lua/notify.lua

}  // namespace crawl::queue::scripts
