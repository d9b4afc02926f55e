#pragma once
// The body of POST /jobs (and of the original service's POST /): seed URLs, a name, and any job
// option by its field (policy/job_options.hpp), checked by the same code as `crawlctl submit`'s
// flags: the option's rule, the link filter's patterns, the seed reader's rules for a URL. Pure.

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/inventory.hpp"
#include "core/result.hpp"
#include "policy/job.hpp"
#include "queue/submit.hpp"

namespace crawl::service {

inline constexpr std::size_t k_max_name_bytes = 200;

struct JobRequest {
  JobRequest() = default;
  JobRequest(JobRequest&&) = default;
  JobRequest& operator=(JobRequest&&) = default;
  JobRequest(const JobRequest&) = delete;  // a copy's seeds would view the original's URLs
  JobRequest& operator=(const JobRequest&) = delete;
  std::string name;
  policy::JobOptions options;    // the hosts file's job: section under the body's fields
  queue::Seeds seeds;            // normalised; views into `urls`
  std::deque<std::string> urls;  // a deque: its strings stay where they are when it is moved
};

// Fails (ErrorKind::invalid) with a message naming the field, or the seed (urls[3]) and why;
// nothing is submitted then. More than `max_seeds` URLs fail too.
Result<void> read_job_request(const nlohmann::json& body, const config::JobDefaults& defaults,
                              std::size_t max_seeds, JobRequest& out);

// The JSON Schema of that body, for the OpenAPI document: every option with its rule and help.
nlohmann::ordered_json job_request_schema(std::size_t max_seeds);

}  // namespace crawl::service
