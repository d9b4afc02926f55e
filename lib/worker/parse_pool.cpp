#include "worker/parse_pool.hpp"

#include <algorithm>
#include <unordered_set>

#include "html/encoding.hpp"
#include "html/html.hpp"
#include "html/outlinks.hpp"
#include "sitemap/sitemap.hpp"

namespace crawl::worker {

namespace {

// A sitemap's URLs, resolved against it (sitemaps.org asks for absolute ones), under the job's
// URL rules, unique, each judged as a link of the sitemap is.
Parsed parse_sitemap(const ParseJob& job) {
  Parsed out;
  out.task = job.task;
  const sitemap::Sitemap map = sitemap::parse(job.body);
  out.sitemap = map.kind == sitemap::Sitemap::Kind::urlset  ? "urlset"
                : map.kind == sitemap::Sitemap::Kind::index ? "index"
                                                            : "";
  if (!map.refused.empty()) {
    out.refused = map.refused;
    return out;
  }
  if (map.kind == sitemap::Sitemap::Kind::none) return out;  // XML or gzip, but no sitemap
  out.found = static_cast<int>(map.locs.size() + map.skipped);
  out.links_dropped = map.skipped;
  out.parse_cut = job.memory_cut      ? "memory"
                  : job.truncated     ? "size"
                  : map.error.empty() ? ""
                                      : "error";
  if (!map.error.empty()) out.error = "sitemap read in part: " + map.error;
  const url::Rules& rules = job.filter->url_rules();
  std::unordered_set<std::uint64_t> seen;
  out.links.reserve(map.locs.size());
  for (const std::string& loc : map.locs) {
    auto u = url::resolve(job.url, loc);
    if (!u) continue;
    std::string target = rules.empty() ? std::move(*u) : url::apply(rules, *u);
    const std::uint64_t fp = url::fingerprint(target);
    if (!seen.insert(fp).second) continue;
    const policy::Drop drop = job.filter->judge(target, job.depth + 1);
    out.links.push_back(
        {std::move(target),
         drop == policy::Drop::none ? std::string() : std::string(policy::to_string(drop)), fp});
  }
  return out;
}

}  // namespace

Parsed parse(const ParseJob& job) {
  if (job.sitemap) return parse_sitemap(job);
  Parsed out;
  out.task = job.task;
  // Read as a browser would: in the encoding its bytes are in, made UTF-8 for Gumbo; a page
  // already in UTF-8 is parsed as it came.
  // The job's parse cap counts the bytes as they came, before any conversion.
  std::string_view raw = job.body;
  const bool size_cut = raw.size() > job.max_parse_bytes;
  if (size_cut) raw = raw.substr(0, job.max_parse_bytes);
  const html::Encoding encoding = html::sniff(raw, job.charset);
  std::string converted;
  std::string_view text = raw;
  if (encoding.name != "UTF-8") {
    converted = html::to_utf8(raw, encoding);
    text = converted;
  } else {
    text.remove_prefix(encoding.bom_bytes);
  }
  out.encoding = encoding.name;
  out.encoding_from = html::to_string(encoding.source);
  const html::Page page = html::extract(text, text.size());
  // A page costs the worker and Redis a bounded amount: its links and images are kept in
  // document order up to max_links each and html::Limits' bytes, the rest only counted.
  const auto cap = static_cast<std::size_t>(std::max(0, job.max_links));
  html::Outlinks links =
      html::outlinks(page, job.url, html::Limits{.links = cap, .images = cap},
                     html::query_encoder(encoding.name), job.filter->url_rules());
  out.title = page.title;
  out.links_dropped = links.links_dropped;
  out.images_dropped = links.images_dropped;
  out.images = std::move(links.images);
  out.found = static_cast<int>(page.links.size());
  out.parse_cut = job.memory_cut      ? "memory"
                  : size_cut          ? "size"
                  : page.elements_cut ? "elements"
                  : page.nesting_cut  ? "nesting"
                                      : "";
  out.noindex = page.meta_noindex;
  out.canonical = std::move(links.canonical);
  out.refresh = std::move(links.refresh);
  out.links.reserve(links.follow.size());
  for (std::size_t i = 0; i < links.follow.size(); ++i) {
    std::string& u = links.follow[i];
    const policy::Drop drop = job.filter->judge(u, job.depth + 1);
    // The fingerprint made to tell duplicates apart is the one Redis dedups by: not made again.
    out.links.push_back(
        {std::move(u),
         drop == policy::Drop::none ? std::string() : std::string(policy::to_string(drop)),
         links.follow_fingerprints[i]});
  }
  return out;
}

ParsePool::ParsePool(unsigned threads, std::function<void()> ready) : m_ready(std::move(ready)) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) m_threads.emplace_back([this] { run(); });
}

ParsePool::~ParsePool() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_work.notify_all();
  for (auto& t : m_threads) t.join();
}

void ParsePool::submit(ParseJob job) {
  {
    std::lock_guard lock(m_mutex);
    m_jobs.push_back(std::move(job));
    ++m_pending;
  }
  m_work.notify_one();
}

std::vector<Parsed> ParsePool::take() {
  std::lock_guard lock(m_mutex);
  std::vector<Parsed> out = std::move(m_done);
  m_done.clear();
  m_pending -= out.size();
  return out;
}

std::size_t ParsePool::pending() const {
  std::lock_guard lock(m_mutex);
  return m_pending;
}

void ParsePool::run() {
  while (true) {
    ParseJob job;
    {
      std::unique_lock lock(m_mutex);
      m_work.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
      if (m_stopping) return;
      job = std::move(m_jobs.front());
      m_jobs.pop_front();
    }
    Parsed result = parse(job);
    bool first = false;
    {
      std::lock_guard lock(m_mutex);
      first = m_done.empty();
      m_done.push_back(std::move(result));
    }
    // One wake-up per batch the loop has not collected yet, not one per page.
    if (first) m_ready();
  }
}

}  // namespace crawl::worker
