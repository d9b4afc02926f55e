#pragma once
// JSON written straight into a string, exactly as nlohmann::json's
// dump(indent, ' ', true, error_handler_t::replace) writes it (core/output.hpp's json_text): ASCII
// only, every other character \u-escaped, a byte that is not UTF-8 as U+FFFD. For documents too
// big to build as nlohmann::json first: building and dumping one was about 40% of `status
// --json`'s 190 ms at 10,000 workers, most of it allocating the document's nodes
// (docs/performance.md).

#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace crawl {

class JsonWriter {
 public:
  // What to do with the text written so far: given once it passes 64 KiB, and by flush(); it
  // empties `out` (writes it to a stream, say), so a big document is never held whole.
  using Sink = std::function<void(std::string& out)>;

  // indent < 0: compact, on one line.
  explicit JsonWriter(std::string& out, int indent = -1, Sink sink = {})
      : m_out(out), m_indent(indent), m_sink(std::move(sink)) {}

  // Hands what is written to the sink (if any).
  void flush() {
    if (m_sink) m_sink(m_out);
  }

  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  // In an object: the next member's name; its value follows.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool b);
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(std::uint64_t n);
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, std::int64_t> &&
           !std::same_as<T, std::uint64_t>) JsonWriter& value(T n) {
    if constexpr (std::signed_integral<T>)
      return value(static_cast<std::int64_t>(n));
    else
      return value(static_cast<std::uint64_t>(n));
  }
  JsonWriter& value(double x);  // NaN and infinities as null, as nlohmann writes them
  JsonWriter& null();
  // A document built with nlohmann (small: a job, a list of problems), written in place.
  JsonWriter& value(const nlohmann::ordered_json& json);
  // key(name).value(v)
  template <class T>
  JsonWriter& member(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  // `text` as a JSON string, quotes included, appended to `out`.
  static void append_string(std::string& out, std::string_view text);

 private:
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  // Before a value: the comma and line break an element needs (none after a key).
  void element();
  void newline(std::size_t depth);

  std::string& m_out;
  int m_indent;
  Sink m_sink;
  std::vector<bool> m_empty;  // per open container: nothing in it yet
  bool m_after_key = false;
};

}  // namespace crawl
