#include "config/select.hpp"

#include <string>
#include <unordered_map>

#include <fmt/format.h>
#include <fnmatch.h>

#include "config/host_range.hpp"
#include "core/suggest.hpp"

namespace crawl::config {

namespace {

bool glob_match(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// Marks in `hit` the hosts that one term (without its ! or & prefix) matches. Returns an error
// message for a range that names hosts only in part.
std::string match_term(const Inventory& inventory, const std::string& term,
                       std::vector<bool>& hit) {
  const auto& hosts = inventory.hosts;
  if (term == "all" || term == "*") {
    hit.assign(hosts.size(), true);
    return {};
  }
  if (const auto eq = term.find('='); eq != std::string::npos) {
    const std::string key = term.substr(0, eq), value = term.substr(eq + 1);
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      auto it = hosts[i].labels.find(key);
      if (it != hosts[i].labels.end() && glob_match(value, it->second)) hit[i] = true;
    }
    return {};
  }
  if (const Group* group = inventory.find_group(term)) {
    for (std::size_t i : group->hosts) hit[i] = true;
    return {};
  }
  // Brackets are a host range first ("crawl[01-05]"): every name it expands to must be a host,
  // so a typo cannot quietly shrink the selection. When it names no host at all, the brackets
  // are a glob character class ("crawl0[14]" = crawl01 and crawl04).
  if (has_range(term))
    if (auto names = expand_range(term, k_max_hosts)) {
      std::unordered_map<std::string_view, std::size_t> index;
      for (std::size_t i = 0; i < hosts.size(); ++i) index.emplace(hosts[i].name, i);
      std::vector<std::string> missing;
      for (const auto& name : *names) {
        auto it = index.find(name);
        if (it == index.end())
          missing.push_back(name);
        else
          hit[it->second] = true;
      }
      if (missing.size() < names->size() && !missing.empty()) {
        if (missing.size() > 3) missing.resize(3), missing.push_back("...");
        return fmt::format("'{}' names hosts that do not exist: {}", term,
                           fmt::join(missing, ", "));
      }
      if (missing.empty()) return {};
    }
  for (std::size_t i = 0; i < hosts.size(); ++i)
    if (glob_match(term, hosts[i].name)) hit[i] = true;
  return {};
}

std::vector<std::string_view> known_names(const Inventory& inventory) {
  std::vector<std::string_view> names;
  for (const auto& h : inventory.hosts) names.push_back(h.name);
  for (const auto& g : inventory.groups) names.push_back(g.name);
  return names;
}

}  // namespace

Result<std::vector<std::size_t>> select_hosts(const Inventory& inventory, std::string_view limit) {
  const std::size_t n = inventory.hosts.size();
  std::vector<bool> plus(n, false), keep(n, true), minus(n, false);
  bool any_plain = false;
  std::size_t start = 0;
  while (start <= limit.size()) {
    std::size_t comma = limit.find(',', start);
    if (comma == std::string_view::npos) comma = limit.size();
    std::string term(limit.substr(start, comma - start));
    start = comma + 1;
    while (!term.empty() && term.front() == ' ') term.erase(0, 1);
    while (!term.empty() && term.back() == ' ') term.pop_back();
    if (term.empty()) continue;

    const char op = term[0] == '!' || term[0] == '&' ? term[0] : '+';
    const std::string body = op == '+' ? term : term.substr(1);
    if (body.empty()) return fail("--limit: '{}' needs a host, group or label after it", term);
    std::vector<bool> hit(n, false);
    if (const std::string problem = match_term(inventory, body, hit); !problem.empty())
      return fail("--limit: {}", problem);
    if (std::find(hit.begin(), hit.end(), true) == hit.end()) {
      return fail("--limit: '{}' matches no host, group or label{}", body,
                  body.find('=') == std::string::npos ? did_you_mean(body, known_names(inventory))
                                                      : std::string());
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (op == '+') plus[i] = plus[i] || hit[i];
      if (op == '&') keep[i] = keep[i] && hit[i];
      if (op == '!') minus[i] = minus[i] || hit[i];
    }
    any_plain = any_plain || op == '+';
  }
  std::vector<std::size_t> selected;
  for (std::size_t i = 0; i < n; ++i)
    if ((plus[i] || !any_plain) && keep[i] && !minus[i]) selected.push_back(i);
  if (selected.empty()) {
    if (n == 0) return fail("{} defines no hosts", inventory.source);
    return fail("--limit '{}' selects no host", limit);
  }
  return selected;
}

}  // namespace crawl::config
