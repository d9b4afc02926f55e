#pragma once
// Every job option declared once: its flag on `crawlctl submit`, its key in hosts.yaml's job:
// section (for those a fleet sets defaults of), its field in a job's Redis hash and in the JSON
// of `crawlctl serve` (one name for both), how its value is checked, and the JobOptions member it
// sets; its default is that member's initialiser. The submit flags, the hosts-file defaults
// (config/schema), the Redis codec (queue/jobs), the Lua scripts' names and defaults
// (queue/scripts), the API's validation and its OpenAPI schema all walk this table: an option
// added here (and to JobOptions) appears in every one of them. Pure.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "policy/job.hpp"

namespace crawl::policy {

struct OptionRule {
  enum class Kind {
    integer,   // a whole number from `low` to `high`
    duration,  // milliseconds from `low` to `high`; written "500ms", "2s", "1m" as text
    boolean,   // its flag sets the opposite of the default ("--no-robots")
    choice,    // one of `choices`, in the order of the member's enum
    patterns,  // POSIX extended regexes, each flag or array element one more
    url,       // an http or https URL of at most `high` bytes, or "" for none
  };
  Kind kind = Kind::integer;
  std::int64_t low = 0, high = 0;
  std::vector<std::string_view> choices;
};

using OptionMember =
    std::variant<int JobOptions::*, std::uint64_t JobOptions::*,
                 std::chrono::milliseconds JobOptions::*, bool JobOptions::*, Scope JobOptions::*,
                 std::vector<std::string> JobOptions::*, std::string JobOptions::*>;

struct JobOption {
  std::string_view field;  // the job hash's field in Redis and the API's JSON: "delay_ms"
  std::string_view flag;   // on crawlctl submit: "--delay"
  std::string_view key;    // in hosts.yaml's job: section, "" = not set there
  OptionRule rule;
  OptionMember member;
  bool scripts = false;  // read by the Lua scripts (queue/scripts passes them its default)
  std::string_view help;
};

const std::vector<JobOption>& job_options();
// By field ("delay_ms"), flag ("--delay") or hosts-file key ("delay"); nullptr if none.
const JobOption* find_job_option(std::string_view field);
const JobOption* find_job_flag(std::string_view flag);

// The value as it is written: a number, 1 or 0 for a boolean, the choice's index; a duration in
// ms. Patterns and URLs have no integer form (0).
std::int64_t option_integer(const JobOptions& options, const JobOption& option);

// Sets the option from an integer of its kind (a JSON number, a hosts.yaml value as read, a
// Redis field): checked against its range. Fails saying what is wrong (the caller names the
// option as its user knows it: the flag, the field).
Result<void> set_option(JobOptions& options, const JobOption& option, std::int64_t value);
// The same for a value read back from Redis, written by a version that did not check ranges:
// a number out of range is taken as the nearest end of it (an older `--depth 5000000` stays a
// deep crawl rather than breaking the job).
void set_option_clamped(JobOptions& options, const JobOption& option, std::int64_t value);
// From text as an operator writes it: "16", "2s", "domain", "true", one pattern (appended).
Result<void> set_option(JobOptions& options, const JobOption& option, std::string_view text);

// The value as text that set_option reads back: "1s", "16", "host", "true", a URL; patterns:
// the first ("" when none).
std::string option_text(const JobOptions& options, const JobOption& option);

}  // namespace crawl::policy
