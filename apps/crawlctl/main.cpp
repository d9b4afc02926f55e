// crawlctl: deploy, drive and watch a fleet of crawl workers. main() parses the command line
// and runs one subcommand; everything it prints comes from the subcommand files.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>

#include <fmt/core.h>

#include "commands.hpp"
#include "core/file.hpp"
#include "core/output.hpp"
#include "core/secret.hpp"

namespace crawl::ctl {

std::string default_hosts_file() {
  const char* env = std::getenv("CRAWL_HOSTS");
  return env != nullptr && *env != '\0' ? env : "hosts.yaml";
}

void print_inventory_error(std::string_view command, const Error& error) {
  if (error.kind == ErrorKind::invalid)
    crawl::print(stderr, "{}\n", error.message);
  else
    crawl::print(stderr, "crawlctl {}: {}\n", command, error.message);
}

void warn_if_loose(const std::string& path, std::string_view what) {
  static std::set<std::string> warned;
  const std::string file = expand_home(path);
  if (warned.count(file)) return;
  if (const std::string problem = loose_permissions(file); !problem.empty()) {
    warned.insert(file);
    crawl::print(stderr, "crawlctl: warning: {} {} is {}\n", what, path, problem);
  }
}

namespace {

int real_main(int argc, char** argv) {
  // A remote or local command that exits without reading its input must not kill crawlctl.
  signal(SIGPIPE, SIG_IGN);
  // crawlctl holds passwords (the Redis, SSH and sudo ones) in its own memory and in libssh's,
  // hiredis's and stdio's buffers: it writes no core file, and no other process of its user
  // reads its memory or environment. Passwords in the environment are taken out of it before
  // anything starts, so no child (the local transport's workers, dtach) inherits them.
  forbid_core_dumps();
  take_env_secrets({"CRAWL_SSH_PASSPHRASE", "CRAWL_REDIS_PASSWORD", "CRAWL_SENTINEL_PASSWORD",
                    "CRAWL_REDIS_URL"});
  CLI::App app{"crawlctl: deploy, drive and watch a fleet of crawl workers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "crawlctl 0.1.0");
  app.footer(
      "A crawl, from nothing to results (each subcommand has --help with more examples):\n"
      "  crawlctl hosts -H hosts.yaml                  # check the hosts file: the fleet it "
      "describes\n"
      "  crawlctl deploy -H hosts.yaml                 # install and start the workers on every "
      "host\n"
      "  crawlctl submit -H hosts.yaml https://example.org/ --depth 3   # prints the job id, e.g. "
      "1\n"
      "  crawlctl status -H hosts.yaml 1 --watch       # pages/s, ETA, every worker; dead ones "
      "flagged\n"
      "  crawlctl wait -H hosts.yaml 1 && crawlctl results -H hosts.yaml 1 > results.jsonl\n"
      "  crawlctl logs -H hosts.yaml --outdir logs/    # bring every worker's log home\n"
      "  crawlctl stop -H hosts.yaml                   # workers drain and hand back their URLs\n"
      "\n"
      "The hosts file is -H FILE, else $CRAWL_HOSTS, else ./hosts.yaml; Redis is --redis URL, "
      "else\n"
      "$CRAWL_REDIS_URL, else the hosts file's redis: section. Exit status: 0 ok, 1 something\n"
      "failed, 2 bad command line or input, 3 no host succeeded, 70 internal error; status and\n"
      "wait add their own (see their --help). Docs: docs/operations.md, docs/hosts-file.md.");
  Action run;
  add_hosts_command(app, run);
  add_submit_command(app, run);
  add_status_command(app, run);
  add_job_commands(app, run);
  add_deploy_command(app, run);
  add_stop_command(app, run);
  add_logs_command(app, run);
  add_collect_command(app, run);
  add_results_command(app, run);
  add_serve_command(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? k_exit_ok : k_exit_usage;
  }
  return run ? run() : k_exit_usage;
}

}  // namespace
}  // namespace crawl::ctl

int main(int argc, char** argv) {
  try {
    return crawl::ctl::real_main(argc, argv);
  } catch (const std::exception& e) {
    crawl::print(stderr, "crawlctl: internal error: {}\n", e.what());
    return 70;
  }
}
