// Measures the link resolver (lib/url) against the URL Standard's own test cases, the
// web-platform-tests file urltestdata.json (not in this repository: pass its path), for what a
// crawler resolves: an http(s) base, or an absolute http(s) input without one.
//
//   url_conformance urltestdata.json [--list]
//
// Each case lands in one class:
//   match        our normal form equals the standard's href (less its fragment and userinfo,
//                which the crawler never keeps), or both refuse the input
//   equivalent   not byte-equal, but our normalize() of the standard's href gives ours: the
//                difference is the normal form's own (escapes of unreserved characters decoded,
//                hex upper-cased), the same resource for any server that follows RFC 3986
//   deliberate   a difference the crawler chooses (a control character rejects a URL; a
//                scheme other than http(s) is refused)
//   mismatch     anything else
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "url/url.hpp"

namespace {

using crawl::url::Normalized;

std::string without_fragment_and_userinfo(std::string href) {
  if (auto hash = href.find('#'); hash != std::string::npos) href.erase(hash);
  const auto start = href.find("://");
  if (start == std::string::npos) return href;
  const auto end = href.find_first_of("/?", start + 3);
  const auto at = href.rfind('@', end == std::string::npos ? href.size() : end);
  if (at != std::string::npos && at > start) href.erase(start + 3, at - start - 2);
  return href;
}

bool is_http(const std::string& s) {
  return s.starts_with("http:") || s.starts_with("https:");
}

// A C0 control (other than tab and newline, which are dropped) or DEL inside the input, past the
// leading and trailing controls and spaces that are stripped.
bool has_control(std::string_view s) {
  auto blank = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: url_conformance urltestdata.json [--list]\n");
    return 2;
  }
  const bool list = argc > 2 && std::string(argv[2]) == "--list";
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "url_conformance: cannot open %s\n", argv[1]);
    return 2;
  }
  const auto cases = nlohmann::json::parse(in, nullptr, false);
  if (!cases.is_array()) {
    std::fprintf(stderr, "url_conformance: %s is not a JSON list\n", argv[1]);
    return 2;
  }
  std::map<std::string, int> counts;
  for (const auto& c : cases) {
    if (!c.is_object() || !c.contains("input")) continue;
    const std::string input = c["input"].get<std::string>();
    const bool has_base = c.contains("base") && c["base"].is_string();
    const std::string base = has_base ? c["base"].get<std::string>() : "";
    if (has_base ? !is_http(base) : !is_http(input)) continue;
    const bool failure = c.value("failure", false);
    const std::string href = failure ? "" : c.value("href", "");
    if (!failure && href.empty()) continue;
    const Normalized ours =
        has_base ? crawl::url::resolve(base, input) : crawl::url::normalize(input);
    std::string verdict;
    if (failure) {
      verdict = ours ? "mismatch" : "match";
    } else if (!is_http(href)) {
      // Another scheme: the crawler refuses those.
      verdict = !ours && ours.error() == crawl::url::Reject::not_http ? "deliberate" : "mismatch";
    } else {
      const std::string want = without_fragment_and_userinfo(href);
      if (ours && *ours == want) {
        verdict = "match";
      } else if (ours) {
        const Normalized renormal = crawl::url::normalize(want);
        verdict = renormal && *renormal == *ours ? "equivalent" : "mismatch";
      } else {
        verdict = has_control(input) ? "deliberate" : "mismatch";
      }
    }
    ++counts[verdict];
    if (list && verdict != "match")
      std::printf("%-10s input=%s base=%s want=%s ours=%s\n", verdict.c_str(),
                  nlohmann::json(input).dump().c_str(), nlohmann::json(base).dump().c_str(),
                  failure ? "(failure)" : nlohmann::json(href).dump().c_str(),
                  ours ? nlohmann::json(*ours).dump().c_str()
                       : std::string(crawl::url::to_string(ours.error())).c_str());
  }
  int total = 0;
  for (const auto& [k, n] : counts) total += n;
  std::printf("%d http(s) cases:", total);
  for (const char* k : {"match", "equivalent", "deliberate", "mismatch"})
    std::printf(" %s %d (%.1f%%)", k, counts[k], total ? 100.0 * counts[k] / total : 0.0);
  std::printf("\n");
  return 0;
}
