#pragma once
// HTML parsing off the transfer loop: worker threads take bodies, extract and resolve links,
// judge them against the job's rules, and hand results back. Parsing is the crawler's main CPU
// cost, so it gets every core the loop does not need.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fetch/fetcher.hpp"
#include "html/html.hpp"
#include "policy/scope.hpp"
#include "queue/queue.hpp"

namespace crawl::worker {

struct ParseJob {
  std::uint64_t task = 0;
  std::string url;  // the final URL: relative links resolve against it
  std::string body;
  fetch::BodyHold hold;     // the body's share of the worker's body memory, given back with it
  bool memory_cut = false;  // the body was kept only in part: the body memory was spent
  int depth = 0;            // of the page; its links are judged at depth + 1
  std::shared_ptr<const policy::LinkFilter> filter;
  int max_links = 6000;   // links, and images, kept of the page (the job's max_links_per_page)
  std::string charset{};  // the response's Content-Type charset parameter, "" if none
  std::uint64_t max_parse_bytes = html::k_max_parse_bytes;  // the job's max_parse_bytes
  bool sitemap = false;    // a sitemap (sitemap/sitemap.hpp), not a page
  bool truncated = false;  // the body was longer than the worker's max body: cut there
};

struct Parsed {
  std::uint64_t task = 0;
  std::string title;
  std::vector<std::string> images;
  std::vector<queue::Link> links;    // unique, in document order, drop reason set when filtered
  int found = 0;                     // links on the page, before dedup and rules
  std::uint64_t links_dropped = 0;   // links past max_links or html::k_max_link_bytes
  std::uint64_t images_dropped = 0;  // images past max_links or html::k_max_image_bytes
  std::string
      parse_cut;  // "memory", "size", "elements" or "nesting": only part of the page was parsed
  bool noindex = false;
  std::string canonical;      // the page's rel=canonical URL, normalised ("" if none)
  std::string refresh;        // where its meta refresh sends it, normalised ("" if nowhere)
  std::string encoding;       // the encoding the page was read in (html/encoding.hpp)
  std::string encoding_from;  // how it was found
  std::string sitemap;        // a sitemap: "urlset" or "index" ("" for a page)
  std::string refused;        // a sitemap refused whole: why (then no links)
  std::string error;          // why reading stopped early (a sitemap's XML error)
};

class ParsePool {
 public:
  // `ready` is called from a parser thread after each result, to wake the loop.
  ParsePool(unsigned threads, std::function<void()> ready);
  ~ParsePool();

  void submit(ParseJob job);
  std::vector<Parsed> take();   // finished results, without waiting
  std::size_t pending() const;  // submitted and not yet taken

 private:
  void run();

  std::function<void()> m_ready;
  mutable std::mutex m_mutex;
  std::condition_variable m_work;
  std::deque<ParseJob> m_jobs;
  std::vector<Parsed> m_done;
  std::size_t m_pending = 0;
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

// What a parser thread does with one job; exposed for tests and benchmarks.
Parsed parse(const ParseJob& job);

}  // namespace crawl::worker
