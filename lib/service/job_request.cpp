#include "service/job_request.hpp"

#include <cctype>

#include <fmt/format.h>

#include "core/suggest.hpp"
#include "core/text.hpp"
#include "policy/job_options.hpp"
#include "policy/scope.hpp"

namespace crawl::service {

namespace {

using Body = nlohmann::json;
using OptionKind = policy::OptionRule::Kind;

// One option's value from JSON: a number (durations in ms), a boolean, a choice's name, a list
// of patterns; a duration may also be written as the command line takes it ("2s").
Result<void> read_option(policy::JobOptions& options, const policy::JobOption& option,
                         const Body& value) {
  switch (option.rule.kind) {
    case OptionKind::integer:
    case OptionKind::duration:
      if (value.is_number_integer())
        return policy::set_option(options, option, value.get<std::int64_t>());
      if (value.is_number_unsigned()) return fail("{} is out of range", value.dump());
      if (option.rule.kind == OptionKind::duration && value.is_string()) {
        // With its unit: a bare "1000" would read as seconds (as on the command line), in a
        // field named in milliseconds.
        const std::string& text = value.get_ref<const std::string&>();
        if (text.empty() || std::isdigit(static_cast<unsigned char>(text.back())) != 0)
          return fail(
              "'{}' needs its unit (\"1500ms\", \"2s\"), or give a number of "
              "milliseconds",
              text.substr(0, 50));
        return policy::set_option(options, option, std::string_view(text));
      }
      return fail("{}", option.rule.kind == OptionKind::duration
                            ? "expected a whole number of milliseconds or a duration such as \"2s\""
                            : "expected a whole number");
    case OptionKind::boolean:
      if (!value.is_boolean()) return fail("expected true or false");
      return policy::set_option(options, option, value.get<bool>() ? 1 : 0);
    case OptionKind::choice:
      if (!value.is_string())
        return fail("expected one of {}", fmt::join(option.rule.choices, ", "));
      return policy::set_option(options, option,
                                std::string_view(value.get_ref<const std::string&>()));
    case OptionKind::url:
      if (!value.is_string()) return fail("expected an http or https URL");
      return policy::set_option(options, option,
                                std::string_view(value.get_ref<const std::string&>()));
    case OptionKind::patterns: {
      if (!value.is_array()) return fail("expected a list of regular expressions");
      auto& list = options.*std::get<std::vector<std::string> policy::JobOptions::*>(option.member);
      list.clear();  // the body's list replaces the default's
      for (const auto& p : value) {
        if (!p.is_string()) return fail("expected a list of regular expressions");
        if (auto set = policy::set_option(options, option,
                                          std::string_view(p.get_ref<const std::string&>()));
            !set)
          return set;
      }
      return {};
    }
  }
  return {};
}

}  // namespace

Result<void> read_job_request(const nlohmann::json& body, const config::JobDefaults& defaults,
                              std::size_t max_seeds, JobRequest& out) {
  if (!body.is_object()) return fail(ErrorKind::invalid, "the body must be a JSON object");
  out.options = defaults.options;
  std::vector<std::string_view> known = {"urls", "name"};
  for (const auto& option : policy::job_options()) known.push_back(option.field);
  const Body* urls = nullptr;
  for (const auto& [key, value] : body.items()) {
    if (key == "urls") {
      urls = &value;
    } else if (key == "name") {
      if (!value.is_string()) return fail(ErrorKind::invalid, "name: expected a string");
      out.name = value.get<std::string>();
      if (out.name.size() > k_max_name_bytes)
        return fail(ErrorKind::invalid, "name: longer than {} bytes", k_max_name_bytes);
    } else if (const auto* option = policy::find_job_option(key);
               option != nullptr && option->field == key) {
      if (auto set = read_option(out.options, *option, value); !set)
        return fail(ErrorKind::invalid, "{}: {}", key, set.error().message);
    } else {
      return fail(ErrorKind::invalid, "unknown field '{}'{}", escape_control(key.substr(0, 100)),
                  did_you_mean(key, known));
    }
  }
  if (urls == nullptr || !urls->is_array() || urls->empty())
    return fail(ErrorKind::invalid, "urls: expected a list of one or more URLs");
  if (urls->size() > max_seeds)
    return fail(ErrorKind::invalid,
                "urls: {} URLs in one request, at most {} (crawlctl submit -f takes any number)",
                urls->size(), max_seeds);
  if (auto filter = policy::LinkFilter::create(out.options, {}); !filter)
    return fail(ErrorKind::invalid, "{}", filter.error().message);
  std::vector<std::string> bad;
  for (std::size_t i = 0; i < urls->size(); ++i) {
    const Body& u = (*urls)[i];
    if (!u.is_string()) {
      bad.push_back(fmt::format("urls[{}]: expected a string", i));
      continue;
    }
    const std::string& text = out.urls.emplace_back(u.get<std::string>());
    const std::size_t before = out.seeds.links.size(), rejected = out.seeds.rejected;
    queue::add_seed(out.seeds, text, [i] { return fmt::format("urls[{}]", i); });
    if (out.seeds.rejected == rejected && out.seeds.links.size() == before)
      bad.push_back(fmt::format("urls[{}]: empty, or a comment", i));
  }
  const std::size_t total = bad.size() + out.seeds.rejected;
  if (total > 0) {
    for (const auto& m : out.seeds.messages) bad.push_back(m);
    bad.resize(std::min<std::size_t>(bad.size(), 5));
    return fail(
        ErrorKind::invalid, "{}{}", fmt::join(bad, "; "),
        total > bad.size() ? fmt::format("; and {} more bad URLs", total - bad.size()) : "");
  }
  return {};
}

nlohmann::ordered_json job_request_schema(std::size_t max_seeds) {
  using OJson = nlohmann::ordered_json;
  OJson properties = OJson::object();
  properties["urls"] = {{"type", "array"},
                        {"minItems", 1},
                        {"maxItems", max_seeds},
                        {"items", {{"type", "string"}}},
                        {"description", "Seed URLs (http or https)"}};
  properties["name"] = {
      {"type", "string"}, {"maxLength", k_max_name_bytes}, {"description", "A name for the job"}};
  const policy::JobOptions defaults;
  for (const auto& option : policy::job_options()) {
    OJson p;
    const std::string help = fmt::format("{} (crawlctl submit {})", option.help, option.flag);
    switch (option.rule.kind) {
      case OptionKind::integer:
        p = {{"type", "integer"},
             {"minimum", option.rule.low},
             {"maximum", option.rule.high},
             {"default", policy::option_integer(defaults, option)}};
        break;
      case OptionKind::duration:
        p = {{"oneOf",
              {{{"type", "integer"}, {"minimum", option.rule.low}, {"maximum", option.rule.high}},
               {{"type", "string"}, {"pattern", "^[0-9.]+ ?(ms|s|m|h)$"}}}},
             {"default", policy::option_integer(defaults, option)}};
        break;
      case OptionKind::boolean:
        p = {{"type", "boolean"}, {"default", policy::option_integer(defaults, option) != 0}};
        break;
      case OptionKind::choice:
        p = {{"type", "string"},
             {"enum", option.rule.choices},
             {"default", policy::option_text(defaults, option)}};
        break;
      case OptionKind::patterns:
        p = {{"type", "array"}, {"items", {{"type", "string"}}}};
        break;
      case OptionKind::url:
        p = {
            {"type", "string"}, {"maxLength", option.rule.high}, {"pattern", "^(https?://\\S+)?$"}};
        break;
    }
    p["description"] =
        help + (option.rule.kind == OptionKind::duration ? "; milliseconds, or \"2s\"" : "");
    properties[std::string(option.field)] = std::move(p);
  }
  return {{"type", "object"},
          {"required", {"urls"}},
          {"additionalProperties", false},
          {"properties", std::move(properties)}};
}

}  // namespace crawl::service
