#include "queue/scripts.hpp"

#include <string>

#include <fmt/format.h>

#include "policy/job_options.hpp"

namespace crawl::queue {
namespace lua {
// lua_scripts.cpp, generated from lib/queue/lua at build time.
extern const std::string_view prelude, claim, complete, refuse, enqueue, load, loading, reap,
    control, sweep, site_start, site_failed, begin_submit, end_submit, job_sites, notify;
}  // namespace lua

namespace scripts {
namespace {

// The job options the scripts read, by their fields in the job hash, and their defaults: from
// the one table of job options.
std::string job_option_lua() {
  std::string fields, defaults;
  const policy::JobOptions d;
  for (const auto& option : policy::job_options()) {
    if (!option.scripts) continue;
    fields += fmt::format("{}'{}'", fields.empty() ? "" : ", ", option.field);
    defaults += fmt::format("{}{} = {}", defaults.empty() ? "" : ", ", option.field,
                            policy::option_integer(d, option));
  }
  return fmt::format("local k_job_fields = {{{}}}\nlocal k_job_defaults = {{{}}}\n", fields,
                     defaults);
}

std::string with_prelude(std::string_view script) {
  static const std::string options = job_option_lua();
  return "local submitter_ttl_ms = " + std::to_string(k_submitter_ttl_ms) + "\n" + options +
         std::string(lua::prelude) + std::string(script);
}

const std::string k_claim = with_prelude(lua::claim);
const std::string k_complete = with_prelude(lua::complete);
const std::string k_refuse = with_prelude(lua::refuse);
const std::string k_enqueue = with_prelude(lua::enqueue);
const std::string k_load = with_prelude(lua::load);
const std::string k_loading = with_prelude(lua::loading);
const std::string k_reap = with_prelude(lua::reap);
const std::string k_control = with_prelude(lua::control);
const std::string k_sweep = with_prelude(lua::sweep);
const std::string k_site_start = with_prelude(lua::site_start);
const std::string k_notify = with_prelude(lua::notify);
const std::string k_site_failed = with_prelude(lua::site_failed);
const std::string k_begin_submit = with_prelude(lua::begin_submit);
const std::string k_end_submit = with_prelude(lua::end_submit);
const std::string k_job_sites(lua::job_sites);  // self-contained

}  // namespace

const std::string_view claim = k_claim;
const std::string_view complete = k_complete;
const std::string_view refuse = k_refuse;
const std::string_view enqueue = k_enqueue;
const std::string_view load = k_load;
const std::string_view loading = k_loading;
const std::string_view reap = k_reap;
const std::string_view control = k_control;
const std::string_view sweep = k_sweep;
const std::string_view site_start = k_site_start;
const std::string_view notify = k_notify;
const std::string_view site_failed = k_site_failed;
const std::string_view begin_submit = k_begin_submit;
const std::string_view end_submit = k_end_submit;
const std::string_view job_sites = k_job_sites;

}  // namespace scripts
}  // namespace crawl::queue
