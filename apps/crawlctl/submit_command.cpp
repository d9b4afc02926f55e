// crawlctl submit: create a crawl job from seed URLs; prints the job id.

#include <algorithm>
#include <memory>

#include <fmt/core.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/inventory.hpp"
#include "core/output.hpp"
#include "deploy/quote.hpp"
#include "policy/job_options.hpp"
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
  // What the command line gives of each job option (policy/job_options.hpp), in table order.
  struct Given {
    std::string text;               // a value
    std::vector<std::string> list;  // patterns
    bool flag = false;              // a boolean's flag
  };
  std::vector<Given> given = std::vector<Given>(policy::job_options().size());
  bool quiet = false;
};

// The job's options: its defaults (policy/job.hpp, for the public web), the hosts file's job:
// section over them, and the flags given over that.
Result<policy::JobOptions> job_options_of(const SubmitOptions& o, const config::JobDefaults& file) {
  policy::JobOptions job = file.options;
  const auto& table = policy::job_options();
  for (std::size_t i = 0; i < table.size(); ++i) {
    const policy::JobOption& option = table[i];
    if (std::find(o.job_flags_given.begin(), o.job_flags_given.end(), option.flag) ==
        o.job_flags_given.end())
      continue;
    const SubmitOptions::Given& g = o.given[i];
    Result<void> set;
    if (option.rule.kind == policy::OptionRule::Kind::boolean) {
      set = policy::set_option(job, option,
                               policy::option_integer(policy::JobOptions{}, option) == 0);
    } else if (option.rule.kind == policy::OptionRule::Kind::patterns) {
      for (const auto& pattern : g.list)
        if (set) set = policy::set_option(job, option, std::string_view(pattern));
    } else {
      set = policy::set_option(job, option, std::string_view(g.text));
    }
    if (!set) return fail("{}: {}", option.flag, set.error().message);
  }
  return job;
}

int run_submit(const SubmitOptions& o) {
  if (!o.job.empty() && !o.job_flags_given.empty()) {
    crawl::print(stderr,
                 "crawlctl submit: {} sets an option of a new job; job {} keeps the options it was "
                 "created with (leave out --job to create a new one)\n",
                 o.job_flags_given.front(), o.job);
    return k_exit_usage;
  }
  // The hosts file's job: section, for what the command line leaves out (a job given by --job
  // keeps its own options).
  config::JobDefaults file;
  if (o.job.empty()) {
    auto inventory = hosts_file_settings(o.redis);
    if (!inventory) {
      crawl::print(stderr, "crawlctl submit: {}\n", inventory.error().message);
      return k_exit_usage;
    }
    file = std::move(inventory->job);
  }
  auto options = job_options_of(o, file);
  if (!options) {
    crawl::print(stderr, "crawlctl submit: {}\n", options.error().message);
    return k_exit_usage;
  }
  const policy::JobOptions& job = *options;
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
  // Every job option of policy/job_options.hpp, by its flag.
  const policy::JobOptions defaults;
  const auto& table = policy::job_options();
  for (std::size_t i = 0; i < table.size(); ++i) {
    const policy::JobOption& option = table[i];
    const std::string flag(option.flag), help(option.help);
    SubmitOptions::Given& g = o->given[i];
    switch (option.rule.kind) {
      case policy::OptionRule::Kind::boolean:
        sub->add_flag(flag, g.flag, help);
        break;
      case policy::OptionRule::Kind::patterns:
        // One pattern per flag (repeat the flag for more), so that a seed URL after it stays a
        // seed.
        sub->add_option(flag, g.list, help)->allow_extra_args(false)->type_name("REGEX");
        break;
      default:
        sub->add_option(flag, g.text, help)
            ->type_name(option.rule.kind == policy::OptionRule::Kind::duration ? "DURATION"
                        : option.rule.kind == policy::OptionRule::Kind::choice ? "NAME"
                                                                               : "N")
            ->default_str(policy::option_text(defaults, option));
    }
  }
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
      "max_links_per_page, max_retries) sets them for every job created with it; a flag given\n"
      "here wins.");
  sub->callback([o, sub, &run] {
    if (sub->count("--name") > 0) o->job_flags_given.push_back("--name");
    for (const auto& option : policy::job_options())
      if (sub->count(std::string(option.flag)) > 0)
        o->job_flags_given.push_back(std::string(option.flag));
    run = [o] { return run_submit(*o); };
  });
}

}  // namespace crawl::ctl
