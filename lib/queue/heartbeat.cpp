#include "queue/heartbeat.hpp"

#include <array>
#include <charconv>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace crawl::queue {

namespace {

// Every field but the errors, once: its name in the value and where it lives.
using Member = std::variant<std::string Heartbeat::*, std::int64_t Heartbeat::*,
                            std::uint64_t Heartbeat::*, int Heartbeat::*, double Heartbeat::*>;
struct Field {
  std::string_view name;
  Member member;
};
const std::array<Field, 18> k_fields = {{{"host", &Heartbeat::host},
                                         {"pid", &Heartbeat::pid},
                                         {"state", &Heartbeat::state},
                                         {"started_ms", &Heartbeat::started_ms},
                                         {"deploy", &Heartbeat::deploy},
                                         {"last_ms", &Heartbeat::last_ms},
                                         {"ttl_ms", &Heartbeat::ttl_ms},
                                         {"in_flight", &Heartbeat::in_flight},
                                         {"transfers", &Heartbeat::transfers},
                                         {"body_memory", &Heartbeat::body_memory},
                                         {"pages", &Heartbeat::pages},
                                         {"failed", &Heartbeat::failed},
                                         {"filtered", &Heartbeat::filtered},
                                         {"retries", &Heartbeat::retries},
                                         {"bytes", &Heartbeat::bytes},
                                         {"rate", &Heartbeat::rate},
                                         {"rss_bytes", &Heartbeat::rss_bytes},
                                         {"concurrency", &Heartbeat::concurrency}}};
constexpr std::string_view k_error_prefix = "error.";

void put_text(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '%' || c == '=' || c == '\n' || c == '\r')
      fmt::format_to(std::back_inserter(out), "%{:02X}", static_cast<unsigned char>(c));
    else
      out += c;
  }
}

std::string take_text(std::string_view text) {
  if (text.find('%') == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr ==
            text.data() + i + 3) {
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// `text` as a T, or T{} if it is not one, whole.
template <class T>
T number(std::string_view text) {
  T out{};
  if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
      ec != std::errc() || end != text.data() + text.size())
    return T{};
  return out;
}

// `value` into the member; text percent-decoded when `encoded` (a hash of the version before
// holds it as it is).
void set(Heartbeat& b, const Member& member, std::string_view value, bool encoded = true) {
  std::visit(
      [&](auto m) {
        using T = std::remove_cvref_t<decltype(b.*m)>;
        if constexpr (std::is_same_v<T, std::string>)
          b.*m = encoded ? take_text(value) : std::string(value);
        else
          b.*m = number<T>(value);
      },
      member);
}

const Field* find_field(std::string_view name) {
  for (const Field& f : k_fields)
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace

std::string encode_heartbeat(const Heartbeat& b) {
  std::string out;
  out.reserve(320);
  for (const Field& f : k_fields) {
    out += f.name;
    out += '=';
    std::visit(
        [&](auto m) {
          using T = std::remove_cvref_t<decltype(b.*m)>;
          if constexpr (std::is_same_v<T, std::string>)
            put_text(out, b.*m);
          else if constexpr (std::is_same_v<T, double>)
            fmt::format_to(std::back_inserter(out), "{:.2f}", b.*m);
          else
            fmt::format_to(std::back_inserter(out), "{}", b.*m);
        },
        f.member);
    out += '\n';
  }
  for (const auto& [reason, n] : b.errors) {
    out += k_error_prefix;
    put_text(out, reason);
    fmt::format_to(std::back_inserter(out), "={}\n", n);
  }
  return out;
}

Heartbeat decode_heartbeat(std::string_view value) {
  Heartbeat b;
  std::size_t next = 0;  // the writer's order: the field after the last one found, tried first
  while (!value.empty()) {
    const std::size_t end = std::min(value.find('\n'), value.size());
    const std::string_view line = value.substr(0, end);
    value.remove_prefix(std::min(end + 1, value.size()));
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, eq), text = line.substr(eq + 1);
    const Field* field =
        next < k_fields.size() && k_fields[next].name == name ? &k_fields[next] : find_field(name);
    if (field != nullptr) {
      set(b, field->member, text);
      next = static_cast<std::size_t>(field - k_fields.data()) + 1;
    } else if (name.starts_with(k_error_prefix)) {
      b.errors[take_text(name.substr(k_error_prefix.size()))] = number<std::uint64_t>(text);
    }
  }
  if (b.state.empty()) b.state = "running";
  return b;
}

Heartbeat parse_heartbeat_hash(const std::map<std::string, std::string>& fields) {
  Heartbeat b;
  for (const auto& [name, value] : fields)
    if (const Field* f = find_field(name); f != nullptr) set(b, f->member, value, false);
  if (b.state.empty()) b.state = "running";
  if (auto it = fields.find("errors"); it != fields.end()) {
    const auto errors = nlohmann::json::parse(it->second, nullptr, false);
    if (errors.is_object())
      for (auto e = errors.begin(); e != errors.end(); ++e)
        if (e->is_number_unsigned()) b.errors[e.key()] = e->get<std::uint64_t>();
  }
  return b;
}

}  // namespace crawl::queue
