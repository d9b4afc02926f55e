#pragma once
// The shell scripts the deploy runs on remote hosts (lib/deploy/sh/*.sh, POSIX sh, embedded at
// build time). Each opens with what it does, the variables crawlctl sets before it ("crawlctl
// sets:") and the script it comes after ("after:"); scripts/check-shell.sh runs shellcheck on
// each as it is sent.

#include <string_view>

namespace crawl::deploy::sh {

extern const std::string_view prelude;    // sh/prelude.sh: alive, stop_workers, indices
extern const std::string_view activate;   // sh/activate.sh
extern const std::string_view stop;       // sh/stop.sh
extern const std::string_view inspect;    // sh/inspect.sh
extern const std::string_view logs;       // sh/logs.sh
extern const std::string_view authorize;  // sh/authorize.sh
extern const std::string_view relay;      // sh/relay.sh
extern const std::string_view collect;    // sh/collect.sh

}  // namespace crawl::deploy::sh
