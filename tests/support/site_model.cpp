#include "site_model.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <random>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "encoded_pages.inc"

namespace crawl::testing {

const ManifestEntry* Manifest::find(std::string_view url) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), url,
                             [](const ManifestEntry& e, std::string_view u) { return e.url < u; });
  return it != entries.end() && it->url == url ? &*it : nullptr;
}

std::string Manifest::to_json() const {
  nlohmann::ordered_json j;
  j["root"] = root;
  j["robots_txt"] = robots_txt;
  j["assumes"] = {{"max_body_bytes", options.body_cap},
                  {"max_redirects", options.max_redirects},
                  {"robots_agent", options.robots_agent},
                  {"timeout_below_seconds", options.slow_seconds}};
  auto& list = j["entries"] = nlohmann::ordered_json::array();
  for (const auto& e : entries)
    list.push_back({{"url", e.url},
                    {"expect", e.expect},
                    {"reason", e.reason},
                    {"status", e.status},
                    {"final_url", e.final_url},
                    {"content_type", e.content_type},
                    {"title", e.title},
                    {"images", e.images},
                    {"truncated", e.truncated},
                    {"canonical", e.canonical},
                    {"encoding", e.encoding},
                    {"encoding_from", e.encoding_from}});
  return j.dump(1);
}

namespace {

// What the server has at one URL (queries are ignored by the server, as nginx does).
struct Resource {
  // sitemap: read for its links; bad_sitemap: refused (failed: bad_sitemap).
  enum class Kind { page, file, redirect, slow, trickle, sitemap, bad_sitemap } kind = Kind::page;
  int status = 200;
  std::string content_type = "text/html";
  std::string location;            // redirect: the normalised target
  std::vector<std::string> links;  // normalised targets a crawler must follow, in order
  std::set<std::string> images;    // normalised image URLs
  std::string title;               // as the page's <title> says (pages only)
  bool truncated = false;
  std::string encoding, encoding_from;  // pages: as the crawler must find them ("": unchecked)
  std::string canonical;                // pages: the <link rel=canonical> they name, normalised
  std::string refresh;  // pages: where a meta refresh sends them (normalised), followed as a hop
};

constexpr std::string_view k_words[] = {
    "crawler", "frontier", "lease",  "worker", "redis",   "fleet",  "robots", "politeness",
    "parser",  "gumbo",    "curl",   "queue",  "deploy",  "shard",  "page",   "link",
    "image",   "title",    "status", "retry",  "timeout", "header", "body",   "anchor"};

// Accumulates one HTML page and the facts a crawler must find in it.
class PageWriter {
 public:
  PageWriter(std::string title, Resource& resource) : m_title(std::move(title)), m_res(resource) {
    m_res.title = m_title;
    m_res.encoding = "UTF-8";  // html() declares it
    m_res.encoding_from = "meta";
  }

  void head(std::string_view markup) { m_head += markup; }
  void raw(std::string_view markup) { m_body += markup; }

  // An anchor a crawler must follow to `target` (normalised); "" when it leads nowhere crawlable.
  void link(std::string_view href, const std::string& target, int style = 0) {
    switch (style % 3) {
      case 0:
        m_body += "<a href=\"" + std::string(href) + "\">link</a> ";
        break;
      case 1:
        m_body += "<A HREF='" + std::string(href) + "' CLASS=x>Link</A>\n";
        break;
      default:
        m_body += "<a\n  class=\"nav\"\n  href=\"" + std::string(href) + "\">l</a> ";
        break;
    }
    if (!target.empty()) m_res.links.push_back(target);
  }

  void image(std::string_view src, const std::string& target) {
    m_body += "<img src=\"" + std::string(src) + "\" alt=\"\">";
    m_res.images.insert(target);
  }

  // srcset candidates: (url as written, normalised, descriptor).
  void srcset(const std::vector<std::tuple<std::string, std::string, std::string>>& candidates) {
    std::string attr;
    for (const auto& [written, target, descriptor] : candidates) {
      if (!attr.empty()) attr += ",  ";
      attr += written + " " + descriptor;
      m_res.images.insert(target);
    }
    m_body += "<img srcset=\"" + attr + "\" alt=\"\">";
  }

  std::string html() const {
    return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + m_title + "</title>" +
           m_head + "</head>\n<body>\n<h1>" + m_title + "</h1>\n" + m_body + "\n</body></html>\n";
  }

 private:
  std::string m_title, m_head, m_body;
  Resource& m_res;
};

class Builder {
 public:
  Builder(const SiteOptions& options, int port)
      : m_opt(options),
        m_port(std::to_string(port)),
        m_base("http://127.0.0.1:" + m_port),
        m_rng(options.seed) {
    if (options.pages < 20) throw std::invalid_argument("SiteOptions::pages must be >= 20");
  }

  Site build() {
    m_site.base = m_base;
    robots();
    root();
    for (int i = 0; i < m_opt.pages; ++i) numbered_page(i);
    specials();
    encoded_pages();
    if (m_opt.sitemaps) sitemaps();
    m_site.manifest = manifest();
    return std::move(m_site);
  }

 private:
  std::string url(std::string_view path) const { return m_base + std::string(path); }
  std::string page_url(int i) const { return url("/page/" + std::to_string(i) + ".html"); }
  unsigned next(unsigned bound) { return static_cast<unsigned>(m_rng() % bound); }

  std::string filler(std::size_t bytes) {
    std::string text;
    while (text.size() < bytes) {
      text += "<p>";
      for (int w = 0; w < 12; ++w) {
        text += k_words[next(std::size(k_words))];
        text += ' ';
      }
      text += "</p>\n";
    }
    return text;
  }

  Resource& resource(const std::string& path) { return m_resources[url(path)]; }

  void put_page(const std::string& path, const PageWriter& page) {
    m_site.files[path == "/" ? "/index.html" : path] = page.html();
  }

  void put_file(const std::string& path, std::string content, std::string type) {
    Resource& r = resource(path);
    r.kind = Resource::Kind::file;
    r.content_type = std::move(type);
    m_site.files[path] = std::move(content);
  }

  void redirect(const std::string& path, int status, const std::string& location_sent,
                const std::string& target) {
    Resource& r = resource(path);
    r.kind = Resource::Kind::redirect;
    r.status = status;
    r.location = target;
    m_site.specials.push_back({path, SpecialLocation::Kind::redirect, status, location_sent});
  }

  // A page with a title, an image and links: for the special corners of the site.
  void simple_page(const std::string& path, const std::vector<int>& links) {
    Resource& r = resource(path);
    PageWriter page("Special " + path, r);
    for (int t : links) page.link("/page/" + std::to_string(t) + ".html", page_url(t));
    page.image("/img/special.png", url("/img/special.png"));
    put_page(path, page);
  }

  void robots() {
    // The crawler's own group must win over "*", and matching is case-insensitive (RFC 9309).
    std::string agent = m_opt.robots_agent;
    if (!agent.empty()) agent[0] = static_cast<char>(std::toupper(agent[0]));
    m_site.manifest.robots_txt =
        "# robots.txt of the crawl test site\n"
        "User-agent: *\n"
        "Disallow: /\n"
        "\n"
        "User-agent: " +
        agent +
        "\n"
        "Disallow: /private/\n"
        "Allow: /private/open.html\n"
        "Disallow: /*.cgi$\n"
        "Disallow: /tmp*\n"
        "\n"
        "User-agent: otherbot\n"
        "Disallow: /page/\n";
    m_site.files["/robots.txt"] = m_site.manifest.robots_txt;
  }

  // What robots.txt above means for our agent: longest match wins, Allow on a tie.
  static bool disallowed(std::string_view path_and_query) {
    if (path_and_query.starts_with("/private/open.html")) return false;
    if (path_and_query.starts_with("/private/")) return true;
    if (path_and_query.ends_with(".cgi")) return true;
    return path_and_query.starts_with("/tmp");
  }

  void root() {
    Resource& r = resource("/");
    PageWriter page("Crawl test site", r);
    page.link("/page/0.html", page_url(0));
    page.link("page/1.html", page_url(1), 1);
    // Redirects: a chain (relative and absolute Locations), hops leaving scope or robots, a
    // loop and a chain one hop longer than the crawl allows.
    for (const char* path : {"/redirect/start", "/redirect/away", "/redirect/private",
                             "/redirect/gone", "/loop/a", "/redirect/long/0"})
      page.link(path, url(path));
    // Servers that stall, trickle, or send too much.
    for (const char* path : {"/slow.html", "/trickle.html", "/big.html"})
      page.link(path, url(path));
    // Not HTML.
    for (const char* path :
         {"/files/report.pdf", "/files/data.json", "/files/notes.txt", "/img/0.png"})
      page.link(path, url(path), 2);
    // robots.txt at work.
    for (const char* path : {"/private/open.html", "/private/secret.html", "/private/",
                             "/cgi/run.cgi", "/cgi/run.cgi?x=1", "/tmpfiles/a.html"})
      page.link(path, url(path));
    // Links a crawler must not follow: rel=nofollow, and anything inside a comment or script.
    page.raw("<a rel=\"nofollow\" href=\"/hidden/nofollow.html\">no</a>");
    page.raw("<a rel=\"external NoFollow\" href=\"/hidden/nofollow2.html\">no</a>");
    page.raw("<!-- <a href=\"/hidden/comment.html\">old</a> -->");
    page.raw("<script>document.write('<a href=\"/hidden/script.html\">x</a>');</script>");
    page.link("/special/meta-nofollow.html", url("/special/meta-nofollow.html"));
    page.link("/special/canonical.html", url("/special/canonical.html"));
    page.link("/special/refresh.html", url("/special/refresh.html"));
    page.link("/special/refresh-later.html", url("/special/refresh-later.html"));
    // An image map, and a link that only an <area> holds.
    page.raw(
        "<img src=\"/img/map.png\" usemap=\"#m\" alt=\"\"><map name=\"m\">"
        "<area shape=\"rect\" coords=\"0,0,10,10\" href=\"/special/area.html\" alt=\"a\"></map>");
    r.links.push_back(url("/special/area.html"));
    r.images.insert(url("/img/map.png"));
    page.image("img/logo.png", url("/img/logo.png"));
    // Pages in other encodings than UTF-8.
    page.link("/enc/", url("/enc/"));
    put_page("/", page);
  }

  // Page i: a link to i+1 (so every page is reachable), three random links written in
  // assorted forms that normalise to the same URL, images, junk and broken markup.
  void numbered_page(int i) {
    const std::string self = "/page/" + std::to_string(i) + ".html";
    Resource& r = resource(self);
    PageWriter page("Page " + std::to_string(i), r);
    const bool has_base = i == 5;
    if (has_base) page.head("<base href=\"/deep/dir/\">");

    auto write_link = [&](int t, int form) {
      const std::string n = std::to_string(t);
      const std::string target = page_url(t);
      if (has_base) form = 3 + form % 2;  // relative forms would resolve against the base
      switch (form % 8) {
        case 0:
          page.link(n + ".html", target, i);
          break;
        case 1:
          page.link("./" + n + ".html", target, i);
          break;
        case 2:
          page.link("../page/" + n + ".html", target, i);
          break;
        case 3:
          page.link("/page/" + n + ".html", target, i);
          break;
        case 4:
          page.link(m_base + "/page/" + n + ".html", target, i);
          break;
        case 5:
          page.link("HTTP://127.0.0.1:" + m_port + "/page/./" + n + ".html#frag", target, i);
          break;
        case 6:
          page.link("/page/sub/../" + n + ".html#s2", target, i);
          break;
        default:
          page.link("  " + n + ".html\n", target, i);
          break;  // spaces are stripped
      }
    };

    if (i + 1 < m_opt.pages) write_link(i + 1, i);
    for (int k = 0; k < 3; ++k) write_link(static_cast<int>(next(m_opt.pages)), i + k + 1);
    if (has_base) {
      page.link("../../page/9.html", page_url(9));
      page.image("img/b.png", url("/deep/dir/img/b.png"));
    }
    if (i < 10 && !has_base) {
      // %3X is a percent-encoded digit: unreserved, so it normalises to the digit itself.
      const int t = (i + 5) % 10;
      page.link("/page/%3" + std::to_string(t) + ".html", page_url(t), i);
    }
    if (i % 10 == 3) {
      const std::string t = std::to_string((i + 2) % m_opt.pages);
      const std::string variant = url("/page/" + t + ".html?view=print");
      page.link(t + ".html?view=print", variant, i);
      page.link(t + ".html?view=%70rint#top", variant, i + 1);
    }
    if (i % 17 == 4)
      page.link("/missing/" + std::to_string(i) + ".html",
                url("/missing/" + std::to_string(i) + ".html"));
    if (i % 23 == 6) {
      page.link("http://127.0.0.9:" + m_port + "/page/" + std::to_string(i) + ".html",
                "http://127.0.0.9:" + m_port + "/page/" + std::to_string(i) + ".html");
      page.link("http://localhost:" + m_port + "/", "http://localhost:" + m_port + "/");
    }
    if (i % 5 == 2) {
      // Links that lead nowhere a crawler goes, or back to this very page.
      for (const char* junk : {"javascript:void(0)", "mailto:crawl@example.org", "tel:+100",
                               "data:text/html,hello", "ftp://127.0.0.1/file.txt"})
        page.link(junk, "");
      page.link("#top", url(self));
      page.link("", url(self));
    }
    if (i % 11 == 0) page.raw("<!-- <a href=\"/hidden/comment.html\">x</a> -->");

    // Images: 1 to 3, in assorted forms; a srcset on some pages; a data: URL is no image URL.
    const int images = 1 + i % 3;
    for (int k = 0; k < images; ++k) {
      const std::string n = std::to_string((i * 7 + k) % (m_opt.pages / 2));
      const std::string target = url("/img/" + n + ".png");
      if (has_base)
        page.image("/img/" + n + ".png", target);
      else if (k == 0)
        page.image("../img/" + n + ".png", target);
      else if (k == 1)
        page.image("/img/" + n + ".png", target);
      else
        page.image(m_base + "/img/" + n + ".png", target);
    }
    if (i % 4 == 1) {
      const std::string a = std::to_string(1000 + i), b = std::to_string(2000 + i);
      page.srcset({{"/img/" + a + ".png", url("/img/" + a + ".png"), "1x"},
                   {has_base ? "/img/" + b + ".png" : "../img/" + b + ".png",
                    url("/img/" + b + ".png"), "2x"}});
    }
    if (i % 9 == 2) page.raw("<img src=\"data:image/png;base64,iVBORw0KGgo=\" alt=\"\">");

    // Broken markup a real parser must get through.
    if (i % 3 == 1) page.raw("<div><p>unclosed <b>bold <table><tr><td>cell</span></td></div>");
    if (i % 3 == 2) page.raw("<p class=x id='y' data-z=\"w\">text</p></p></li>");
    page.raw(filler(m_opt.page_bytes));
    put_page(self, page);
  }

  void specials() {
    // A chain of three redirects to a page, with a relative and an absolute Location.
    redirect("/redirect/start", 301, "/redirect/hop1", url("/redirect/hop1"));
    redirect("/redirect/hop1", 302, url("/redirect/hop2"), url("/redirect/hop2"));
    redirect("/redirect/hop2", 307, "/page/7.html", page_url(7));
    redirect("/redirect/away", 302, "http://127.0.0.9:" + m_port + "/away.html",
             "http://127.0.0.9:" + m_port + "/away.html");
    redirect("/redirect/private", 301, "/private/secret.html", url("/private/secret.html"));
    redirect("/redirect/gone", 301, "/missing/gone.html", url("/missing/gone.html"));
    redirect("/loop/a", 302, "/loop/b", url("/loop/b"));
    redirect("/loop/b", 302, "/loop/a", url("/loop/a"));
    for (int h = 0; h <= m_opt.max_redirects; ++h) {
      const std::string next =
          h == m_opt.max_redirects ? "/page/0.html" : "/redirect/long/" + std::to_string(h + 1);
      redirect("/redirect/long/" + std::to_string(h), 302, next, url(next));
    }

    // /slow.html answers after slow_seconds; /trickle.html sends one byte a second.
    resource("/slow.html").kind = Resource::Kind::slow;
    resource("/slow.html").status = 0;
    resource("/slow.html").content_type = "";
    m_site.specials.push_back({"/slow.html", SpecialLocation::Kind::slow, 0, ""});
    resource("/trickle.html").kind = Resource::Kind::trickle;
    m_site.files["/trickle.html"] = "<html><body>" + std::string(64 * 1024, 'x') + "</body></html>";
    m_site.specials.push_back({"/trickle.html", SpecialLocation::Kind::trickle, 0, ""});

    // Twice the body cap: what lies past the cap (an image, a link) must not be seen.
    {
      Resource& r = resource("/big.html");
      r.truncated = true;
      PageWriter page("Big page", r);
      page.link("/page/1.html", page_url(1));
      page.image("/img/big-top.png", url("/img/big-top.png"));
      std::string html = page.html();
      html.resize(html.size() - std::string("\n</body></html>\n").size());
      while (html.size() < 2 * m_opt.body_cap) html += filler(64 * 1024);
      html += "<img src=\"/img/tail.png\"><a href=\"/hidden/tail.html\">t</a></body></html>\n";
      m_site.files["/big.html"] = std::move(html);
    }

    put_file("/files/report.pdf", "%PDF-1.4\n% not a real document\n%%EOF\n", "application/pdf");
    put_file("/files/data.json", "{\"links\": [\"/hidden/json.html\"]}\n", "application/json");
    put_file("/files/notes.txt", "<a href=\"/hidden/text.html\">not html</a>\n", "text/plain");
    static const char k_png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    put_file("/img/0.png", std::string(k_png, sizeof k_png - 1), "image/png");

    simple_page("/private/open.html", {3});
    simple_page("/private/secret.html", {});
    simple_page("/tmpfiles/a.html", {});
    simple_page("/special/area.html", {2});
    simple_page("/cgi/run.cgi", {4});
    m_site.specials.push_back({"/cgi/", SpecialLocation::Kind::html_type, 0, ""});
    for (const char* hidden : {"/hidden/nofollow.html", "/hidden/nofollow2.html",
                               "/hidden/comment.html", "/hidden/script.html", "/hidden/meta.html",
                               "/hidden/tail.html", "/hidden/json.html", "/hidden/text.html"})
      simple_page(hidden, {});
    {
      // A page naming another as its canonical form (recorded; its links followed by default).
      Resource& r = resource("/special/canonical.html");
      PageWriter page("Canonical elsewhere", r);
      page.head("<link rel=\"canonical\" href=\"../page/7.html?from=canonical#top\">");
      r.canonical = url("/page/7.html?from=canonical");
      page.link("/page/8.html", page_url(8));
      put_page("/special/canonical.html", page);
    }
    {
      // A meta refresh is a hop: followed (its links are not) to a page no link reaches...
      Resource& r = resource("/special/refresh.html");
      PageWriter page("Refresh", r);
      page.head(
          "<meta http-equiv=\"Refresh\" content=\" 0.5 ; URL = '../hidden/refreshed.html'\">");
      r.refresh = url("/hidden/refreshed.html");
      page.link("/page/9.html", page_url(9));
      put_page("/special/refresh.html", page);
      simple_page("/hidden/refreshed.html", {10});
      // ...unless it waits longer than a crawler does: then it is a page like any other.
      Resource& later = resource("/special/refresh-later.html");
      PageWriter later_page("Refresh later", later);
      later_page.head(
          "<meta http-equiv=\"refresh\" content=\"300;url=/hidden/refresh-later.html\">");
      later_page.link("/page/11.html", page_url(11));
      put_page("/special/refresh-later.html", later_page);
      simple_page("/hidden/refresh-later.html", {});
    }
    {
      Resource& r = resource("/special/meta-nofollow.html");
      PageWriter page("Meta nofollow", r);
      page.head("<meta name=\"robots\" content=\"noindex, NOFOLLOW\">");
      page.raw("<a href=\"/hidden/meta.html\">not to be followed</a>");
      page.image("/img/meta.png", url("/img/meta.png"));
      put_page("/special/meta-nofollow.html", page);
      m_meta_nofollow.insert(url("/special/meta-nofollow.html"));
    }
  }

  // A query or path as a browser sends it: the bytes given, those of the special-query
  // percent-encode set (and all but ASCII) escaped in upper-case hex.
  static std::string escaped(std::string_view bytes) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const char ch : bytes) {
      const auto c = static_cast<unsigned char>(ch);
      if (c <= 0x20 || c >= 0x7F || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'') {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += ch;
      }
    }
    return out;
  }

  // Pages in legacy encodings (tests/support/encoded_pages.inc: their bytes made by Python's
  // codecs, beside the text they hold), each declared by the HTTP header, by <meta>, or not at
  // all, and one in UTF-16 behind a byte order mark. Each links to /enc/landing.html with a query
  // word written in its encoding (sent as those bytes, percent-encoded, as a browser sends a
  // query), and to a page whose path is that word (paths are UTF-8 whatever the page's
  // encoding).
  void encoded_pages() {
    using namespace std::string_view_literals;
    struct Sample {
      std::string_view name, label, title, title_bytes, query, query_bytes, paragraph;
    };
    static constexpr Sample k_samples[] = {CRAWL_ENCODED_SAMPLES};
    Resource& index_res = resource("/enc/");
    PageWriter index("Encodings", index_res);
    simple_page("/enc/landing.html", {});
    for (const Sample& s : k_samples) {
      {
        // The file's name is the word in UTF-8; its URL, the same percent-encoded.
        Resource& r = resource("/enc/" + escaped(s.query) + ".html");
        PageWriter page("Word " + std::string(s.query), r);
        put_page("/enc/" + std::string(s.query) + ".html", page);
      }
      for (const char* how : {"header", "meta", "none"}) {
        std::string slug = std::string(s.name) + "-" + how;
        std::transform(slug.begin(), slug.end(), slug.begin(),
                       [](char c) { return static_cast<char>(std::tolower(c)); });
        const std::string path = "/enc/" + slug + ".html";
        Resource& r = resource(path);
        r.title = s.title;
        if (std::string_view(how) != "none") {
          r.encoding = s.name;
          r.encoding_from = how;
        }
        std::string html = "<!DOCTYPE html>\n<html><head>";
        if (std::string_view(how) == "meta")
          html += "<meta charset=\"" + std::string(s.label) + "\">";
        html += "<title>" + std::string(s.title_bytes) + "</title></head>\n<body>\n<p>";
        for (int i = 0; i < 4; ++i) html += s.paragraph;  // text enough to be told apart
        html += "</p>\n<a href=\"/enc/landing.html?from=" + slug +
                "&amp;q=" + std::string(s.query_bytes) + "\">q</a>\n";
        r.links.push_back(url("/enc/landing.html?from=" + slug + "&q=" + escaped(s.query_bytes)));
        html += "<a href=\"/enc/" + std::string(s.query_bytes) + ".html\">w</a>\n</body></html>\n";
        r.links.push_back(url("/enc/" + escaped(s.query) + ".html"));
        m_site.files[path] = std::move(html);
        if (std::string_view(how) == "header")
          m_site.specials.push_back({path, SpecialLocation::Kind::content_type, 0,
                                     "text/html; charset=" + std::string(s.label)});
        index.link(path, url(path));
      }
    }
    {
      Resource& r = resource("/enc/utf-16.html");
      r.title = CRAWL_UTF16_TITLE;
      r.encoding = "UTF-16LE";
      r.encoding_from = "bom";
      r.links.push_back(url("/enc/landing.html?from=utf-16&q=" + escaped("caf\u00e9")));
      m_site.files["/enc/utf-16.html"] = std::string(CRAWL_UTF16_PAGE);
      index.link("/enc/utf-16.html", url("/enc/utf-16.html"));
    }
    m_site.files["/enc/index.html"] = index.html();
  }

  static std::string gzip(std::string_view text) {
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, text.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("gzip failed");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
  }

  // A sitemap file listing `locs` (absolute URLs, written as XML text).
  void sitemap_file(const std::string& path, const std::string& root,
                    const std::vector<std::string>& locs, bool gzipped) {
    const bool index = root == "sitemapindex";
    std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" + root +
                      " xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
    for (const std::string& loc : locs)
      xml += std::string(index ? "  <sitemap>" : "  <url>") + "<loc>" + loc + "</loc>" +
             (index ? "</sitemap>\n" : "<changefreq>daily</changefreq></url>\n");
    xml += "</" + root + ">\n";
    Resource& r = resource(path);
    r.kind = Resource::Kind::sitemap;
    r.content_type = gzipped ? "application/gzip" : "text/xml";
    for (const std::string& loc : locs) {
      std::string target = loc;
      if (auto at = target.find("&amp;"); at != std::string::npos) target.replace(at, 5, "&");
      r.links.push_back(target);
    }
    m_site.files[path] = gzipped ? gzip(xml) : xml;
  }

  // Pages only sitemaps reach: /sitemap.xml (found by its name) and robots.txt's index of two
  // gzip'd sitemaps, beside an XML bomb, a sitemap of 50,001 URLs and one of 60 MB decoded, which
  // a crawler refuses whole. The first page of the site hands both on (the manifest's root lists
  // them), at depth 1.
  void sitemaps() {
    m_site.manifest.robots_txt += "\nSitemap: " + url("/sitemaps/index.xml") + "\n";
    m_site.files["/robots.txt"] = m_site.manifest.robots_txt;
    resource("/").links.push_back(url("/sitemap.xml"));
    resource("/").links.push_back(url("/sitemaps/index.xml"));
    const std::string offsite = "http://127.0.0.9:" + m_port + "/sitemap-offsite.html";
    sitemap_file("/sitemap.xml", "urlset", {url("/hidden/sm-plain.html"), page_url(3), offsite},
                 false);
    simple_page("/hidden/sm-plain.html", {4});
    for (const char* name : {"a", "b"}) {
      std::vector<std::string> locs;
      for (int i = 0; i < 3; ++i) {
        const std::string path =
            "/hidden/sm-" + std::string(name) + "-" + std::to_string(i) + ".html";
        simple_page(path, {});
        locs.push_back(url(path) + (i == 2 ? "?from=sitemap&amp;n=2" : ""));
      }
      sitemap_file("/sitemaps/" + std::string(name) + ".xml.gz", "urlset", locs, true);
    }
    sitemap_file("/sitemaps/index.xml", "sitemapindex",
                 {url("/sitemaps/a.xml.gz"), url("/sitemaps/b.xml.gz"), url("/sitemaps/bomb.xml"),
                  url("/sitemaps/many.xml.gz"), url("/sitemaps/huge.xml.gz")},
                 false);
    {
      std::string bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE urlset [\n <!ENTITY l0 \"lol\">\n";
      for (int i = 1; i < 10; ++i) {
        bomb += " <!ENTITY l" + std::to_string(i) + " \"";
        for (int k = 0; k < 10; ++k) bomb += "&l" + std::to_string(i - 1) + ";";
        bomb += "\">\n";
      }
      bomb += "]>\n<urlset><url><loc>" + url("/hidden/bomb.html") + "?&l9;</loc></url></urlset>\n";
      m_site.files["/sitemaps/bomb.xml"] = bomb;
      simple_page("/hidden/bomb.html", {});
      Resource& r = resource("/sitemaps/bomb.xml");
      r.kind = Resource::Kind::bad_sitemap;
      r.content_type = "text/xml";
    }
    {
      std::string many = "<urlset>\n";
      for (int i = 0; i <= 50'000; ++i)
        many += "<url><loc>" + url("/m/" + std::to_string(i)) + "</loc></url>\n";
      many += "</urlset>\n";
      m_site.files["/sitemaps/many.xml.gz"] = gzip(many);
      Resource& r = resource("/sitemaps/many.xml.gz");
      r.kind = Resource::Kind::bad_sitemap;
      r.content_type = "application/gzip";
    }
    {
      std::string huge = "<urlset><url><loc>" + url("/hidden/huge.html") + "</loc></url>";
      huge.append(60'000'000, ' ');
      huge += "</urlset>\n";
      m_site.files["/sitemaps/huge.xml.gz"] = gzip(huge);
      Resource& r = resource("/sitemaps/huge.xml.gz");
      r.kind = Resource::Kind::bad_sitemap;
      r.content_type = "application/gzip";
    }
  }

  // The server's answer for a normalised URL: the resource, else the same path without its
  // query (the server ignores queries), else nothing (404).
  const Resource* lookup(const std::string& u) const {
    auto it = m_resources.find(u);
    if (it == m_resources.end() && u.find('?') != std::string::npos)
      it = m_resources.find(u.substr(0, u.find('?')));
    return it == m_resources.end() ? nullptr : &it->second;
  }

  std::string path_of(const std::string& u) const {
    return u.starts_with(m_base + "/") ? u.substr(m_base.size()) : std::string();
  }

  // How a correct crawler ends one URL, following redirects; `follow` gets the links to queue.
  ManifestEntry resolve(const std::string& start, std::vector<std::string>& follow) const {
    ManifestEntry e;
    e.url = start;
    std::string u = start;
    std::set<std::string> visited;
    for (int hops = 0;; ++hops) {
      const std::string path = path_of(u);
      if (path.empty()) {
        e.expect = "filtered", e.reason = "offsite", e.final_url = "";
        return e;
      }
      if (disallowed(path)) {
        e.expect = "filtered", e.reason = "robots", e.final_url = "";
        return e;
      }
      visited.insert(u);
      e.final_url = u;
      const Resource* r = lookup(u);
      if (r == nullptr) {
        e.expect = "failed", e.reason = "http_404", e.status = 404, e.content_type = "text/html";
        return e;
      }
      e.status = r->status;
      e.content_type = r->content_type;
      switch (r->kind) {
        case Resource::Kind::redirect:
          if (visited.count(r->location)) {
            e.expect = "failed", e.reason = "redirect_loop";
            return e;
          }
          if (hops == m_opt.max_redirects) {
            e.expect = "failed", e.reason = "too_many_redirects";
            return e;
          }
          u = r->location;
          continue;
        case Resource::Kind::slow:
        case Resource::Kind::trickle:
          e.expect = "failed", e.reason = "timeout";
          return e;
        case Resource::Kind::file:
          e.expect = "done";
          return e;
        case Resource::Kind::sitemap:
          e.expect = "done";
          follow = r->links;
          return e;
        case Resource::Kind::bad_sitemap:
          e.expect = "failed", e.reason = "bad_sitemap";
          return e;
        case Resource::Kind::page:
          if (!r->refresh.empty()) {  // as a redirect
            if (visited.count(r->refresh)) {
              e.expect = "failed", e.reason = "redirect_loop";
              return e;
            }
            if (hops == m_opt.max_redirects) {
              e.expect = "failed", e.reason = "too_many_redirects";
              return e;
            }
            u = r->refresh;
            continue;
          }
          e.expect = "done";
          e.truncated = r->truncated;
          e.title = r->title;
          e.canonical = r->canonical;
          e.encoding = r->encoding;
          e.encoding_from = r->encoding_from;
          e.images.assign(r->images.begin(), r->images.end());
          if (!m_meta_nofollow.count(u)) follow = r->links;
          return e;
      }
    }
  }

  // Breadth-first from the root over the links a correct crawler follows.
  Manifest manifest() const {
    Manifest m;
    m.root = url("/");
    m.robots_txt = m_site.manifest.robots_txt;
    m.options = m_opt;
    std::set<std::string> seen{m.root};
    std::deque<std::string> queue{m.root};
    while (!queue.empty()) {
      std::vector<std::string> follow;
      m.entries.push_back(resolve(queue.front(), follow));
      queue.pop_front();
      for (const auto& target : follow)
        if (seen.insert(target).second) queue.push_back(target);
    }
    std::sort(m.entries.begin(), m.entries.end(),
              [](const ManifestEntry& a, const ManifestEntry& b) { return a.url < b.url; });
    return m;
  }

  SiteOptions m_opt;
  std::string m_port, m_base;
  std::mt19937 m_rng;  // the engine's output sequence is fixed by the standard
  Site m_site;
  std::map<std::string, Resource> m_resources;
  std::set<std::string> m_meta_nofollow;
};

}  // namespace

Site generate_site(const SiteOptions& options, int port) {
  return Builder(options, port).build();
}

}  // namespace crawl::testing
