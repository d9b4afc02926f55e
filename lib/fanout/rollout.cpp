#include "fanout/rollout.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "config/values.hpp"

namespace crawl::fanout {

std::size_t Share::of(std::size_t total) const {
  if (percent < 0) return count;
  return static_cast<std::size_t>(std::ceil(static_cast<double>(total) * percent / 100.0 - 1e-9));
}

std::size_t Share::at_most(std::size_t total) const {
  if (percent < 0) return count;
  return static_cast<std::size_t>(std::floor(static_cast<double>(total) * percent / 100.0 + 1e-9));
}

std::string Share::text() const {
  return percent < 0 ? std::to_string(count) : fmt::format("{:g}%", percent);
}

Result<Share> parse_share(std::string_view text, std::string_view what, std::size_t minimum) {
  Share share;
  const bool is_percent = text.ends_with('%');
  const std::string_view digits = is_percent ? text.substr(0, text.size() - 1) : text;
  auto bad = [&] {
    return fail(ErrorKind::invalid, "{}: '{}' is neither a number of hosts nor a percentage", what,
                text);
  };
  if (digits.empty()) return bad();
  if (is_percent) {
    double p = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
    if (ec != std::errc() || end != digits.data() + digits.size()) return bad();
    if (p < 0 || p > 100 || (minimum > 0 && p <= 0))
      return fail(ErrorKind::invalid, "{}: {} is not a percentage in ({}, 100]", what, text,
                  minimum > 0 ? "0" : "[0");
    share.percent = p;
    return share;
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), share.count);
  if (ec != std::errc() || end != digits.data() + digits.size()) return bad();
  if (share.count < minimum) return fail(ErrorKind::invalid, "{}: at least {}", what, minimum);
  return share;
}

Result<RolloutOptions> parse_rollout(std::string_view batch, std::string_view max_fail,
                                     std::size_t canary) {
  RolloutOptions out;
  out.canary = canary;
  if (!batch.empty()) {
    auto b = parse_share(batch, "--batch", 1);
    if (!b) return fail(b.error());
    out.batch = *b;
  }
  if (!max_fail.empty()) {
    auto m = parse_share(max_fail, "--max-fail", 0);
    if (!m) return fail(m.error());
    out.max_fail = *m;
  }
  return out;
}

Result<std::chrono::milliseconds> parse_canary_wait(std::string_view text, bool verify,
                                                    std::chrono::milliseconds heartbeat_interval,
                                                    Clock::time_point deadline) {
  auto wait = config::parse_duration(text);
  if (!wait) return fail(ErrorKind::invalid, "--canary-wait: {}", wait.error().message);
  if (!verify) return fail(ErrorKind::invalid, "--canary watches heartbeats: not with --no-verify");
  if (*wait < 3 * heartbeat_interval)
    return fail(ErrorKind::invalid,
                "--canary-wait must be at least 3 heartbeat intervals (worker.heartbeat_interval)");
  if (Clock::now() + *wait >= deadline)
    return fail(ErrorKind::invalid, "--canary-wait does not fit in --deadline");
  return *wait;
}

std::vector<std::vector<std::size_t>> plan_waves(std::size_t hosts, const RolloutOptions& options) {
  std::vector<std::vector<std::size_t>> waves;
  std::size_t next = 0;
  const std::size_t canary = std::min(options.canary, hosts);
  if (canary > 0) {
    waves.emplace_back();
    for (; next < canary; ++next) waves.back().push_back(next);
  }
  // A share of a batch is of all the hosts, so "25%" is four waves whatever the canary took.
  const std::size_t batch =
      options.batch ? std::max<std::size_t>(1, options.batch->of(hosts)) : hosts;
  while (next < hosts) {
    waves.emplace_back();
    for (std::size_t end = std::min(hosts, next + batch); next < end; ++next)
      waves.back().push_back(next);
  }
  return waves;
}

std::vector<HostReport> run_rollout(const std::vector<config::Host>& hosts,
                                    const RemoteFactory& connect, const Task& task,
                                    const PoolOptions& options, const Progress& progress,
                                    const RolloutOptions& rollout, const CanaryCheck& check,
                                    const std::function<void(const std::string&)>& say) {
  std::vector<HostReport> reports(hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) reports[i].host = i;
  const auto waves = plan_waves(hosts.size(), rollout);
  const std::size_t tolerated =
      rollout.max_fail ? rollout.max_fail->at_most(hosts.size()) : hosts.size();
  std::size_t failed = 0;
  std::string stop;  // why the rollout stopped, once it has
  for (std::size_t w = 0; w < waves.size(); ++w) {
    const auto& wave = waves[w];
    if (!stop.empty()) {
      for (const std::size_t i : wave)
        reports[i].failure = Failure{Outcome::cancelled, "", "not started: " + stop, false};
      continue;
    }
    const bool canary = w == 0 && rollout.canary > 0;
    if (waves.size() > 1)
      say(fmt::format("wave {} of {}{}: {} host(s)", w + 1, waves.size(), canary ? " (canary)" : "",
                      wave.size()));
    std::vector<config::Host> some;
    for (const std::size_t i : wave) some.push_back(hosts[i]);
    auto ran = run(some, connect, task, options, [&](std::size_t k, std::string_view state) {
      if (progress) progress(wave[k], state);
    });
    std::size_t wave_failed = 0;
    for (std::size_t k = 0; k < wave.size(); ++k) {
      ran[k].host = wave[k];
      reports[wave[k]] = std::move(ran[k]);
      if (reports[wave[k]].outcome != Outcome::ok) ++wave_failed;
    }
    if (canary && wave_failed == 0 && check) {
      for (auto& [i, failure] : check(wave)) {
        reports[i].outcome = failure.kind;
        reports[i].failure = std::move(failure);
        ++wave_failed;
      }
    }
    failed += wave_failed;
    if ((options.cancel && options.cancel->load()) || Clock::now() >= options.deadline) {
      stop = "the run was interrupted or reached its deadline";
    } else if (canary && wave_failed > 0) {
      stop = fmt::format("{} of the {} canary host(s) failed", wave_failed, wave.size());
    } else if (failed > tolerated) {
      stop = fmt::format("{} host(s) failed, more than --max-fail {} ({})", failed,
                         rollout.max_fail->text(), tolerated);
    }
    if (!stop.empty() && w + 1 < waves.size())
      say(fmt::format("the rollout stops: {}; the {} host(s) after wave {} are left untouched",
                      stop, hosts.size() - (wave.back() + 1), w + 1));
  }
  return reports;
}

}  // namespace crawl::fanout
