#include "policy/scope.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <arpa/inet.h>
#include <libpsl.h>
#include <regex.h>

#include "url/url.hpp"

namespace crawl::policy {

std::string_view to_string(Scope scope) {
  switch (scope) {
    case Scope::host:
      return "host";
    case Scope::domain:
      return "domain";
    case Scope::any:
      return "any";
  }
  return "?";
}

bool parse_scope(std::string_view text, Scope& out) {
  for (Scope s : {Scope::host, Scope::domain, Scope::any})
    if (text == to_string(s)) {
      out = s;
      return true;
    }
  return false;
}

std::string_view to_string(Drop drop) {
  switch (drop) {
    case Drop::none:
      return "none";
    case Drop::offsite:
      return "offsite";
    case Drop::depth:
      return "depth";
    case Drop::denied:
      return "denied";
    case Drop::not_allowed:
      return "not_allowed";
    case Drop::trap_length:
      return "trap_length";
    case Drop::trap_repeat:
      return "trap_repeat";
  }
  return "?";
}

std::string registrable_domain(std::string_view host) {
  const std::string h(host);
  // libpsl would read 127.0.0.1 as a domain under "1" and answer "0.1".
  in_addr v4{};
  if (h.empty() || h.front() == '[' || h.find(':') != std::string::npos ||
      inet_pton(AF_INET, h.c_str(), &v4) == 1)
    return h;
  const char* domain = psl_registrable_domain(psl_builtin(), h.c_str());
  return domain != nullptr ? std::string(domain) : h;
}

bool repeats_segments(std::string_view path, int limit) {
  std::map<std::string_view, int> counts;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (!segment.empty() && ++counts[segment] >= limit) return true;
    start = end + 1;
  }
  return false;
}

namespace {

struct Regex {
  regex_t compiled;
  explicit Regex(const std::string& pattern, int& rc) {
    rc = regcomp(&compiled, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
  }
  ~Regex() { regfree(&compiled); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  bool search(const std::string& text) const {
    return regexec(&compiled, text.c_str(), 0, nullptr, 0) == 0;
  }
};

}  // namespace

struct LinkFilter::Impl {
  JobOptions options;
  std::set<std::string, std::less<>> scopes;  // hosts or registrable domains
  std::vector<std::unique_ptr<Regex>> allow, deny, strip;
  url::Rules rules;
};

LinkFilter::LinkFilter() : m_impl(std::make_unique<Impl>()) {}
LinkFilter::~LinkFilter() = default;
LinkFilter::LinkFilter(LinkFilter&&) noexcept = default;
LinkFilter& LinkFilter::operator=(LinkFilter&&) noexcept = default;

Result<LinkFilter> LinkFilter::create(const JobOptions& options,
                                      const std::vector<std::string>& authorities) {
  LinkFilter filter;
  Impl& impl = *filter.m_impl;
  impl.options = options;
  for (const auto& authority : authorities) {
    if (options.scope != Scope::domain) {
      impl.scopes.insert(authority);
      continue;
    }
    const std::string as_url = "http://" + authority + "/";
    impl.scopes.insert(registrable_domain(url::split(as_url).host));
  }
  for (auto* list : {&options.allow, &options.deny})
    for (const auto& pattern : *list) {
      int rc = 0;
      auto regex = std::make_unique<Regex>(pattern, rc);
      if (rc != 0) {
        char message[256];
        regerror(rc, &regex->compiled, message, sizeof message);
        return fail("bad pattern '{}': {}", pattern, message);
      }
      (list == &options.allow ? impl.allow : impl.deny).push_back(std::move(regex));
    }
  // A parameter's name matches as a whole.
  for (const auto& pattern : options.strip_query) {
    int rc = 0;
    auto regex = std::make_unique<Regex>("^(" + pattern + ")$", rc);
    if (rc != 0) {
      char message[256];
      regerror(rc, &regex->compiled, message, sizeof message);
      return fail("bad pattern '{}': {}", pattern, message);
    }
    impl.strip.push_back(std::move(regex));
  }
  impl.rules.sort_query = options.sort_query;
  if (!impl.strip.empty()) {
    const Impl* self = &impl;  // the Impl stays where it is when the filter moves
    impl.rules.strip = [self](std::string_view name) {
      const std::string text(name);
      return std::any_of(self->strip.begin(), self->strip.end(),
                         [&](const auto& r) { return r->search(text); });
    };
  }
  return filter;
}

const url::Rules& LinkFilter::url_rules() const {
  return m_impl->rules;
}

Drop LinkFilter::judge(std::string_view u, int depth) const {
  const Impl& impl = *m_impl;
  const JobOptions& o = impl.options;
  const url::Parts parts = url::split(u);
  if (o.scope == Scope::host && !impl.scopes.count(parts.authority)) return Drop::offsite;
  if (o.scope == Scope::domain && !impl.scopes.count(registrable_domain(parts.host)))
    return Drop::offsite;
  if (depth > o.max_depth) return Drop::depth;
  if (u.size() > o.max_url_length) return Drop::trap_length;
  if (repeats_segments(parts.path, o.max_repeats)) return Drop::trap_repeat;
  if (!impl.deny.empty() || !impl.allow.empty()) {
    const std::string text(u);
    for (const auto& r : impl.deny)
      if (r->search(text)) return Drop::denied;
    if (!impl.allow.empty() && std::none_of(impl.allow.begin(), impl.allow.end(),
                                            [&](auto& r) { return r->search(text); }))
      return Drop::not_allowed;
  }
  return Drop::none;
}

}  // namespace crawl::policy
