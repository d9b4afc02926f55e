// crawlctl submit: create a crawl job from seed URLs; prints the job id.

#include <algorithm>
#include <memory>

#include <fmt/core.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/inventory.hpp"
#include "config/values.hpp"
#include "core/output.hpp"
#include "deploy/quote.hpp"
#include "policy/scope.hpp"
#include "queue/scripts.hpp"
#include "queue/submit.hpp"
#include "redis_options.hpp"

namespace crawl::ctl {

namespace {

struct SubmitOptions {
  RedisOptions redis;
  std::vector<std::string> urls;
  std::string file;                          // "-" = stdin
  std::string job;                           // add the seeds to this job instead of creating one
  std::vector<std::string> job_flags_given;  // job options on the command line (not with --job)
  std::string name;
  policy::JobOptions options;  // its defaults are for the public web (policy/job.hpp)
  std::string scope = "host";
  std::string delay = "1s";
  std::string max_crawl_delay = "30s";
  bool no_robots = false;
  bool quiet = false;
};

int run_submit(const SubmitOptions& o) {
  if (!o.job.empty() && !o.job_flags_given.empty()) {
    crawl::print(stderr,
                 "crawlctl submit: {} sets an option of a new job; job {} keeps the options it was "
                 "created with (leave out --job to create a new one)\n",
                 o.job_flags_given.front(), o.job);
    return k_exit_usage;
  }
  policy::JobOptions job = o.options;
  if (!policy::parse_scope(o.scope, job.scope)) {
    crawl::print(stderr, "crawlctl submit: --scope must be host, domain or any, not '{}'\n",
                 o.scope);
    return k_exit_usage;
  }
  job.respect_robots = !o.no_robots;
  auto duration = [](std::string_view flag, const std::string& text, auto& out) {
    auto d = config::parse_duration(text);
    if (d) out = *d;
    if (!d) crawl::print(stderr, "crawlctl submit: {}: {}\n", flag, d.error().message);
    return d.has_value();
  };
  if (!duration("--delay", o.delay, job.delay) ||
      !duration("--max-crawl-delay", o.max_crawl_delay, job.max_crawl_delay))
    return k_exit_usage;
  // The hosts file's job: section, for what the command line leaves out.
  if (o.job.empty()) {
    auto inventory = hosts_file_settings(o.redis);
    if (!inventory) {
      crawl::print(stderr, "crawlctl submit: {}\n", inventory.error().message);
      return k_exit_usage;
    }
    const config::JobDefaults& d = inventory->job;
    auto given = [&](std::string_view flag) {
      return std::find(o.job_flags_given.begin(), o.job_flags_given.end(), flag) !=
             o.job_flags_given.end();
    };
    auto pick = [&](auto& field, const auto& from_file, std::string_view flag) {
      if (from_file && !given(flag)) field = *from_file;
    };
    pick(job.delay, d.delay, "--delay");
    pick(job.max_crawl_delay, d.max_crawl_delay, "--max-crawl-delay");
    pick(job.host_concurrency, d.host_concurrency, "--host-concurrency");
    pick(job.max_links_per_page, d.max_links_per_page, "--max-links");
  }
  if (auto filter = policy::LinkFilter::create(job, {}); !filter) {
    crawl::print(stderr, "crawlctl submit: {}\n", filter.error().message);
    return k_exit_usage;
  }

  queue::Seeds seeds;
  for (std::size_t i = 0; i < o.urls.size(); ++i)
    queue::add_seed(seeds, o.urls[i], [i] { return fmt::format("argument {}", i + 1); });
  std::string content;  // the whole file: seeds are views into it
  if (!o.file.empty()) {
    auto read = queue::read_seed_input(o.file);
    if (!read) {
      crawl::print(stderr, "crawlctl submit: {}\n", read.error().message);
      return k_exit_usage;
    }
    content = std::move(*read);
    queue::add_seed_text(seeds, content, o.file == "-" ? "stdin" : o.file);
  }
  for (const auto& m : seeds.messages) crawl::print(stderr, "{}\n", m);
  if (seeds.rejected > seeds.messages.size())
    crawl::print(stderr, "... and {} more bad lines\n", seeds.rejected - seeds.messages.size());
  if (seeds.links.empty()) {
    crawl::print(stderr, "crawlctl submit: no valid seed URL given (arguments, -f FILE or -f -)\n");
    return k_exit_usage;
  }

  auto queue = open_queue(o.redis);
  if (!queue) {
    crawl::print(stderr, "crawlctl submit: {}\n", queue.error().message);
    return k_exit_failed;
  }
  const bool tty = isatty(STDERR_FILENO) != 0 && !o.quiet;
  const std::size_t total = seeds.links.size();
  std::size_t last_report = 0;
  queue::SubmitRequest request{o.job, job, o.name, nullptr};
  request.progress = [&](std::size_t done, const queue::Admitted&) {
    if (total < 100000 || o.quiet) return;
    if (tty) {
      write_control(stderr, "\r");
      crawl::print(stderr, "submitting: {}/{} URLs ({}%)", done, total, done * 100 / total);
    } else if (done - last_report >= 250000 || done == total) {
      crawl::print(stderr, "submitting: {}/{} URLs\n", done, total);
      last_report = done;
    }
  };
  const queue::SubmitReport report = queue::submit(*queue, seeds, request);
  const std::string& id = report.job;
  const auto& admitted = report.admitted;
  if (id.empty()) {
    crawl::print(stderr, "crawlctl submit: {}\n", admitted.error().message);
    const ErrorKind kind = admitted.error().kind;
    return kind == ErrorKind::not_found || kind == ErrorKind::invalid ? k_exit_usage
                                                                      : k_exit_failed;
  }
  if (tty && total >= 100000) crawl::print(stderr, "\n");
  if (!admitted) {
    // The job stays marked submitting (status flags it); what Redis acknowledged is known
    // exactly, and a re-run into the same job adds the rest: the seeds already there are
    // recognised as duplicates.
    const std::string source =
        o.file.empty() || o.file == "-" ? "FILE" : deploy::shell_quote(o.file);
    crawl::print(
        stderr,
        "crawlctl submit: job {}: {}\n"
        "crawlctl submit: job {} is incomplete: Redis acknowledged {} of the {} seeds ({} queued, "
        "{} "
        "duplicates) before the error; if Redis itself went down, it may also have lost its last "
        "second of writes.\n{}Add the rest with: crawlctl submit --job {} -f {}   (seeds already "
        "queued are skipped)\n",
        id, admitted.error().message, id, report.acked, total, report.acked_admitted.admitted,
        report.acked_admitted.duplicates,
        o.job.empty()
            ? fmt::format("Its workers start on the seeds loaded once this submit's key has "
                          "lapsed ({} s); so can the command below.\n",
                          queue::scripts::k_submitter_ttl_ms / 1000)
            : std::string(),
        id, source);
    return k_exit_failed;
  }
  crawl::print("{}\n", id);
  if (!o.quiet) {
    crawl::print(stderr, "job {}: {} seed URLs {}, {} duplicates, {} bad lines skipped", id,
                 admitted->admitted, o.job.empty() ? "queued" : "added", admitted->duplicates,
                 seeds.rejected);
    // Seeds carry no drop reason: what is neither queued nor a duplicate hit the page budget.
    const std::uint64_t over = total - admitted->admitted - admitted->duplicates;
    if (over > 0) crawl::print(stderr, ", {} over --max-pages", over);
    crawl::print(stderr, "\n");
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
  sub->add_option("--depth", o->options.max_depth, "Links followed from a seed")
      ->capture_default_str();
  sub->add_option("--max-pages", o->options.max_pages,
                  "Stop admitting URLs to fetch after this many; links filtered out do not count "
                  "(0 = no limit)");
  // One pattern per flag (repeat the flag for more), so that a seed URL after it stays a seed.
  sub->add_option("--allow", o->options.allow,
                  "Only URLs matching one of these regexes (POSIX extended); repeat for more")
      ->allow_extra_args(false);
  sub->add_option("--deny", o->options.deny,
                  "Never URLs matching one of these regexes; repeat for more")
      ->allow_extra_args(false);
  sub->add_option(
         "--delay", o->delay,
         "At least this between the starts of two requests to a site, fleet-wide (a site is "
         "scheme://host:port)")
      ->capture_default_str();
  sub->add_option("--host-concurrency", o->options.host_concurrency,
                  "At most this many requests in flight at a site, fleet-wide")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  sub->add_option(
         "--max-crawl-delay", o->max_crawl_delay,
         "Honour a robots.txt Crawl-delay up to this; a site asking for more is not crawled "
         "(its URLs: filtered, crawl_delay)")
      ->capture_default_str();
  sub->add_option("--max-links", o->options.max_links_per_page,
                  "Links (and images) recorded per page; the rest are counted, not kept")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000000));
  sub->add_flag("--no-robots", o->no_robots, "Ignore robots.txt (only for sites you run)");
  sub->add_option("--retries", o->options.max_retries,
                  "Retries for timeouts, connection errors, 429 and 5xx")
      ->capture_default_str();
  sub->add_flag("-q,--quiet", o->quiet, "Print only the job id");
  add_redis_options(sub, o->redis);
  sub->footer(
      "Examples:\n"
      "  crawlctl submit https://example.org/ --depth 2\n"
      "  crawlctl submit -f urls.txt --scope domain --deny '\\.pdf$'\n"
      "  generate-urls | crawlctl submit -f - --max-pages 100000\n"
      "  crawlctl submit http://intranet.example/ --delay 0 --host-concurrency 16  # yours\n"
      "Bad lines are reported with their line number; the good ones are submitted.\n"
      "Politeness: by default each site (scheme://host:port) gets one request at a time from the\n"
      "whole fleet, at least 1 s apart, longer if its robots.txt asks (up to --max-crawl-delay),\n"
      "and backs off for every worker when it answers 429 or 503 or stops answering. These\n"
      "defaults are for the public web; lowering --delay or raising --host-concurrency is for\n"
      "sites you run. The hosts file's job: section (delay, host_concurrency, max_crawl_delay,\n"
      "max_links_per_page) sets them for every job created with it; a flag given here wins.");
  sub->callback([o, sub, &run] {
    for (const char* flag :
         {"--name", "--scope", "--depth", "--max-pages", "--allow", "--deny", "--delay",
          "--host-concurrency", "--max-crawl-delay", "--max-links", "--no-robots", "--retries"})
      if (sub->count(flag) > 0) o->job_flags_given.push_back(flag);
    run = [o] { return run_submit(*o); };
  });
}

}  // namespace crawl::ctl
