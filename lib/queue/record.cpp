#include "queue/record.hpp"

#include <nlohmann/json.hpp>

namespace crawl::queue {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::done: return "done";
    case Outcome::failed: return "failed";
    case Outcome::filtered: return "filtered";
  }
  return "?";
}

std::string to_json(const Record& r) {
  // Filtered URLs were never fetched: their record says only that, and why.
  nlohmann::ordered_json j{{"url", r.url}, {"outcome", to_string(r.outcome)}};
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (r.outcome != Outcome::filtered || r.status != 0) {
    j["status"] = r.status;
    j["final_url"] = r.final_url;
    j["title"] = r.title;
    j["content_type"] = r.content_type;
    j["bytes"] = r.bytes;
    if (r.truncated) j["truncated"] = true;
    j["fetch_ms"] = r.fetch_ms;
    j["links"] = r.links;
    j["images"] = r.images;
    if (!r.parse_cut.empty()) j["parse_cut"] = r.parse_cut;
    if (r.noindex) j["noindex"] = true;
  }
  j["depth"] = r.depth;
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.worker.empty()) j["worker"] = r.worker;
  j["at_ms"] = r.at_ms;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<Record> record_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("url")) return std::nullopt;
  Record r;
  r.url = j.value("url", "");
  const std::string outcome = j.value("outcome", "");
  if (outcome == "done") r.outcome = Outcome::done;
  else if (outcome == "failed") r.outcome = Outcome::failed;
  else if (outcome == "filtered") r.outcome = Outcome::filtered;
  else return std::nullopt;
  r.reason = j.value("reason", "");
  r.status = j.value("status", 0);
  r.final_url = j.value("final_url", "");
  r.title = j.value("title", "");
  r.content_type = j.value("content_type", "");
  r.bytes = j.value("bytes", std::uint64_t{0});
  r.truncated = j.value("truncated", false);
  r.fetch_ms = j.value("fetch_ms", std::int64_t{0});
  r.depth = j.value("depth", 0);
  r.links = j.value("links", 0);
  r.images = j.value("images", std::vector<std::string>{});
  r.parse_cut = j.value("parse_cut", "");
  r.noindex = j.value("noindex", false);
  r.error = j.value("error", "");
  r.worker = j.value("worker", "");
  r.at_ms = j.value("at_ms", std::int64_t{0});
  return r;
}

}  // namespace crawl::queue
