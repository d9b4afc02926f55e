// Job control: crawlctl wait (until a job finishes), cancel, pause and resume.

#include <memory>
#include <thread>
#include <utility>

#include <fmt/core.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/values.hpp"
#include "core/output.hpp"
#include "fleet.hpp"
#include "queue/records.hpp"
#include "redis_options.hpp"
#include "status/text.hpp"
#include "status/view.hpp"

namespace crawl::ctl {

using status::eta_seconds;
using status::job_state;

namespace {

using Clock = std::chrono::steady_clock;

inline constexpr int k_exit_cancelled = 3;
inline constexpr int k_exit_timed_out = 124;  // as timeout(1)

struct WaitOptions {
  RedisOptions redis;
  std::string job;
  std::string timeout = "0";
  std::string interval = "1s";
  bool quiet = false;
  std::string records_dir;
};

// wait drains the job's records home as it waits (so that a crawl watched to its end never has
// its claims held for them); a home on another machine is said once and left to its drainer.
void drain_while_waiting(queue::Queue& queue, const WaitOptions& o, bool& said) {
  const auto error = queue::first_error(queue.drain_records(o.records_dir, {o.job}));
  if (error && !std::exchange(said, true))
    crawl::print(stderr, "crawlctl wait: not draining the job's records: {}\n", error->message);
}

std::string summary(const queue::JobInfo& j) {
  return fmt::format("{} done, {} failed, {} filtered", j.stat(queue::Counter::done),
                     j.stat(queue::Counter::failed), j.stat(queue::Counter::filtered));
}

int run_wait(const WaitOptions& o) {
  auto timeout = config::parse_duration(o.timeout);
  auto interval = config::parse_duration(o.interval);
  if (!timeout || !interval || interval->count() < 10) {
    crawl::print(stderr, "crawlctl wait: {}\n",
                 !timeout    ? "--timeout: " + timeout.error().message
                 : !interval ? "--interval: " + interval.error().message
                             : "--interval must be at least 10ms");
    return k_exit_usage;
  }
  const auto started = Clock::now();
  const auto deadline = timeout->count() > 0 ? started + *timeout : Clock::time_point::max();
  const bool progress = !o.quiet && isatty(STDERR_FILENO) == 1;
  const auto* interrupted = interrupt_flag();
  std::optional<queue::Queue> queue;
  queue::PrimaryCheck primary_check;
  std::string last_error;
  bool warned = false;  // about a job that cannot finish as it stands
  bool drain_said = false;
  for (;;) {
    if (!queue) {
      auto q = open_queue(o.redis);
      if (q)
        queue.emplace(std::move(*q));
      else if (q.error().message != last_error) {
        // Redis may be restarting: say so once and keep trying until the timeout.
        last_error = q.error().message;
        crawl::print(stderr, "crawlctl wait: {} (retrying)\n", last_error);
      }
    }
    if (queue && primary_moved(*queue, primary_check)) queue.reset();
    if (queue) {
      auto job = queue->jobs().job(o.job);
      if (job) drain_while_waiting(*queue, o, drain_said);
      if (!job) {
        if (job.error().kind == ErrorKind::not_found) {
          crawl::print(stderr, "crawlctl wait: {}\n", job.error().message);
          return k_exit_usage;
        }
        queue.reset();
      } else {
        const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
        if (job->cancelled()) {
          if (progress) write_control(stderr, "\r\033[K");
          crawl::print(stderr, "job {} was cancelled: {}\n", o.job, summary(*job));
          return k_exit_cancelled;
        }
        if (job->finished()) {
          if (progress) write_control(stderr, "\r\033[K");
          if (!o.quiet)
            crawl::print(stderr, "job {} finished: {} (waited {})\n", o.job, summary(*job),
                         human_duration(elapsed));
          return k_exit_ok;
        }
        // Waiting goes on (an operator may put it right), but says once why it may be long.
        const bool stuck = (job->submitting && !job->submitter_alive) || !job->problem.empty();
        if (stuck && !warned) {
          if (progress) write_control(stderr, "\r\033[K");
          crawl::print(
              stderr, "crawlctl wait: job {} {}; waiting on\n", o.job,
              !job->problem.empty()
                  ? "is broken: " + job->problem
                  : "was left submitting: add the rest of its seeds with crawlctl submit --job " +
                        o.job + " -f FILE");
          warned = true;
        }
        if (progress) {
          const auto eta = eta_seconds(*job);
          write_control(stderr, "\r\033[K");
          crawl::print(stderr, "job {} {}: {} queued, {} in flight, {}, {:.1f} pages/s{}", o.job,
                       job_state(*job), job->stat(queue::Counter::queued),
                       job->stat(queue::Counter::in_flight), summary(*job), job->rate(),
                       eta ? ", ETA " + human_duration(*eta) : "");
        }
      }
    }
    const auto until = std::min(deadline, Clock::now() + *interval);
    while (Clock::now() < until) {
      if (interrupted->load()) {
        if (progress) crawl::print(stderr, "\n");
        return k_exit_failed;
      }
      std::this_thread::sleep_for(
          std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(50)));
    }
    if (Clock::now() >= deadline) {
      if (progress) crawl::print(stderr, "\n");
      crawl::print(stderr, "crawlctl wait: job {} did not finish within {}\n", o.job, o.timeout);
      return k_exit_timed_out;
    }
  }
}

struct ControlOptions {
  RedisOptions redis;
  std::vector<std::string> jobs;
};

int run_control(const ControlOptions& o, queue::JobAction action) {
  const char* verb = action == queue::JobAction::pause    ? "pause"
                     : action == queue::JobAction::resume ? "resume"
                                                          : "cancel";
  auto queue = open_queue(o.redis);
  if (!queue) {
    crawl::print(stderr, "crawlctl {}: {}\n", verb, queue.error().message);
    return k_exit_failed;
  }
  int code = k_exit_ok;
  for (const auto& id : o.jobs) {
    auto before = queue->jobs().job(id);
    if (!before) {
      crawl::print(stderr, "crawlctl {}: {}\n", verb, before.error().message);
      code = std::max(code,
                      before.error().kind == ErrorKind::not_found ? k_exit_usage : k_exit_failed);
      continue;
    }
    if (before->cancelled()) {
      crawl::print("job {} is cancelled already\n", id);
      continue;
    }
    if (action == queue::JobAction::cancel && before->finished()) {
      crawl::print("job {} has finished: nothing to cancel\n", id);
      continue;
    }
    auto change = queue->jobs().control(id, action);
    if (!change) {
      crawl::print(stderr, "crawlctl {}: job {}: {}\n", verb, id, change.error().message);
      code = k_exit_failed;
      continue;
    }
    switch (action) {
      case queue::JobAction::pause:
        crawl::print("job {} paused: no URL of it is leased any more; the {} in flight finish\n",
                     id, before->stat(queue::Counter::in_flight));
        break;
      case queue::JobAction::resume:
        crawl::print("job {} resumed: {} parked URLs back in the frontier\n", id, change->moved);
        break;
      case queue::JobAction::cancel:
        crawl::print(
            "job {} cancelled: {} queued URLs dropped; workers drop the {} they hold at their next "
            "heartbeat\n",
            id, change->moved, before->stat(queue::Counter::in_flight));
        break;
    }
  }
  return code;
}

void add_control(CLI::App& app, Action& run, const char* name, const char* help,
                 queue::JobAction action, const char* footer) {
  auto o = std::make_shared<ControlOptions>();
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("job", o->jobs, "Job ids")->required();
  add_redis_options(sub, o->redis);
  sub->footer(footer);
  sub->callback([o, &run, action] { run = [o, action] { return run_control(*o, action); }; });
}

}  // namespace

void add_job_commands(CLI::App& app, Action& run) {
  auto w = std::make_shared<WaitOptions>();
  CLI::App* sub = app.add_subcommand("wait", "Wait until a job finishes");
  sub->add_option("job", w->job, "Job id")->required();
  sub->add_option("--timeout", w->timeout, "Give up after this long (0: never)")
      ->capture_default_str();
  sub->add_option("--interval", w->interval, "How often to look")->capture_default_str();
  sub->add_flag("-q,--quiet", w->quiet, "Print nothing but errors");
  add_records_option(sub, w->records_dir);
  add_redis_options(sub, w->redis);
  sub->footer(
      "A job is finished when nothing of it is queued or in flight. Redis being unreachable\n"
      "(a restart) is waited out until the timeout. It drains the job's records home as it\n"
      "waits (crawlctl drain --help).\n"
      "Exit: 0 finished, 3 cancelled, 124 timed out, 1 interrupted or Redis error, 2 no such "
      "job.\n\n"
      "Examples:\n"
      "  crawlctl wait 17\n"
      "  crawlctl wait 17 --timeout 2h && crawlctl results 17 > results.jsonl");
  sub->callback([w, &run] { run = [w] { return run_wait(*w); }; });

  add_control(app, run, "pause", "Stop leasing a job's URLs; resume continues it",
              queue::JobAction::pause,
              "URLs already being fetched finish; the rest are parked in Redis.\n\n"
              "Examples:\n  crawlctl pause 17\n  crawlctl resume 17");
  add_control(app, run, "resume", "Continue a paused job", queue::JobAction::resume,
              "Examples:\n  crawlctl resume 17");
  add_control(app, run, "cancel", "Stop a job for good: its URLs leave the frontier",
              queue::JobAction::cancel,
              "Queued URLs are dropped at once and counted as 'cancelled'; workers drop the ones\n"
              "they hold at their next heartbeat. Results recorded so far are kept.\n\n"
              "Examples:\n  crawlctl cancel 17\n  crawlctl cancel 17 18 19");
}

}  // namespace crawl::ctl
