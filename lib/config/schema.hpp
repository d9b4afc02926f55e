#pragma once
// Every setting of hosts.yaml declared once: its key, its name in `crawlctl hosts --json`, how
// its value is read and checked, and the member of Host, RedisSettings, WorkerSettings or
// JobDefaults it sets. Parsing (inventory.cpp), the key list (inventory_keys(), which the
// coverage tests walk over hosts.yaml.example and docs/hosts-file.md), `hosts --json` and the
// workers' config file that deploy writes all derive from these tables: a key added to a table
// (and a member to its struct) appears in all of them. The default of a setting is its member's
// initialiser.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/inventory.hpp"
#include "policy/job_options.hpp"

namespace crawl::config {

using Labels = std::map<std::string, std::string>;

// How a value is written in hosts.yaml and checked.
struct Rule {
  enum class Kind {
    integer,    // a whole number from `low` to `high`
    size,       // bytes, "64MiB" or "1048576", at least `low`
    duration,   // "500ms", "2s", "1m", at least `low` ms
    text,       // any text (a path, a command)
    line,       // one line without control characters, at most `max_bytes` (0 = any value's limit)
    env_name,   // an environment variable's name
    choice,     // one of `choices`; the value is its index, in the order of the member's enum
    labels,     // a mapping of label names to values, merged level by level
    redis_url,  // a line that is a redis:// or unix:// URL; shown with its password hidden
    addresses,  // a sequence of host:port lines, each passing `check`
  };
  Kind kind = Kind::text;
  long long low = 0, high = 0;
  std::size_t max_bytes = 0;
  std::string (*check)(std::string_view) = nullptr;  // text, line: what is wrong, "" = fine
  std::vector<std::string_view> choices;
};

using Strings = std::vector<std::string>;

// A value as read: a number (integer, size, duration in ms, a choice's index), a string (text,
// line, env_name, redis_url), labels, or strings (addresses).
using Value = std::variant<std::int64_t, std::string, Labels, Strings>;

// A job option (policy/job_options.hpp) of JobDefaults::options.
struct JobOptionMember {
  const policy::JobOption* option;
};

template <class S>
using Member = std::variant<int S::*, std::uint64_t S::*, std::chrono::milliseconds S::*,
                            std::string S::*, bool S::*, Transport S::*, HostKeyPolicy S::*,
                            Labels S::*, Strings S::*, std::optional<int> S::*,
                            std::optional<std::chrono::milliseconds> S::*, JobOptionMember>;

template <class S>
struct Field {
  std::string_view key;   // in hosts.yaml
  std::string_view json;  // in `crawlctl hosts --json`
  Rule rule;
  Member<S> member;
};

// The settings a host takes in `defaults`, a group or the host itself (the host's own also take
// `address`, a group's `hosts`); the redis:, worker: and job: sections (the last made from the
// job options that have a hosts-file key).
const std::vector<Field<Host>>& host_fields();
const std::vector<Field<RedisSettings>>& redis_fields();
const std::vector<Field<WorkerSettings>>& worker_fields();
const std::vector<Field<JobDefaults>>& job_fields();

// Sets the field's member from a value of its rule's kind (labels are merged into those there).
template <class S>
void assign(S& settings, const Field<S>& field, const Value& value) {
  std::visit(
      [&](auto member) {
        if constexpr (std::is_same_v<decltype(member), JobOptionMember>) {
          if constexpr (std::is_same_v<S, JobDefaults>) {
            // Checked against the option's range by the rule made from it.
            (void)policy::set_option(settings.options, *member.option,
                                     std::get<std::int64_t>(value));
            if (!settings.has(member.option->field)) settings.given.push_back(member.option->field);
          }
          return;
        } else {
          using T = std::remove_reference_t<decltype(settings.*member)>;
          T& out = settings.*member;
          if constexpr (std::is_same_v<T, std::string>) {
            out = std::get<std::string>(value);
          } else if constexpr (std::is_same_v<T, Strings>) {
            out = std::get<Strings>(value);
          } else if constexpr (std::is_same_v<T, Labels>) {
            for (const auto& [k, v] : std::get<Labels>(value)) out[k] = v;
          } else if constexpr (std::is_same_v<T, std::chrono::milliseconds> ||
                               std::is_same_v<T, std::optional<std::chrono::milliseconds>>) {
            out = std::chrono::milliseconds(std::get<std::int64_t>(value));
          } else if constexpr (std::is_same_v<T, std::optional<int>>) {
            out = static_cast<int>(std::get<std::int64_t>(value));
          } else if constexpr (std::is_same_v<T, bool>) {
            out = std::get<std::int64_t>(value) != 0;
          } else {
            out = static_cast<T>(std::get<std::int64_t>(value));
          }
        }
      },
      field.member);
}

// The member's value as a Value of its rule's kind; nullopt for an optional one not set.
template <class S>
std::optional<Value> value_of(const S& settings, const Field<S>& field) {
  return std::visit(
      [&](auto member) -> std::optional<Value> {
        if constexpr (std::is_same_v<decltype(member), JobOptionMember>) {
          if constexpr (std::is_same_v<S, JobDefaults>) {
            if (!settings.has(member.option->field)) return std::nullopt;
            return Value(policy::option_integer(settings.options, *member.option));
          }
          return std::nullopt;
        } else {
          using T = std::remove_cvref_t<decltype(settings.*member)>;
          const T& in = settings.*member;
          if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Labels> ||
                        std::is_same_v<T, Strings>) {
            return Value(in);
          } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
            return Value(static_cast<std::int64_t>(in.count()));
          } else if constexpr (std::is_same_v<T, std::optional<std::chrono::milliseconds>>) {
            if (!in) return std::nullopt;
            return Value(static_cast<std::int64_t>(in->count()));
          } else if constexpr (std::is_same_v<T, std::optional<int>>) {
            if (!in) return std::nullopt;
            return Value(static_cast<std::int64_t>(*in));
          } else {
            return Value(static_cast<std::int64_t>(in));
          }
        }
      },
      field.member);
}

// The value as hosts.yaml writes it, read back to the same value: 128, 1048576, 750ms, debug,
// "a \"quoted\" string" (text always double-quoted). Labels as a flow mapping, strings as a flow
// sequence.
std::string yaml_value(const Rule& rule, const Value& value);

// `s` as a double-quoted YAML scalar.
std::string yaml_quote(std::string_view s);

}  // namespace crawl::config
