#include "queue/record.hpp"

#include <array>
#include <span>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace crawl::queue {

std::optional<Outcome> outcome_of(std::string_view text) {
  for (auto o : {Outcome::done, Outcome::failed, Outcome::filtered})
    if (text == to_string(o)) return o;
  return std::nullopt;
}

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
  for (std::string_view text :
       {std::string_view(r.url), std::string_view(r.final_url), std::string_view(r.canonical)})
    fixed += json_size_bound(text);
  for (const std::string* text :
       {&r.reason, &r.title, &r.content_type, &r.encoding, &r.encoding_from, &r.parse_cut,
        &r.sitemap, &r.warc_file, &r.error, &r.worker})
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
  for (std::string* text : {&r.reason, &r.title, &r.content_type, &r.encoding, &r.encoding_from,
                            &r.parse_cut, &r.sitemap, &r.warc_file, &r.error, &r.worker})
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
    if (!r.encoding.empty()) j["encoding"] = clip(r.encoding);
    if (!r.encoding_from.empty()) j["encoding_from"] = clip(r.encoding_from);
    if (!r.parse_cut.empty()) j["parse_cut"] = clip(r.parse_cut);
    if (r.noindex) j["noindex"] = true;
    if (!r.canonical.empty()) j["canonical"] = r.canonical;
    if (!r.sitemap.empty()) j["sitemap"] = clip(r.sitemap);
    if (!r.warc_file.empty()) {
      j["warc_file"] = clip(r.warc_file);
      j["warc_offset"] = r.warc_offset;
    }
  }
  j["depth"] = r.depth;
  if (!r.error.empty()) j["error"] = clip(r.error);
  if (!r.worker.empty()) j["worker"] = clip(r.worker);
  j["at_ms"] = r.at_ms;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// A record read in one pass of nlohmann's SAX parser, straight into a Record: no document is
// built (for a million records, crawlctl results and serve's streams spent most of their time
// building and freeing one per record). The rules are a document reader's: a field absent or
// null keeps its default; a field of the wrong type makes the record unreadable, so one bad
// record is skipped and counted, never fatal; a member given twice counts as its last; members
// of no field, whatever they hold, are passed over.
class RecordReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit RecordReader(Record& r) : m_r(r) {}

  // Whether the whole text was one object whose fields were of their types.
  bool read() const {
    for (bool b : m_bad)
      if (b) return false;
    return m_object;
  }
  const std::string& outcome() const { return m_outcome; }

  bool null() override {
    if (in_images()) bad();  // absent otherwise: the field keeps its default
    return true;
  }
  bool boolean(bool v) override {
    if (in_images()) return bad();
    if (!at_field()) return true;
    if (m_field->kind != Kind::boolean) return bad();
    m_r.*std::get<bool Record::*>(m_field->member) = v;
    return true;
  }
  bool number_integer(number_integer_t v) override { return integer(v); }
  bool number_unsigned(number_unsigned_t v) override { return integer(v); }
  bool number_float(number_float_t, const string_t&) override { return no_field_takes(); }
  bool binary(binary_t&) override { return no_field_takes(); }
  bool string(string_t& v) override {
    if (in_images()) {
      m_r.images.push_back(std::move(v));
      return true;
    }
    if (!at_field()) return true;
    if (m_field->kind != Kind::text) return bad();
    if (auto* m = std::get_if<std::string Record::*>(&m_field->member))
      m_r.** m = std::move(v);
    else
      m_outcome = std::move(v);
    return true;
  }
  bool start_object(std::size_t) override {
    if (m_depth == 0) m_object = true;
    if (at_field() || in_images()) bad();
    ++m_depth;
    return true;
  }
  bool key(string_t& k) override {
    if (m_depth != 1) return true;
    m_field = find(k);
    if (m_field) reset(*m_field);
    return true;
  }
  bool end_object() override { return end(); }
  bool start_array(std::size_t) override {
    if (m_depth == 0) return false;  // a record is an object
    if (in_images())
      bad();
    else if (at_field() && m_field->kind != Kind::texts)
      bad();
    else if (at_field())
      m_images = true;
    ++m_depth;
    return true;
  }
  bool end_array() override { return end(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  enum class Kind { text, integer, boolean, texts };
  using Member = std::variant<std::nullptr_t, std::string Record::*, int Record::*,
                              std::int64_t Record::*, std::uint64_t Record::*, bool Record::*>;
  struct Field {
    std::string_view name;
    Kind kind;
    Member member;  // nullptr: the outcome (kept as text until the end) and the images
  };
  static constexpr std::size_t k_fields = 26;
  static const std::array<Field, k_fields>& fields() {
    static const std::array<Field, k_fields> all = {{
        {"url", Kind::text, &Record::url},
        {"outcome", Kind::text, nullptr},
        {"reason", Kind::text, &Record::reason},
        {"status", Kind::integer, &Record::status},
        {"final_url", Kind::text, &Record::final_url},
        {"title", Kind::text, &Record::title},
        {"content_type", Kind::text, &Record::content_type},
        {"bytes", Kind::integer, &Record::bytes},
        {"truncated", Kind::boolean, &Record::truncated},
        {"fetch_ms", Kind::integer, &Record::fetch_ms},
        {"depth", Kind::integer, &Record::depth},
        {"links", Kind::integer, &Record::links},
        {"links_dropped", Kind::integer, &Record::links_dropped},
        {"images_dropped", Kind::integer, &Record::images_dropped},
        {"images", Kind::texts, nullptr},
        {"encoding", Kind::text, &Record::encoding},
        {"encoding_from", Kind::text, &Record::encoding_from},
        {"parse_cut", Kind::text, &Record::parse_cut},
        {"noindex", Kind::boolean, &Record::noindex},
        {"canonical", Kind::text, &Record::canonical},
        {"sitemap", Kind::text, &Record::sitemap},
        {"warc_file", Kind::text, &Record::warc_file},
        {"warc_offset", Kind::integer, &Record::warc_offset},
        {"error", Kind::text, &Record::error},
        {"worker", Kind::text, &Record::worker},
        {"at_ms", Kind::integer, &Record::at_ms},
    }};
    return all;
  }
  static const Field* find(std::string_view name) {
    for (const Field& f : fields())
      if (f.name == name) return &f;
    return nullptr;
  }
  static std::size_t index(const Field& f) {
    return static_cast<std::size_t>(&f - fields().data());
  }

  // The member is given again: back to its default and not bad, whatever came before. (The
  // record starts at its defaults: what a field given once finds.)
  void reset(const Field& f) {
    if (!m_seen[index(f)]) {
      m_seen[index(f)] = true;
      return;
    }
    m_bad[index(f)] = false;
    std::visit(
        [&](auto m) {
          if constexpr (std::is_same_v<decltype(m), std::nullptr_t>) {
            if (f.kind == Kind::texts)
              m_r.images.clear();
            else
              m_outcome.clear();
          } else {
            m_r.*m = std::remove_reference_t<decltype(m_r.*m)>{};
          }
        },
        f.member);
  }
  // A value that is a field's own (a member of the record, not inside one of its values).
  bool at_field() const { return m_depth == 1 && m_field != nullptr; }
  // An element of the images' list.
  bool in_images() const { return m_images && m_depth == 2; }
  bool bad() {
    if (m_field) m_bad[index(*m_field)] = true;
    return true;
  }
  bool no_field_takes() {
    if (at_field() || in_images()) bad();
    return true;
  }
  bool end() {
    --m_depth;
    if (m_depth == 1) {
      m_images = false;
      m_field = nullptr;
    }
    return true;
  }
  template <class Number>
  bool integer(Number v) {
    if (in_images()) return bad();
    if (!at_field()) return true;
    return std::visit(
        [&](auto m) {
          if constexpr (std::is_same_v<decltype(m), std::nullptr_t> ||
                        std::is_same_v<decltype(m), std::string Record::*> ||
                        std::is_same_v<decltype(m), bool Record::*>) {
            return bad();
          } else {
            using Int = std::remove_reference_t<decltype(m_r.*m)>;
            if (!std::in_range<Int>(v)) return bad();
            m_r.*m = static_cast<Int>(v);
            return true;
          }
        },
        m_field->member);
  }

  Record& m_r;
  std::string m_outcome;
  const Field* m_field = nullptr;  // the member of depth 1 being read, if it is a field
  std::array<bool, k_fields> m_bad{}, m_seen{};
  int m_depth = 0;
  bool m_object = false, m_images = false;
};

}  // namespace

std::optional<Record> record_from_json(std::string_view text) {
  Record r;
  RecordReader reader(r);
  if (!nlohmann::json::sax_parse(text, &reader) || !reader.read() || r.url.empty())
    return std::nullopt;
  const auto outcome = outcome_of(reader.outcome());
  if (!outcome) return std::nullopt;
  r.outcome = *outcome;
  return r;
}

}  // namespace crawl::queue
