#include "config/inventory.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "config/host_range.hpp"
#include "config/schema.hpp"
#include "config/values.hpp"
#include "config/yaml_tree.hpp"
#include "core/file.hpp"
#include "core/suggest.hpp"

namespace crawl::config {

std::string_view to_string(Transport transport) {
  return transport == Transport::ssh ? "ssh" : "local";
}

std::string_view to_string(HostKeyPolicy policy) {
  return policy == HostKeyPolicy::strict ? "strict" : "accept-new";
}

const Host* Inventory::find_host(std::string_view name) const {
  auto it = std::find_if(hosts.begin(), hosts.end(), [&](const Host& h) { return h.name == name; });
  return it == hosts.end() ? nullptr : &*it;
}

std::string RedisSettings::effective_url() const {
  if (sentinels.empty()) return url;
  return fmt::format("sentinel://{}/{}", fmt::join(sentinels, ","), master_name);
}

const Group* Inventory::find_group(std::string_view name) const {
  auto it =
      std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.name == name; });
  return it == groups.end() ? nullptr : &*it;
}

namespace {

using yaml::Node;
using Keys = std::vector<std::string_view>;

constexpr std::size_t k_max_errors = 20;
constexpr std::size_t k_max_value_bytes = 64u << 10;  // any one value

// The settings written at one level (defaults, a group, a host), in the order written. A host's
// settings are the defaults, then its group's, then its own.
struct HostSettings {
  std::vector<std::pair<const Field<Host>*, Value>> values;

  void apply_to(Host& host) const {
    for (const auto& [field, value] : values) assign(host, *field, value);
  }
};

const Keys k_top_keys{"defaults", "hosts", "groups", "redis", "worker", "job"};

template <class S>
Keys keys_of(const std::vector<Field<S>>& fields) {
  Keys keys;
  for (const auto& f : fields) keys.push_back(f.key);
  return keys;
}

template <class S>
const Field<S>* find_field(const std::vector<Field<S>>& fields, std::string_view key) {
  for (const auto& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

Keys with(Keys keys, std::string_view extra) {
  keys.push_back(extra);
  return keys;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool is_alnum(char c) {
  return is_name_char(c) && c != '.' && c != '-' && c != '_';
}

// A hostile value quoted in a message: control bytes escaped, cut at 80 characters.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  if (s.size() > 80) out += "...";
  return out;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

class Parser {
 public:
  explicit Parser(std::string_view file) : m_file(file) {}

  Result<Inventory> run(const Node& root) {
    m_inventory.source = std::string(m_file);
    if (root.kind == Node::Kind::null) return m_inventory;  // an empty file: no hosts
    const Node* hosts = nullptr;
    const Node* groups = nullptr;
    for_each(root, "at top level", k_top_keys, [&](const Node& key_node, const Node& value) {
      const std::string& key = key_node.value;
      if (key == "defaults")
        read_settings(value, "in defaults", keys_of(host_fields()), m_defaults);
      else if (key == "hosts")
        hosts = &value;
      else if (key == "groups")
        groups = &value;
      else if (key == "redis")
        read_redis(value);
      else if (key == "job")
        read_section(value, "in job", job_fields(), m_inventory.job);
      else
        read_worker(value);
    });
    // Hosts are resolved once the defaults are known, wherever `defaults` was written.
    if (hosts != nullptr) read_hosts(*hosts, nullptr, HostSettings{});
    if (groups != nullptr) read_groups(*groups);
    check_names();
    if (!m_errors.empty()) {
      std::string message;
      for (const auto& e : m_errors) message += (message.empty() ? "" : "\n") + e;
      if (m_dropped > 0) message += fmt::format("\n... and {} more errors", m_dropped);
      return fail(Error{std::move(message)});
    }
    return std::move(m_inventory);
  }

 private:
  template <class... Args>
  void error(const Node& at, fmt::format_string<Args...> format, Args&&... args) {
    if (m_errors.size() >= k_max_errors) {
      ++m_dropped;
      return;
    }
    m_errors.push_back(fmt::format("{}:{}:{}: {}", m_file, at.line, at.column,
                                   fmt::format(format, std::forward<Args>(args)...)));
  }

  // Calls fn(key node, value node) for each entry of a mapping after checking that each key is a
  // known, unique scalar. A null node is an empty mapping.
  template <class Fn>
  void for_each(const Node& map, std::string_view where, const Keys& keys, Fn&& fn) {
    if (map.kind == Node::Kind::null) return;
    if (map.kind != Node::Kind::map) {
      error(map, "expected a mapping {}, found {}", where, yaml::kind_name(map.kind));
      return;
    }
    std::unordered_map<std::string, int> seen;
    for (const auto& [key, value] : map.entries) {
      if (key->kind != Node::Kind::scalar) {
        error(*key, "keys must be plain names {}", where);
        continue;
      }
      auto [it, fresh] = seen.emplace(key->value, key->line);
      if (!fresh) {
        error(*key, "duplicate key '{}' {} (first at line {})", key->value, where, it->second);
        continue;
      }
      if (!keys.empty() && std::find(keys.begin(), keys.end(), key->value) == keys.end()) {
        error(*key, "unknown key '{}' {}{}", key->value, where, did_you_mean(key->value, keys));
        continue;
      }
      fn(*key, *value);
    }
  }

  // --- scalar readers: each reports its own error and returns nullopt on failure ---

  std::optional<std::string> text(const Node& value, std::string_view key) {
    if (value.kind != Node::Kind::scalar) {
      error(value, "'{}' needs a value, found {}", key, yaml::kind_name(value.kind));
      return std::nullopt;
    }
    if (value.value.empty()) {
      error(value, "'{}' is empty", key);
      return std::nullopt;
    }
    if (value.value.find('\0') != std::string::npos) {
      error(value, "'{}' contains a NUL byte", key);
      return std::nullopt;
    }
    if (value.value.size() > k_max_value_bytes) {
      error(value, "'{}' is {} bytes long, more than the {} a value may hold", key,
            value.value.size(), k_max_value_bytes);
      return std::nullopt;
    }
    return value.value;
  }

  // A string that travels in a protocol line (an address, a user agent): no control characters,
  // and at most `max` bytes.
  std::optional<std::string> single_line(const Node& value, std::string_view key,
                                         std::size_t max = k_max_value_bytes) {
    auto s = text(value, key);
    if (s && has_control(*s)) {
      error(value, "'{}' must be one line without control characters", key);
      return std::nullopt;
    }
    if (s && s->size() > max) {
      error(value, "'{}' is {} bytes long, more than the {} it may hold", key, s->size(), max);
      return std::nullopt;
    }
    return s;
  }

  // A value that must pass `check` (values.hpp), which says what is wrong with it.
  std::optional<std::string> checked(const Node& value, std::string_view key,
                                     std::string (*check)(std::string_view)) {
    auto s = text(value, key);
    if (!s) return std::nullopt;
    if (const std::string problem = check(*s); !problem.empty()) {
      error(value, "'{}' value '{}': {}", key, printable(*s), problem);
      return std::nullopt;
    }
    return s;
  }

  std::optional<long long> integer(const Node& value, std::string_view key, long long low,
                                   long long high) {
    auto s = text(value, key);
    if (!s) return std::nullopt;
    long long number = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), number);
    if (ec != std::errc() || end != s->data() + s->size() || number < low || number > high) {
      error(value, "'{}' must be a whole number from {} to {}, not '{}'", key, low, high, *s);
      return std::nullopt;
    }
    return number;
  }

  std::optional<std::chrono::milliseconds> duration(const Node& value, std::string_view key,
                                                    std::chrono::milliseconds low,
                                                    std::chrono::milliseconds high) {
    auto s = text(value, key);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
      error(value, "'{}': {}", key, d.error().message);
      return std::nullopt;
    }
    if (*d < low) {
      error(value, "'{}' must be at least {}ms, not '{}'", key, low.count(), *s);
      return std::nullopt;
    }
    if (high.count() > 0 && *d > high) {
      error(value, "'{}' must be at most {}, not '{}'", key, format_duration(high), *s);
      return std::nullopt;
    }
    return *d;
  }

  std::optional<std::uint64_t> size(const Node& value, std::string_view key, std::uint64_t low) {
    auto s = text(value, key);
    if (!s) return std::nullopt;
    auto bytes = parse_size(*s);
    if (!bytes) {
      error(value, "'{}': {}", key, bytes.error().message);
      return std::nullopt;
    }
    if (*bytes < low) {
      error(value, "'{}' must be at least {} bytes, not '{}'", key, low, *s);
      return std::nullopt;
    }
    return *bytes;
  }

  template <class E>
  std::optional<E> choice(const Node& value, std::string_view key,
                          const std::vector<std::pair<std::string_view, E>>& choices) {
    auto s = text(value, key);
    if (!s) return std::nullopt;
    Keys names;
    for (const auto& [name, e] : choices) {
      if (*s == name) return e;
      names.push_back(name);
    }
    error(value, "'{}' must be one of {}, not '{}'{}", key, fmt::join(names, ", "), *s,
          did_you_mean(*s, names));
    return std::nullopt;
  }

  std::optional<std::string> env_name(const Node& value, std::string_view key) {
    auto s = text(value, key);
    if (!s) return std::nullopt;
    const bool leading_digit = (*s)[0] >= '0' && (*s)[0] <= '9';
    if (leading_digit ||
        !std::all_of(s->begin(), s->end(), [](char c) { return is_alnum(c) || c == '_'; })) {
      error(value, "'{}' must be an environment variable name, not '{}'", key, *s);
      return std::nullopt;
    }
    return s;
  }

  // --- sections ---

  // The value of `key` as its rule says, or nullopt (and an error) when it breaks the rule.
  std::optional<Value> read(const Node& value, std::string_view key, const Rule& rule) {
    using K = Rule::Kind;
    auto number = [](const auto& v) -> std::optional<Value> {
      if (!v) return std::nullopt;
      if constexpr (std::is_same_v<std::decay_t<decltype(*v)>, std::chrono::milliseconds>)
        return Value(static_cast<std::int64_t>(v->count()));
      else
        return Value(static_cast<std::int64_t>(*v));
    };
    auto string = [](std::optional<std::string> v) -> std::optional<Value> {
      if (!v) return std::nullopt;
      return Value(std::move(*v));
    };
    switch (rule.kind) {
      case K::integer:
        return number(integer(value, key, rule.low, rule.high));
      case K::size:
        return number(size(value, key, static_cast<std::uint64_t>(rule.low)));
      case K::duration:
        return number(duration(value, key, std::chrono::milliseconds(rule.low),
                               std::chrono::milliseconds(rule.high)));
      case K::text:
        return string(rule.check ? checked(value, key, rule.check) : text(value, key));
      case K::line:
      case K::redis_url: {
        auto line = single_line(value, key, rule.max_bytes ? rule.max_bytes : k_max_value_bytes);
        if (!line || !rule.check) return string(std::move(line));
        if (const std::string problem = rule.check(*line); !problem.empty()) {
          error(value, "'{}' value '{}': {}", key, printable(*line), problem);
          return std::nullopt;
        }
        return string(std::move(line));
      }
      case K::env_name:
        return string(env_name(value, key));
      case K::choice: {
        std::vector<std::pair<std::string_view, std::int64_t>> choices;
        for (std::size_t i = 0; i < rule.choices.size(); ++i)
          choices.emplace_back(rule.choices[i], static_cast<std::int64_t>(i));
        return number(choice<std::int64_t>(value, key, choices));
      }
      case K::labels: {
        Labels labels;
        read_labels(value, labels);
        return Value(std::move(labels));
      }
      case K::addresses: {
        if (value.kind != Node::Kind::sequence || value.items.empty()) {
          error(value, "'{}' must be a list of host:port, e.g. [10.0.0.1:26379, 10.0.0.2:26379]",
                key);
          return std::nullopt;
        }
        Strings out;
        for (const Node* item : value.items) {
          auto one = single_line(*item, key);
          if (!one) return std::nullopt;
          if (const std::string problem = rule.check ? rule.check(*one) : ""; !problem.empty()) {
            error(*item, "'{}' value '{}': {}", key, printable(*one), problem);
            return std::nullopt;
          }
          out.push_back(std::move(*one));
        }
        return Value(std::move(out));
      }
    }
    return std::nullopt;
  }

  // A section whose keys are all settings of `fields`, set on `out`; calls `seen` with each
  // key's value node.
  template <class S>
  void read_section(const Node& map, std::string_view where, const std::vector<Field<S>>& fields,
                    S& out,
                    const std::function<void(const std::string&, const Node&)>& seen = nullptr) {
    for_each(map, where, keys_of(fields), [&](const Node& key_node, const Node& value) {
      const Field<S>& field = *find_field(fields, key_node.value);
      if (auto v = read(value, field.key, field.rule)) assign(out, field, *v);
      if (seen) seen(key_node.value, value);
    });
  }

  void read_settings(const Node& map, std::string_view where, const Keys& keys, HostSettings& out,
                     const std::function<void(const Node&, const Node&)>& other = nullptr) {
    for_each(map, where, keys, [&](const Node& key_node, const Node& value) {
      if (const auto* field = find_field(host_fields(), key_node.value)) {
        if (auto v = read(value, field->key, field->rule)) out.values.emplace_back(field, *v);
      } else if (other) {
        other(key_node, value);
      }
    });
  }

  void read_labels(const Node& map, std::map<std::string, std::string>& out) {
    for_each(map, "in labels", {}, [&](const Node& key_node, const Node& value) {
      const std::string& key = key_node.value;
      if (key.empty() || !std::all_of(key.begin(), key.end(), is_name_char)) {
        error(value, "label name '{}' may hold only letters, digits, '.', '-' and '_'", key);
        return;
      }
      if (auto v = text(value, key)) out[key] = *v;
    });
  }

  void read_groups(const Node& map) {
    for_each(map, "in groups", {}, [&](const Node& key, const Node& value) {
      const std::string& name = key.value;
      const std::string where = fmt::format("in group '{}'", name);
      if (!valid_name(name, key, "group")) return;
      m_inventory.groups.push_back(Group{name, {}, key.line});
      m_group_keys.push_back(&key);
      const std::size_t index = m_inventory.groups.size() - 1;
      HostSettings settings;
      const Node* hosts = nullptr;
      read_settings(value, where, with(keys_of(host_fields()), "hosts"), settings,
                    [&](const Node&, const Node& v) { hosts = &v; });
      if (hosts == nullptr) {
        error(key, "group '{}' has no 'hosts'", name);
        return;
      }
      read_hosts(*hosts, &m_inventory.groups[index], settings);
    });
  }

  void read_hosts(const Node& map, Group* group, const HostSettings& group_settings) {
    const std::string where =
        group ? fmt::format("in the hosts of group '{}'", group->name) : std::string("in hosts");
    if (map.kind == Node::Kind::sequence) {
      error(map, "'hosts' must map each host name to its settings (write 'name:' with a colon)");
      return;
    }
    for_each(map, where, {}, [&](const Node& key, const Node& value) {
      const std::string& pattern = key.value;
      std::vector<std::string> names{pattern};
      if (has_range(pattern)) {
        auto expanded = expand_range(pattern, k_max_hosts - m_inventory.hosts.size());
        if (!expanded) {
          error(key, "host '{}': {}", pattern, expanded.error().message);
          return;
        }
        names = std::move(*expanded);
      } else if (m_inventory.hosts.size() >= k_max_hosts) {
        error(key, "more than {} hosts", k_max_hosts);
        return;
      }
      HostSettings own;
      const Node* address = nullptr;
      read_settings(value, fmt::format("in host '{}'", pattern),
                    with(keys_of(host_fields()), "address"), own,
                    [&](const Node&, const Node& v) { address = &v; });
      std::vector<std::string> addresses = addresses_for(address, pattern, names.size());
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (!valid_name(names[i], key, "host")) return;
        Host host;
        host.name = names[i];
        host.address = addresses.empty() ? names[i] : addresses[addresses.size() == 1 ? 0 : i];
        host.line = key.line;
        m_defaults.apply_to(host);
        group_settings.apply_to(host);
        own.apply_to(host);
        if (group != nullptr) {
          host.group = group->name;
          group->hosts.push_back(m_inventory.hosts.size());
        }
        m_inventory.hosts.push_back(std::move(host));
        m_host_keys.push_back(&key);
      }
    });
  }

  // A ranged host's address may hold a range of the same length, paired name by name.
  std::vector<std::string> addresses_for(const Node* node, const std::string& pattern,
                                         std::size_t count) {
    if (node == nullptr) return {};
    auto address = single_line(*node, "address");
    if (!address) return {};
    if (!has_range(*address)) {
      if (const std::string problem = check_address(*address); !problem.empty()) {
        error(*node, "'address' value '{}': {}", printable(*address), problem);
        return {};
      }
      return {*address};
    }
    auto expanded = expand_range(*address, k_max_hosts);
    if (!expanded) {
      error(*node, "address: {}", expanded.error().message);
      return {};
    }
    for (const auto& a : *expanded)
      if (const std::string problem = check_address(a); !problem.empty()) {
        error(*node, "'address' value '{}': {}", printable(a), problem);
        return {};
      }
    if (expanded->size() != count) {
      error(*node, "address '{}' expands to {} addresses but host '{}' to {} names", *address,
            expanded->size(), pattern, count);
      return {};
    }
    return std::move(*expanded);
  }

  bool valid_name(const std::string& name, const Node& at, std::string_view what) {
    if (name.empty() || !is_alnum(name[0]) ||
        !std::all_of(name.begin(), name.end(), is_name_char)) {
      error(at,
            "{} name '{}' must start with a letter or digit and hold only letters, digits, "
            "'.', '-' and '_'",
            what, name);
      return false;
    }
    return true;
  }

  // Host names are unique across the file and distinct from group names, so that a --limit
  // term means one thing.
  void check_names() {
    std::unordered_map<std::string_view, const Host*> seen;
    for (std::size_t i = 0; i < m_inventory.hosts.size(); ++i) {
      const Host& host = m_inventory.hosts[i];
      auto [it, fresh] = seen.emplace(host.name, &host);
      if (!fresh)
        error(*m_host_keys[i], "host '{}' is defined twice (first at line {})", host.name,
              it->second->line);
    }
    for (std::size_t i = 0; i < m_inventory.groups.size(); ++i)
      if (seen.count(m_inventory.groups[i].name))
        error(*m_group_keys[i], "group '{}' has the name of a host", m_inventory.groups[i].name);
  }

  void read_redis(const Node& map) {
    RedisSettings& r = m_inventory.redis;
    read_section(map, "in redis", redis_fields(), r);
    if (!r.sentinels.empty() && r.master_name.empty())
      error(map, "'sentinels' needs 'master_name': the name the Sentinels monitor the primary by");
    if (r.sentinels.empty() && !r.master_name.empty())
      error(map, "'master_name' needs 'sentinels': the Sentinels to ask for the primary");
    if (!r.sentinels.empty() && !r.url.empty())
      error(map,
            "'url' and 'sentinels' both say where Redis is: set one (a sentinel:// url, or "
            "sentinels with master_name)");
  }

  void read_worker(const Node& map) {
    WorkerSettings& w = m_inventory.worker;
    const Node* ttl_node = nullptr;
    read_section(map, "in worker", worker_fields(), w, [&](const std::string& key, const Node& v) {
      if (key == "heartbeat_ttl") ttl_node = &v;
    });
    if (w.heartbeat_ttl < 2 * w.heartbeat_interval) {
      error(ttl_node != nullptr ? *ttl_node : map,
            "'heartbeat_ttl' ({}ms) must be at least twice 'heartbeat_interval' ({}ms), or a "
            "busy worker is taken for dead",
            w.heartbeat_ttl.count(), w.heartbeat_interval.count());
    }
  }

  std::string_view m_file;
  Inventory m_inventory;
  HostSettings m_defaults;
  std::vector<const Node*> m_host_keys;   // where each host was written
  std::vector<const Node*> m_group_keys;  // where each group was written
  std::vector<std::string> m_errors;
  std::size_t m_dropped = 0;
};

}  // namespace

std::vector<std::string> inventory_keys() {
  std::vector<std::string> keys;
  for (auto k : k_top_keys) keys.push_back(std::string(k));
  for (const auto& f : host_fields()) keys.push_back(fmt::format("defaults.{}", f.key));
  keys.push_back("hosts.address");
  keys.push_back("groups.hosts");
  for (const auto& f : redis_fields()) keys.push_back(fmt::format("redis.{}", f.key));
  for (const auto& f : worker_fields()) keys.push_back(fmt::format("worker.{}", f.key));
  for (const auto& f : job_fields()) keys.push_back(fmt::format("job.{}", f.key));
  return keys;
}

std::vector<std::string> Inventory::secret_env_names() const {
  std::set<std::string> names{redis.password_env, redis.sentinel_password_env};
  for (const auto& h : hosts) names.insert({h.password_env, h.sudo_password_env});
  names.erase("");
  return {names.begin(), names.end()};
}

Result<Inventory> load_inventory(const std::string& path) {
  auto text = read_file(path, k_max_file_bytes);
  if (!text) return fail("{}", text.error().message);  // not a parse error: kind other
  auto inventory = parse_inventory(*text, path);
  if (!inventory) return fail(ErrorKind::invalid, "{}", inventory.error().message);
  return inventory;
}

Result<Inventory> parse_inventory(std::string_view text, std::string_view file_name) {
  auto document = yaml::parse(text, file_name);
  if (!document) return fail(document.error());
  return Parser(file_name).run(document->root());
}

}  // namespace crawl::config
