#pragma once
// The OpenAPI 3 document of `crawlctl serve`, made from the route table (routes.hpp) and the job
// options' table (policy/job_options.hpp): a route or an option added there is described here.

#include <cstddef>

#include <nlohmann/json.hpp>

namespace crawl::service {

nlohmann::ordered_json openapi_document(std::size_t max_seeds);

}  // namespace crawl::service
