#pragma once
// Scalar values an operator writes in hosts.yaml: durations and byte sizes with units
// (core/units.hpp), names and addresses.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/units.hpp"

namespace crawl::config {

using crawl::parse_duration;
using crawl::parse_size;

// SSH login names and addresses reach ssh_config expansion (%r, %h in a ProxyCommand or a
// Match exec, run by a shell on the controller), so only their name syntax is accepted, as
// OpenSSH 9.6 does (CVE-2023-51385). An empty result means valid; else what is wrong.
//   user:    letters, digits, '.', '_', '-', '@'; not starting with '-'; at most 64 characters
//   address: a DNS name (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address
//            (hex digits, ':', '.', and '%' with a zone such as eth0); not starting with '-';
//            at most 253 characters
std::string check_user_name(std::string_view user);
std::string check_address(std::string_view address);

// redis.url: redis://..., unix://... or sentinel://... (TLS is not supported);
// redis.key_prefix (and master_name): no spaces.
std::string check_redis_url(std::string_view url);
std::string check_key_prefix(std::string_view prefix);
// redis.master_name: letters, digits, '.', '-' and '_', as it goes into a sentinel:// URL.
std::string check_master_name(std::string_view name);
// "host:port" or "[v6]:port": an address as check_address accepts, and a port from 1 to 65535.
std::string check_host_port(std::string_view text);

}  // namespace crawl::config
