#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "config/inventory.hpp"
#include "core/result.hpp"

namespace crawl::config {

// Picks hosts with a --limit expression, as Ansible does: comma-separated terms, each
//   all | *                     every host
//   eu                          a group
//   crawl07.dc1, crawl0*        a host name, or a shell glob over host names
//   crawl[01-05].dc1            a host range, expanded as in hosts.yaml
//   region=eu, tier=b*          a label, the value possibly a glob
// A plain term adds its hosts; "&term" keeps only hosts the term also matches; "!term" removes
// its hosts. With no plain term the start is every host. An empty expression selects all.
// Returns indices into inventory.hosts in file order. A term that matches nothing is an error
// (a typo must not silently shrink a deploy), and so is an empty selection.
Result<std::vector<std::size_t>> select_hosts(const Inventory& inventory, std::string_view limit);

}  // namespace crawl::config
