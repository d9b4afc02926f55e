#include "queue/record.hpp"

#include <span>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace crawl::queue {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::done:
      return "done";
    case Outcome::failed:
      return "failed";
    case Outcome::filtered:
      return "filtered";
  }
  return "?";
}

namespace {

// At most what nlohmann::json writes for `text`: a control byte as \u00XX, a quote or backslash
// escaped, and a byte past ASCII as up to 3 (an invalid one becomes U+FFFD).
std::size_t json_size_bound(std::string_view text) {
  std::size_t n = 2;  // the quotes
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    n += byte < 0x20 ? 6 : byte >= 0x80 ? 3 : (c == '"' || c == '\\') ? 2 : 1;
  }
  return n;
}

std::string_view clip(std::string_view text) {
  return utf8_prefix(text, k_max_record_text);
}

// How many of the record's images fit beside the rest of it: a bound on everything else (each
// text as clipped, each number at 20 digits, the names and punctuation of every field) and
// 1 byte a comma, and images kept in order while the whole stays within k_max_record_bytes.
std::size_t images_that_fit(const Record& r) {
  std::size_t fixed = 400;  // field names, punctuation, numbers, booleans
  for (std::string_view text : {std::string_view(r.url), std::string_view(r.final_url)})
    fixed += json_size_bound(text);
  for (const std::string* text :
       {&r.reason, &r.title, &r.content_type, &r.parse_cut, &r.error, &r.worker})
    fixed += json_size_bound(clip(*text));
  std::size_t room = k_max_record_bytes - std::min(k_max_record_bytes, fixed);
  for (std::size_t i = 0; i < r.images.size(); ++i) {
    const std::size_t cost = json_size_bound(r.images[i]) + 1;
    if (cost > room) return i;
    room -= cost;
  }
  return r.images.size();
}

}  // namespace

void fit(Record& r) {
  for (std::string* text :
       {&r.reason, &r.title, &r.content_type, &r.parse_cut, &r.error, &r.worker})
    text->resize(clip(*text).size());
  const std::size_t keep = images_that_fit(r);
  r.images_dropped += r.images.size() - keep;
  r.images.resize(keep);
}

std::string to_json(const Record& r) {
  // Filtered URLs were never fetched: their record says only that, and why.
  nlohmann::ordered_json j{{"url", r.url}, {"outcome", to_string(r.outcome)}};
  if (!r.reason.empty()) j["reason"] = clip(r.reason);
  if (r.outcome != Outcome::filtered || r.status != 0) {
    const std::size_t images = images_that_fit(r);
    j["status"] = r.status;
    j["final_url"] = r.final_url;
    j["title"] = clip(r.title);
    j["content_type"] = clip(r.content_type);
    j["bytes"] = r.bytes;
    if (r.truncated) j["truncated"] = true;
    j["fetch_ms"] = r.fetch_ms;
    j["links"] = r.links;
    if (r.links_dropped > 0) j["links_dropped"] = r.links_dropped;
    j["images"] = std::span(r.images.data(), images);
    if (const std::uint64_t dropped = r.images_dropped + (r.images.size() - images); dropped > 0)
      j["images_dropped"] = dropped;
    if (!r.parse_cut.empty()) j["parse_cut"] = clip(r.parse_cut);
    if (r.noindex) j["noindex"] = true;
  }
  j["depth"] = r.depth;
  if (!r.error.empty()) j["error"] = clip(r.error);
  if (!r.worker.empty()) j["worker"] = clip(r.worker);
  j["at_ms"] = r.at_ms;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// Field readers that never throw: a field of the wrong type makes the record unreadable (absent
// fields keep their defaults), so one bad record is skipped and counted, never fatal.
struct Reader {
  const nlohmann::json& j;
  bool ok = true;

  const nlohmann::json* find(const char* key) {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  void text(const char* key, std::string& out) {
    if (const auto* v = find(key)) {
      if (v->is_string())
        out = v->get<std::string>();
      else
        ok = false;
    }
  }
  template <class Int>
  void integer(const char* key, Int& out) {
    if (const auto* v = find(key)) {
      if (v->is_number_unsigned() && std::in_range<Int>(v->get<std::uint64_t>()))
        out = static_cast<Int>(v->get<std::uint64_t>());
      else if (v->is_number_integer() && std::in_range<Int>(v->get<std::int64_t>()))
        out = static_cast<Int>(v->get<std::int64_t>());
      else
        ok = false;
    }
  }
  void boolean(const char* key, bool& out) {
    if (const auto* v = find(key)) {
      if (v->is_boolean())
        out = v->get<bool>();
      else
        ok = false;
    }
  }
  void texts(const char* key, std::vector<std::string>& out) {
    if (const auto* v = find(key)) {
      if (!v->is_array()) {
        ok = false;
        return;
      }
      for (const auto& e : *v) {
        if (!e.is_string()) {
          ok = false;
          return;
        }
        out.push_back(e.get<std::string>());
      }
    }
  }
};

}  // namespace

std::optional<Record> record_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Record r;
  Reader read{j};
  std::string outcome;
  read.text("url", r.url);
  read.text("outcome", outcome);
  if (!read.ok || r.url.empty()) return std::nullopt;
  if (outcome == "done")
    r.outcome = Outcome::done;
  else if (outcome == "failed")
    r.outcome = Outcome::failed;
  else if (outcome == "filtered")
    r.outcome = Outcome::filtered;
  else
    return std::nullopt;
  read.text("reason", r.reason);
  read.integer("status", r.status);
  read.text("final_url", r.final_url);
  read.text("title", r.title);
  read.text("content_type", r.content_type);
  read.integer("bytes", r.bytes);
  read.boolean("truncated", r.truncated);
  read.integer("fetch_ms", r.fetch_ms);
  read.integer("depth", r.depth);
  read.integer("links", r.links);
  read.integer("links_dropped", r.links_dropped);
  read.integer("images_dropped", r.images_dropped);
  read.texts("images", r.images);
  read.text("parse_cut", r.parse_cut);
  read.boolean("noindex", r.noindex);
  read.text("error", r.error);
  read.text("worker", r.worker);
  read.integer("at_ms", r.at_ms);
  if (!read.ok) return std::nullopt;
  return r;
}

}  // namespace crawl::queue
