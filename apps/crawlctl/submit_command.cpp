// crawlctl submit: create a crawl job from seed URLs; prints the job id.

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/core.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/inventory.hpp"
#include "config/values.hpp"
#include "core/redact.hpp"
#include "deploy/quote.hpp"
#include "policy/scope.hpp"
#include "queue/scripts.hpp"
#include "redis_options.hpp"
#include "status/text.hpp"
#include "url/url.hpp"

namespace crawl::ctl {

namespace {

struct SubmitOptions {
  RedisOptions redis;
  std::vector<std::string> urls;
  std::string file;                          // "-" = stdin
  std::string job;                           // add the seeds to this job instead of creating one
  std::vector<std::string> job_flags_given;  // job options on the command line (not with --job)
  std::string name;
  std::string scope = "host";
  int depth = 16;
  std::uint64_t max_pages = 0;
  std::vector<std::string> allow, deny;
  // Politeness: the defaults are for the public web (policy/job.hpp).
  std::string delay = "1s";
  int host_concurrency = 1;
  std::string max_crawl_delay = "30s";
  int max_links = 6000;
  bool no_robots = false;
  int retries = 2;
  bool quiet = false;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Seeds from arguments and lines. A million of them is common, so none is copied that need not
// be: lines stay in the file's buffer, and a URL already in normal form (most are) is used in
// place; only the others are stored normalised.
struct Seeds {
  std::vector<queue::LinkView> links;
  std::deque<std::string> normalised;  // URLs that needed normalising (stable addresses)
  std::set<std::string, std::less<>> authorities;
  std::size_t rejected = 0;
  std::vector<std::string> messages;  // the first bad lines, said in order once all are read

  // Another part's seeds after these. Its normalised URLs stay where they are: the deque that
  // holds them is moved whole (a string moved out of it would move a short one's characters).
  void append(Seeds&& other) {
    links.insert(links.end(), other.links.begin(), other.links.end());
    normalised_parts.push_back(std::move(other.normalised));
    authorities.merge(other.authorities);
    rejected += other.rejected;
    for (auto& m : other.messages)
      if (messages.size() < k_messages) messages.push_back(std::move(m));
  }
  static constexpr std::size_t k_messages = 20;
  std::deque<std::deque<std::string>> normalised_parts;  // other parts' normalised URLs
};

void add_seed(Seeds& seeds, std::string_view line, const std::function<std::string()>& place) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
    line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return;
  // A bad line is echoed with its control bytes escaped (it must not drive the terminal) and
  // any password in it hidden.
  auto reject = [&](std::string_view why) {
    if (++seeds.rejected > Seeds::k_messages) return;
    const std::string shown = redact_password(line);
    seeds.messages.push_back(
        fmt::format("{}: '{}' is not a crawlable URL ({})", place(),
                    escape_control(shown.substr(0, 200)) + (shown.size() > 200 ? "..." : ""), why));
  };
  // A NUL or other control byte inside a line is no part of any URL (libcurl would cut it short).
  if (std::any_of(line.begin(), line.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    reject("control character");
    return;
  }
  std::string_view u = line;
  if (!url::is_normal(line)) {
    // Credentials would go to every page of the site and into the results: not crawled.
    if (url::has_userinfo(line)) {
      reject("credentials in a URL are not supported");
      return;
    }
    auto n = url::normalize(line);
    if (!n) {
      reject(url::to_string(n.error()));
      return;
    }
    u = seeds.normalised.emplace_back(std::move(*n));
  }
  const std::string_view authority = url::split(u).authority;
  if (seeds.authorities.find(authority) == seeds.authorities.end())
    seeds.authorities.emplace(authority);
  seeds.links.push_back({u, {}, url::fingerprint(u)});
}

// The lines of `text` (line numbers from `first_line`) as seeds.
Seeds read_lines(std::string_view text, const std::string& name, std::size_t first_line) {
  Seeds seeds;
  seeds.links.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  std::size_t start = 0, n = first_line;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    add_seed(seeds, text.substr(start, end - start),
             [&name, n] { return fmt::format("{}:{}", name, n); });
    start = end + 1;
    ++n;
  }
  return seeds;
}

// A file of seeds, read in parts on the machine's cores (a million lines take a second on one).
void read_seed_file(Seeds& seeds, std::string_view content, const std::string& name) {
  const std::size_t parts =
      content.size() < (1u << 20) ? 1 : std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  std::vector<std::string_view> texts;
  std::vector<std::size_t> first_lines;
  std::size_t start = 0, line = 1;
  for (std::size_t p = 1; p <= parts && start < content.size(); ++p) {
    std::size_t end = p == parts ? content.size() : content.find('\n', content.size() * p / parts);
    end = end == std::string::npos ? content.size() : std::max(end + 1, start);
    texts.push_back(content.substr(start, end - start));
    first_lines.push_back(line);
    line += static_cast<std::size_t>(
        std::count(content.begin() + static_cast<std::ptrdiff_t>(start),
                   content.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
    start = end;
  }
  std::vector<Seeds> read(texts.size());
  std::vector<std::thread> threads;
  for (std::size_t p = 1; p < texts.size(); ++p)
    threads.emplace_back([&, p] { read[p] = read_lines(texts[p], name, first_lines[p]); });
  if (!texts.empty()) read[0] = read_lines(texts[0], name, first_lines[0]);
  for (auto& t : threads) t.join();
  for (auto& r : read) seeds.append(std::move(r));
}

int run_submit(const SubmitOptions& o) {
  if (!o.job.empty() && !o.job_flags_given.empty()) {
    fmt::print(stderr,
               "crawlctl submit: {} sets an option of a new job; job {} keeps the options it was "
               "created with (leave out --job to create a new one)\n",
               o.job_flags_given.front(), o.job);
    return k_exit_usage;
  }
  policy::JobOptions job;
  if (!policy::parse_scope(o.scope, job.scope)) {
    fmt::print(stderr, "crawlctl submit: --scope must be host, domain or any, not '{}'\n", o.scope);
    return k_exit_usage;
  }
  job.max_depth = o.depth;
  job.max_pages = o.max_pages;
  job.allow = o.allow;
  job.deny = o.deny;
  job.respect_robots = !o.no_robots;
  job.max_retries = o.retries;
  auto delay = config::parse_duration(o.delay);
  if (!delay) {
    fmt::print(stderr, "crawlctl submit: --delay: {}\n", delay.error().message);
    return k_exit_usage;
  }
  job.delay = *delay;
  auto max_crawl_delay = config::parse_duration(o.max_crawl_delay);
  if (!max_crawl_delay) {
    fmt::print(stderr, "crawlctl submit: --max-crawl-delay: {}\n", max_crawl_delay.error().message);
    return k_exit_usage;
  }
  job.max_crawl_delay = *max_crawl_delay;
  job.host_concurrency = o.host_concurrency;
  job.max_links_per_page = o.max_links;
  // The hosts file's job: section, for what the command line leaves out.
  if (o.job.empty() && (o.redis.hosts_file_given || std::filesystem::exists(o.redis.hosts_file))) {
    auto inventory = config::load_inventory(o.redis.hosts_file);
    if (!inventory) {
      fmt::print(stderr, "crawlctl submit: {}\n", inventory.error().message);
      return k_exit_usage;
    }
    const config::JobDefaults& d = inventory->job;
    auto given = [&](std::string_view flag) {
      return std::find(o.job_flags_given.begin(), o.job_flags_given.end(), flag) !=
             o.job_flags_given.end();
    };
    if (d.delay && !given("--delay")) job.delay = *d.delay;
    if (d.max_crawl_delay && !given("--max-crawl-delay")) job.max_crawl_delay = *d.max_crawl_delay;
    if (d.host_concurrency && !given("--host-concurrency"))
      job.host_concurrency = *d.host_concurrency;
    if (d.max_links_per_page && !given("--max-links"))
      job.max_links_per_page = *d.max_links_per_page;
  }
  if (auto filter = policy::LinkFilter::create(job, {}); !filter) {
    fmt::print(stderr, "crawlctl submit: {}\n", filter.error().message);
    return k_exit_usage;
  }

  Seeds seeds;
  for (std::size_t i = 0; i < o.urls.size(); ++i)
    add_seed(seeds, o.urls[i], [i] { return fmt::format("argument {}", i + 1); });
  std::string content;  // the whole file: seeds are views into it
  if (!o.file.empty()) {
    if (o.file == "-") {
      std::ostringstream buffer;
      buffer << std::cin.rdbuf();
      content = std::move(buffer).str();
    } else {
      std::ifstream in(o.file, std::ios::binary);
      std::error_code ec;
      const auto size = std::filesystem::file_size(o.file, ec);
      if (!in) {
        fmt::print(stderr, "crawlctl submit: {}: cannot open\n", o.file);
        return k_exit_usage;
      }
      if (!ec && size > 0) {  // a regular file: read at once (and whatever was added meanwhile)
        content.resize(static_cast<std::size_t>(size));
        in.read(content.data(), static_cast<std::streamsize>(size));
        content.resize(static_cast<std::size_t>(in.gcount()));
        if (in && in.peek() != std::char_traits<char>::eof()) {
          std::ostringstream rest;
          rest << in.rdbuf();
          content += std::move(rest).str();
        }
      } else {  // a pipe or a device: as it comes
        std::ostringstream buffer;
        buffer << in.rdbuf();
        content = std::move(buffer).str();
      }
    }
    read_seed_file(seeds, content, o.file == "-" ? "stdin" : o.file);
  }
  for (const auto& m : seeds.messages) fmt::print(stderr, "{}\n", m);
  if (seeds.rejected > 20) fmt::print(stderr, "... and {} more bad lines\n", seeds.rejected - 20);
  if (seeds.links.empty()) {
    fmt::print(stderr, "crawlctl submit: no valid seed URL given (arguments, -f FILE or -f -)\n");
    return k_exit_usage;
  }

  auto queue = open_queue(o.redis);
  if (!queue) {
    fmt::print(stderr, "crawlctl submit: {}\n", queue.error().message);
    return k_exit_failed;
  }
  // In fingerprint order: a new job's seeds are loaded whole, deduplicated here and each dedup
  // bucket written once; seeds added to a job share dedup buckets within a round trip (fewer Redis
  // reads and writes), and enqueue groups each trip's URLs by site, keeping this order within one.
  std::sort(seeds.links.begin(), seeds.links.end(),
            [](const queue::LinkView& a, const queue::LinkView& b) {
              return a.fingerprint < b.fingerprint;
            });
  const std::vector<std::string> authorities(seeds.authorities.begin(), seeds.authorities.end());
  Result<std::string> id = o.job;
  if (o.job.empty()) {
    id = queue->jobs().create(job, o.name, authorities, now_ms(), queue::FirstSeeds::loaded);
  } else if (auto begun = queue->jobs().begin_submit(o.job, authorities); !begun) {
    id = fail(begun.error());
  }
  if (!id) {
    fmt::print(stderr, "crawlctl submit: {}\n", id.error().message);
    const ErrorKind kind = id.error().kind;
    return kind == ErrorKind::not_found || kind == ErrorKind::invalid ? k_exit_usage
                                                                      : k_exit_failed;
  }
  const bool tty = isatty(STDERR_FILENO) != 0 && !o.quiet;
  const std::size_t total = seeds.links.size();
  std::size_t last_report = 0;
  std::size_t acked = 0;           // seeds Redis acknowledged
  queue::Admitted acked_admitted;  // and what became of them
  auto progress = [&](std::size_t done, const queue::Admitted& so_far) {
    acked = done;
    acked_admitted = so_far;
    if (total < 100000 || o.quiet) return;
    if (tty) {
      fmt::print(stderr, "\rsubmitting: {}/{} URLs ({}%)", done, total, done * 100 / total);
    } else if (done - last_report >= 250000 || done == total) {
      fmt::print(stderr, "submitting: {}/{} URLs\n", done, total);
      last_report = done;
    }
  };
  auto admitted = o.job.empty() ? queue->jobs().load(*id, seeds.links, progress)
                                : queue->jobs().enqueue(*id, 0, seeds.links, progress);
  if (admitted) {
    if (auto ended = queue->jobs().end_submit(*id); !ended) admitted = fail(ended.error());
  }
  if (tty && total >= 100000) fmt::print(stderr, "\n");
  if (!admitted) {
    // The job stays marked submitting (status flags it); what Redis acknowledged is known
    // exactly, and a re-run into the same job adds the rest: the seeds already there are
    // recognised as duplicates.
    const std::string source =
        o.file.empty() || o.file == "-" ? "FILE" : deploy::shell_quote(o.file);
    fmt::print(
        stderr,
        "crawlctl submit: job {}: {}\n"
        "crawlctl submit: job {} is incomplete: Redis acknowledged {} of the {} seeds ({} queued, "
        "{} "
        "duplicates) before the error; if Redis itself went down, it may also have lost its last "
        "second of writes.\n"
        "{}Add the rest with: crawlctl submit --job {} -f {}   (seeds already queued are "
        "skipped)\n",
        *id, admitted.error().message, *id, acked, total, acked_admitted.admitted,
        acked_admitted.duplicates,
        o.job.empty()
            ? fmt::format("Its workers start on the seeds loaded once this submit's key has "
                          "lapsed ({} s); so can the command below.\n",
                          queue::scripts::k_submitter_ttl_ms / 1000)
            : std::string(),
        *id, source);
    return k_exit_failed;
  }
  fmt::print("{}\n", *id);
  if (!o.quiet) {
    fmt::print(stderr, "job {}: {} seed URLs {}, {} duplicates, {} bad lines skipped", *id,
               admitted->admitted, o.job.empty() ? "queued" : "added", admitted->duplicates,
               seeds.rejected);
    // Seeds carry no drop reason: what is neither queued nor a duplicate hit the page budget.
    const std::uint64_t over = total - admitted->admitted - admitted->duplicates;
    if (over > 0) fmt::print(stderr, ", {} over --max-pages", over);
    fmt::print(stderr, "\n");
  }
  return k_exit_ok;
}

}  // namespace

void add_submit_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<SubmitOptions>();
  CLI::App* sub = app.add_subcommand("submit", "Create a crawl job from seed URLs; prints its id");
  sub->add_option("urls", o->urls, "Seed URLs");
  sub->add_option("-f,--file", o->file, "Read seeds from a file, one per line ('-' for stdin)");
  sub->add_option(
      "--job", o->job,
      "Add the seeds to this job instead of creating one (e.g. to finish a submit that was cut "
      "short: seeds already queued are skipped)");
  sub->add_option("--name", o->name, "A name for the job");
  sub->add_option("--scope", o->scope,
                  "host (the seeds' hosts), domain (their registrable domains) or any")
      ->capture_default_str();
  sub->add_option("--depth", o->depth, "Links followed from a seed")->capture_default_str();
  sub->add_option("--max-pages", o->max_pages,
                  "Stop admitting URLs to fetch after this many; links filtered out do not count "
                  "(0 = no limit)");
  // One pattern per flag (repeat the flag for more), so that a seed URL after it stays a seed.
  sub->add_option("--allow", o->allow,
                  "Only URLs matching one of these regexes (POSIX extended); repeat for more")
      ->allow_extra_args(false);
  sub->add_option("--deny", o->deny, "Never URLs matching one of these regexes; repeat for more")
      ->allow_extra_args(false);
  sub->add_option(
         "--delay", o->delay,
         "At least this between the starts of two requests to a site, fleet-wide (a site is "
         "scheme://host:port)")
      ->capture_default_str();
  sub->add_option("--host-concurrency", o->host_concurrency,
                  "At most this many requests in flight at a site, fleet-wide")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub->add_option(
         "--max-crawl-delay", o->max_crawl_delay,
         "Honour a robots.txt Crawl-delay up to this; a site asking for more is not crawled "
         "(its URLs: filtered, crawl_delay)")
      ->capture_default_str();
  sub->add_option("--max-links", o->max_links,
                  "Links (and images) recorded per page; the rest are counted, not kept")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  sub->add_flag("--no-robots", o->no_robots, "Ignore robots.txt (only for sites you run)");
  sub->add_option("--retries", o->retries, "Retries for timeouts, connection errors, 429 and 5xx")
      ->capture_default_str();
  sub->add_flag("-q,--quiet", o->quiet, "Print only the job id");
  add_redis_options(sub, o->redis);
  sub->footer(
      "Examples:\n"
      "  crawlctl submit https://example.org/ --depth 2\n"
      "  crawlctl submit -f urls.txt --scope domain --deny '\\.pdf$'\n"
      "  generate-urls | crawlctl submit -f - --max-pages 100000\n"
      "  crawlctl submit http://intranet.example/ --delay 0 --host-concurrency 16   # a site you "
      "run\n"
      "Bad lines are reported with their line number; the good ones are submitted.\n"
      "Politeness: by default each site (scheme://host:port) gets one request at a time from the\n"
      "whole fleet, at least 1 s apart, longer if its robots.txt asks (up to --max-crawl-delay), "
      "and\n"
      "backs off for every worker when it answers 429 or 503 or stops answering. These defaults "
      "are\n"
      "for the public web; lowering --delay or raising --host-concurrency is for sites you run.\n"
      "The hosts file's job: section (delay, host_concurrency, max_crawl_delay, "
      "max_links_per_page)\n"
      "sets them for every job created with it; a flag given here wins.");
  sub->callback([o, sub, &run] {
    for (const char* flag :
         {"--name", "--scope", "--depth", "--max-pages", "--allow", "--deny", "--delay",
          "--host-concurrency", "--max-crawl-delay", "--max-links", "--no-robots", "--retries"})
      if (sub->count(flag) > 0) o->job_flags_given.push_back(flag);
    run = [o] { return run_submit(*o); };
  });
}

}  // namespace crawl::ctl
