#include "html/html.hpp"

#include <cctype>
#include <memory>
#include <unordered_map>

#include <gumbo.h>
#include <strings.h>

#include "core/text.hpp"

namespace crawl::html {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

const char* attribute(const GumboElement& element, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&element.attributes, name);
  return a != nullptr ? a->value : nullptr;
}

// True when the space- or comma-separated list holds `token`, ignoring case.
bool has_token(std::string_view list, std::string_view token) {
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && (is_space(list[i]) || list[i] == ',')) ++i;
    const std::size_t start = i;
    while (i < list.size() && !is_space(list[i]) && list[i] != ',') ++i;
    const std::string_view word = list.substr(start, i - start);
    if (word.size() == token.size() && strncasecmp(word.data(), token.data(), word.size()) == 0)
      return true;
  }
  return false;
}

// Appends `text` with runs of white space as one space, up to `limit` bytes of `out`.
void append_collapsed(std::string& out, std::string_view text, std::size_t limit) {
  for (char c : text) {
    if (out.size() >= limit) return;
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
}

void collect_text(const GumboNode* node, std::string& out) {
  if (out.size() >= k_max_title_bytes + 4) return;
  if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE ||
      node->type == GUMBO_NODE_CDATA) {
    append_collapsed(out, node->v.text.text, k_max_title_bytes + 4);
  } else if (node->type == GUMBO_NODE_ELEMENT) {
    const GumboVector& children = node->v.element.children;
    for (unsigned i = 0; i < children.length; ++i)
      collect_text(static_cast<const GumboNode*>(children.data[i]), out);
  }
}

// Whether an element sits inside <noscript>: Gumbo parses with scripting off, so a browser with
// scripts (the page a site means) never sees what is there, e.g. a "JavaScript required" refresh.
bool in_noscript(const GumboNode* node) {
  for (const GumboNode* p = node->parent; p != nullptr; p = p->parent)
    if (p->type == GUMBO_NODE_ELEMENT && p->v.element.tag == GUMBO_TAG_NOSCRIPT) return true;
  return false;
}

void visit(const GumboNode* node, Page& page, bool& have_title) {
  const GumboElement& e = node->v.element;
  if (e.tag_namespace != GUMBO_NAMESPACE_HTML) return;  // <svg><a>, <svg><title> are not ours
  switch (e.tag) {
    case GUMBO_TAG_A:
    case GUMBO_TAG_AREA:
      if (const char* href = attribute(e, "href")) {
        const char* rel = attribute(e, "rel");
        page.links.push_back({href, rel != nullptr && has_token(rel, "nofollow")});
      }
      break;
    case GUMBO_TAG_LINK:
      if (const char* rel = attribute(e, "rel");
          rel && (has_token(rel, "next") || has_token(rel, "prev")))
        if (const char* href = attribute(e, "href"))
          page.links.push_back({href, has_token(rel, "nofollow")});
      if (const char* rel = attribute(e, "rel"); rel && has_token(rel, "canonical"))
        if (const char* href = attribute(e, "href"); href && page.canonical_href.empty())
          page.canonical_href = href;
      break;
    case GUMBO_TAG_IMG:
    case GUMBO_TAG_SOURCE:
      if (const char* src = attribute(e, "src"); src && e.tag == GUMBO_TAG_IMG && *src != '\0')
        page.images.emplace_back(src);
      if (const char* srcset = attribute(e, "srcset"))
        for (auto& u : srcset_urls(srcset)) page.images.push_back(std::move(u));
      break;
    case GUMBO_TAG_BASE:
      if (const char* href = attribute(e, "href"); href && page.base_href.empty())
        page.base_href = href;
      break;
    case GUMBO_TAG_META:
      // Only the first refresh counts, as in a browser (one that only reloads, or waits too
      // long, too), and none inside <noscript>.
      if (const char* equiv = attribute(e, "http-equiv");
          equiv && strcasecmp(equiv, "refresh") == 0 && !page.refresh_seen && !in_noscript(node))
        if (const char* content = attribute(e, "content"); content && refresh_parses(content)) {
          page.refresh_seen = true;
          page.refresh_href = refresh_url(content);
        }
      if (const char* name = attribute(e, "name"); name && strcasecmp(name, "robots") == 0)
        if (const char* content = attribute(e, "content")) {
          const bool none = has_token(content, "none");
          page.meta_nofollow = page.meta_nofollow || none || has_token(content, "nofollow");
          page.meta_noindex = page.meta_noindex || none || has_token(content, "noindex");
        }
      break;
    case GUMBO_TAG_TITLE:
      if (!have_title) {
        have_title = true;
        for (unsigned i = 0; i < e.children.length; ++i)
          collect_text(static_cast<const GumboNode*>(e.children.data[i]), page.title);
        page.title.resize(utf8_prefix(page.title, k_max_title_bytes).size());
        while (!page.title.empty() && page.title.back() == ' ') page.title.pop_back();
      }
      break;
    default:
      break;
  }
}

// Gumbo allocates and frees every node, string and vector separately, and malloc and free come
// to a tenth of the crawler's CPU. For pages of ordinary size it allocates from a per-thread
// arena instead: bump allocation, nothing freed until the page is done, then all of it at once.
class Arena {
 public:
  static constexpr std::size_t k_block = 256 * 1024;
  static constexpr std::size_t k_keep = 16;              // blocks kept between pages: 4 MiB
  static constexpr std::size_t k_max_body = 256 * 1024;  // larger pages use malloc: bounded memory

  void* allocate(std::size_t n) {
    n = (n + 15) & ~std::size_t{15};
    if (n > m_left) next_block(n);
    void* p = m_next;
    m_next += n;
    m_left -= n;
    return p;
  }
  // Makes every block free again; blocks beyond k_keep go back to the system.
  void reset() {
    if (m_blocks.size() > k_keep) m_blocks.resize(k_keep);
    m_current = 0;
    m_next = m_blocks.empty() ? nullptr : m_blocks.front().data.get();
    m_left = m_blocks.empty() ? 0 : m_blocks.front().size;
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t size;
  };
  void next_block(std::size_t n) {
    // Reuse the following block when it is large enough, else make one.
    if (m_next != nullptr) ++m_current;
    if (m_current < m_blocks.size() && m_blocks[m_current].size >= n) {
      m_next = m_blocks[m_current].data.get();
      m_left = m_blocks[m_current].size;
      return;
    }
    const std::size_t size = std::max(n, k_block);
    m_blocks.insert(
        m_blocks.begin() + static_cast<std::ptrdiff_t>(std::min(m_current, m_blocks.size())),
        Block{std::unique_ptr<char[]>(new char[size]), size});
    m_current = std::min(m_current, m_blocks.size() - 1);
    m_next = m_blocks[m_current].data.get();
    m_left = size;
  }
  std::vector<Block> m_blocks;
  std::size_t m_current = 0;
  char* m_next = nullptr;
  std::size_t m_left = 0;
};

void* arena_allocate(void* arena, std::size_t n) {
  return static_cast<Arena*>(arena)->allocate(n);
}
void arena_free(void*, void*) {}

struct OutputFree {
  const GumboOptions* options;
  void operator()(GumboOutput* output) const {
    if (options->deallocator == arena_free) return;  // the arena is reset instead
    gumbo_destroy_output(options, output);
  }
};

// Tags that nest nothing, or that the parser closes by itself when a sibling starts: they do not
// deepen the tree however many are left open.
bool keeps_depth(std::string_view tag) {
  static constexpr std::string_view k_tags[] = {
      "area", "base", "br",     "col", "dd",    "dt",     "embed", "hr", "img", "input", "li",
      "link", "meta", "option", "p",   "param", "source", "td",    "th", "tr",  "track", "wbr"};
  for (std::string_view t : k_tags)
    if (tag.size() == t.size() && strncasecmp(tag.data(), t.data(), t.size()) == 0) return true;
  return false;
}

std::string lower_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Elements whose content is text, not markup: what looks like a tag inside them is not one.
bool raw_text(std::string_view tag) {
  return tag == "script" || tag == "style" || tag == "textarea" || tag == "title" || tag == "xmp" ||
         tag == "iframe" || tag == "noembed" || tag == "noframes" || tag == "plaintext";
}

// The prefix of `body` that is parsed: within it element nesting stays at or below k_max_depth
// and it holds at most k_max_elements start tags and comments (each a node of the tree). It keeps
// the stack of open elements roughly as a parser does: an end tag closes the nearest open element
// of its name and is ignored when none is open (so "<div></x>" still nests), raw-text elements are
// skipped to their end tag, comments are skipped. Linear.
struct Prefix {
  std::size_t length;
  enum class Cut { none, nesting, elements } cut = Cut::none;
};

Prefix parse_prefix(std::string_view body) {
  std::vector<std::string> open;
  std::unordered_map<std::string, int> count;  // open elements per name: O(1) stray end tags
  std::size_t i = 0;
  auto tag_name = [&](std::size_t from) {
    std::size_t end = from;
    while (end < body.size() && std::isalnum(static_cast<unsigned char>(body[end])) != 0) ++end;
    return body.substr(from, end - from);
  };
  // Nodes of the tree: start tags and comments; "<!x>" and "<?x>" (bogus comments, doctypes);
  // and the end tags a parser turns into elements: "</br>", and "</p>" with no <p> open.
  std::size_t elements = 0;
  bool p_open = false;
  while ((i = body.find('<', i)) != std::string_view::npos) {
    if (body.compare(i, 4, "<!--") == 0) {
      if (++elements > k_max_elements) return {i, Prefix::Cut::elements};
      const std::size_t end = body.find("-->", i + 4);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    const std::size_t start = i++;
    if (i < body.size() && (body[i] == '!' || body[i] == '?')) {
      if (++elements > k_max_elements) return {start, Prefix::Cut::elements};
      continue;
    }
    if (i < body.size() && body[i] == '/') {
      const std::string name = lower_name(tag_name(i + 1));
      if (name == "br" || (name == "p" && !p_open))
        if (++elements > k_max_elements) return {start, Prefix::Cut::elements};
      if (name == "p") p_open = false;
      auto it = count.find(name);
      if (it == count.end() || it->second == 0) continue;  // nothing of that name is open
      while (!open.empty()) {
        const std::string top = std::move(open.back());
        open.pop_back();
        --count[top];
        if (top == name) break;
      }
      continue;
    }
    const std::string name = lower_name(tag_name(i));
    if (name.empty()) continue;
    if (++elements > k_max_elements) return {start, Prefix::Cut::elements};
    if (name == "p") p_open = true;
    if (keeps_depth(name)) continue;
    if (raw_text(name)) {
      // Skip to "</name", whatever lies between.
      std::size_t close = i;
      while ((close = body.find("</", close)) != std::string_view::npos &&
             lower_name(tag_name(close + 2)) != name)
        close += 2;
      if (close == std::string_view::npos) break;
      i = close;
      continue;
    }
    open.push_back(name);
    ++count[name];
    if (open.size() > static_cast<std::size_t>(k_max_depth)) return {start, Prefix::Cut::nesting};
  }
  return {body.size()};
}

}  // namespace

bool refresh_parses(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size() &&
         (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\f' || in[i] == '\r'))
    ++i;
  const bool digit = i < in.size() && in[i] >= '0' && in[i] <= '9';
  if (!digit && (i >= in.size() || in[i] != '.')) return false;
  while (i < in.size() && ((in[i] >= '0' && in[i] <= '9') || in[i] == '.')) ++i;
  return i >= in.size() || in[i] == ';' || in[i] == ',' || in[i] == ' ' || in[i] == '\t' ||
         in[i] == '\n' || in[i] == '\f' || in[i] == '\r';
}

std::string refresh_url(std::string_view in, double max_seconds) {
  // HTML's "shared declarative refresh steps", up to the URL string (resolved by the caller).
  std::size_t i = 0;
  auto ascii_space = [&] {
    return i < in.size() &&
           (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\f' || in[i] == '\r');
  };
  auto skip_space = [&] {
    while (ascii_space()) ++i;
  };
  auto at = [&](char lower) { return i < in.size() && (in[i] | 0x20) == lower; };
  skip_space();
  const std::size_t digits = i;
  double seconds = 0;
  while (i < in.size() && in[i] >= '0' && in[i] <= '9') {
    if (seconds <= max_seconds) seconds = seconds * 10 + (in[i] - '0');
    ++i;
  }
  if (i == digits && (i >= in.size() || in[i] != '.')) return {};
  while (i < in.size() && ((in[i] >= '0' && in[i] <= '9') || in[i] == '.')) ++i;
  if (seconds > max_seconds || i >= in.size()) return {};
  if (in[i] != ';' && in[i] != ',' && !ascii_space()) return {};
  skip_space();
  if (i < in.size() && (in[i] == ';' || in[i] == ',')) ++i;
  skip_space();
  if (i >= in.size()) return {};
  std::string_view url = in.substr(i);
  if (at('u')) {
    ++i;
    if (at('r') && (++i, at('l'))) {
      ++i;
      skip_space();
      if (i < in.size() && in[i] == '=') {
        ++i;
        skip_space();
        url = in.substr(i);
        if (i < in.size() && (in[i] == '\'' || in[i] == '"')) {
          const char quote = in[i];
          url = in.substr(i + 1);
          url = url.substr(0, url.find(quote));
        }
      }
    }
  } else if (in[i] == '\'' || in[i] == '"') {
    const char quote = in[i];
    url = in.substr(i + 1);
    url = url.substr(0, url.find(quote));
  }
  while (!url.empty() && static_cast<unsigned char>(url.back()) <= ' ') url.remove_suffix(1);
  return std::string(url);
}

std::vector<std::string> srcset_urls(std::string_view s) {
  // HTML "parse a srcset attribute": skip white space and commas, take the URL up to white
  // space, drop trailing commas from it, then skip its descriptors up to the next comma that is
  // not inside parentheses.
  std::vector<std::string> urls;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (is_space(s[i]) || s[i] == ',')) ++i;
    if (i >= s.size()) break;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    std::string_view url = s.substr(start, i - start);
    bool ended_by_comma = false;
    while (!url.empty() && url.back() == ',') {
      url.remove_suffix(1);
      ended_by_comma = true;
    }
    if (!url.empty()) urls.emplace_back(url);
    if (ended_by_comma) continue;
    int depth = 0;
    for (; i < s.size(); ++i) {
      if (s[i] == '(')
        ++depth;
      else if (s[i] == ')' && depth > 0)
        --depth;
      else if (s[i] == ',' && depth == 0)
        break;
    }
  }
  return urls;
}

Page extract(std::string_view body, std::size_t max_bytes) {
  Page page;
  if (body.size() > max_bytes) {
    body = body.substr(0, max_bytes);
    page.size_cut = true;
  }
  if (const Prefix keep = parse_prefix(body); keep.length < body.size()) {
    body = body.substr(0, keep.length);
    page.nesting_cut = keep.cut == Prefix::Cut::nesting;
    page.elements_cut = keep.cut == Prefix::Cut::elements;
  }
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 0;  // parse errors are not recorded: faster, and nothing reads them
  thread_local Arena arena;
  const bool use_arena = body.size() <= Arena::k_max_body;
  if (use_arena) {
    options.allocator = arena_allocate;
    options.deallocator = arena_free;
    options.userdata = &arena;
  }
  struct ResetArena {
    bool active;
    ~ResetArena() {
      if (active) arena.reset();
    }
  } reset{use_arena};  // runs after `output` below is gone
  std::unique_ptr<GumboOutput, OutputFree> output(
      gumbo_parse_with_options(&options, body.data(), body.size()), OutputFree{&options});
  if (!output) return page;
  bool have_title = false;
  // Depth-first in document order, with an explicit stack: broken markup can nest deeply.
  std::vector<const GumboNode*> stack{output->root};
  while (!stack.empty()) {
    const GumboNode* node = stack.back();
    stack.pop_back();
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) continue;
    visit(node, page, have_title);
    const GumboVector& children = node->v.element.children;
    for (unsigned i = children.length; i-- > 0;)
      stack.push_back(static_cast<const GumboNode*>(children.data[i]));
  }
  return page;
}

}  // namespace crawl::html
