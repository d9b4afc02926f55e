#include "service/openapi.hpp"

#include <string>

#include "service/job_request.hpp"
#include "service/routes.hpp"

namespace crawl::service {

namespace {

using Json = nlohmann::ordered_json;

Json ref(const std::string& name) {
  return {{"$ref", "#/components/schemas/" + name}};
}

Json content(const std::string& type, const Json& schema) {
  return {{type, {{"schema", schema}}}};
}

Json error_response(const std::string& description) {
  return {{"description", description}, {"content", content("application/json", ref("Error"))}};
}

Json query(const std::string& name, const Json& schema, const std::string& description) {
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"schema", schema},
          {"description", description}};
}

// What a route answers when it works: its status and body.
std::pair<std::string, Json> success(std::string_view method, std::string_view path) {
  const Json object = {{"type", "object"}};
  if (path == "/")
    return {
        "200",
        {{"description", "The new job's id"}, {"content", content("application/json", ref("Id"))}}};
  if (path == "/jobs" && method == "POST")
    return {"201",
            {{"description", "The job was created; Location names it"},
             {"content", content("application/json", ref("Created"))}}};
  if (path == "/status/{id}")
    return {
        "200",
        {{"description", "completed: URLs crawled (done + failed); inprogress: queued + in flight"},
         {"content", content("application/json", ref("OriginalStatus"))}}};
  if (path == "/result/{id}")
    return {"200",
            {{"description", "Each page crawled and its images"},
             {"content", content("application/json",
                                 {{"type", "object"},
                                  {"additionalProperties",
                                   {{"type", "array"}, {"items", {{"type", "string"}}}}}})}}};
  if (path == "/jobs/{id}/results")
    return {"200",
            {{"description", "One record per URL, JSON Lines (format=images: one JSON object)"},
             {"content",
              {{"application/x-ndjson", {{"schema", {{"type", "string"}}}}},
               {"application/json", {{"schema", object}}}}}}};
  if (path == "/jobs/{id}")
    return {"200",
            {{"description", "The job"}, {"content", content("application/json", ref("Job"))}}};
  return {"200", {{"description", "OK"}, {"content", content("application/json", object)}}};
}

}  // namespace

nlohmann::ordered_json openapi_document(std::size_t max_seeds) {
  Json paths = Json::object();
  for (const auto& route : Routes::routes()) {
    const std::string path(route.path);
    std::string method(route.method);
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Json op = {{"summary", route.summary}};
    std::string op_id = method;
    for (char c : path) op_id += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
    op["operationId"] = op_id;
    Json parameters = Json::array();
    if (path.find("{id}") != std::string::npos)
      parameters.push_back({{"name", "id"},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "string"}, {"pattern", "^[A-Za-z0-9._-]{1,64}$"}}},
                            {"description", "The job's id"}});
    if (path == "/jobs" && method == "get")
      parameters.push_back(
          query("last", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 20}},
                "How many of the latest jobs"));
    if (path == "/jobs/{id}/sites")
      parameters.push_back(
          query("n", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 20}},
                "How many of its busiest sites"));
    if (path == "/jobs/{id}/results") {
      parameters.push_back(
          query("format", {{"type", "string"}, {"enum", {"jsonl", "images"}}, {"default", "jsonl"}},
                "jsonl: every record; images: {url: [images]} for the pages crawled"));
      parameters.push_back(query("outcome",
                                 {{"type", "string"}, {"enum", {"done", "failed", "filtered"}}},
                                 "Only the records of this outcome"));
    }
    if (!parameters.empty()) op["parameters"] = std::move(parameters);
    if (method == "post" && (path == "/" || path == "/jobs"))
      op["requestBody"] = {{"required", true},
                           {"content", content("application/json", ref("JobRequest"))}};
    auto [code, ok] = success(route.method, route.path);
    Json responses = Json::object();
    responses[code] = std::move(ok);
    if (method == "post" && (path == "/" || path == "/jobs")) {
      responses["400"] = error_response("A bad field or seed URL, named");
      responses["413"] = error_response("The body is too large");
      responses["415"] = error_response("The body is not JSON");
    }
    if (path.find("{id}") != std::string::npos) responses["404"] = error_response("No such job");
    if (path.find("/pause") != std::string::npos || path.find("/resume") != std::string::npos ||
        path.find("/cancel") != std::string::npos)
      responses["409"] = error_response("The job is cancelled, or finished (cancel)");
    if (!(method == "get" &&
          (path == "/" || path.starts_with("/dashboard/") || path == "/openapi.json")))
      responses["503"] = error_response("Redis cannot be reached");
    paths[path][method] = std::move(op);
    paths[path][method]["responses"] = std::move(responses);
  }
  const Json error = {{"type", "object"},
                      {"required", {"error"}},
                      {"properties", {{"error", {{"type", "string"}}}}}};
  const Json id = {
      {"type", "object"}, {"required", {"id"}}, {"properties", {{"id", {{"type", "string"}}}}}};
  const Json created = {{"type", "object"},
                        {"required", {"id"}},
                        {"properties",
                         {{"id", {{"type", "string"}}},
                          {"queued", {{"type", "integer"}}},
                          {"duplicates", {{"type", "integer"}}}}}};
  const Json original_status = {{"type", "object"},
                                {"required", {"completed", "id", "inprogress"}},
                                {"properties",
                                 {{"completed", {{"type", "integer"}}},
                                  {"id", {{"type", "string"}}},
                                  {"inprogress", {{"type", "integer"}}}}}};
  const Json job = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"name", {{"type", "string"}}},
        {"state",
         {{"type", "string"},
          {"enum",
           {"broken", "cancelled", "submitting", "finished", "paused", "in progress", "queued"}}}},
        {"finished", {{"type", "boolean"}}},
        {"created_ms", {{"type", "integer"}}},
        {"pages_per_second", {{"type", "number"}}},
        {"eta_seconds", {{"type", "number"}, {"nullable", true}}},
        {"counters", {{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}},
        {"options", {{"type", "object"}}},
        {"sites", {{"type", "object"}}},
        {"records",
         {{"type", "object"},
          {"properties", {{"waiting", {{"type", "integer"}}}, {"home", {{"type", "string"}}}}}}}}}};
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "crawl: crawlctl serve"},
            {"version", "1"},
            {"description",
             "The crawler as a service: the original service's routes, the REST API, metrics. "
             "docs/api.md."}}},
          {"paths", std::move(paths)},
          {"components",
           {{"schemas",
             {{"Error", error},
              {"Id", id},
              {"Created", created},
              {"OriginalStatus", original_status},
              {"Job", job},
              {"JobRequest", job_request_schema(max_seeds)}}}}}};
}

}  // namespace crawl::service
