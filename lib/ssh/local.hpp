#pragma once
// A Remote for `transport: local`: the same deploy steps run by this machine's /bin/sh in the
// home directory, with no SSH.

#include <memory>

#include "fanout/remote.hpp"

namespace crawl::ssh {

std::unique_ptr<fanout::Remote> local_remote(const config::Host& host);

}  // namespace crawl::ssh
