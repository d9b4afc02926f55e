// Serves the generated test site for benchmarks until stdin closes: prints the root URL and
// writes the paths a script needs to OUT/site.env.

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "test_site.hpp"

int main(int argc, char** argv) {
  CLI::App app{"site_server: the crawl test site on loopback, for benchmarks"};
  crawl::testing::SiteOptions site;
  crawl::testing::ServerOptions server;
  std::string out;
  app.add_option("--pages", site.pages);
  app.add_option("--page-bytes", site.page_bytes);
  app.add_option("--body-cap", site.body_cap);
  app.add_option("--workers", server.workers, "nginx worker processes");
  app.add_option("--out", out, "Directory for site.env")->required();
  CLI11_PARSE(app, argc, argv);
  crawl::testing::TestSite s(site, server);
  // Written under another name and renamed, so a script polling for it never reads half of it.
  crawl::testing::write_text(out + "/site.env.partial",
                             "ROOT_URL=" + s.root_url() + "\nPORT=" + std::to_string(s.port()) +
                                 "\nWWW=" + s.www_dir() + "\nMANIFEST=" + s.manifest_path() +
                                 "\nNGINX_PID=" + std::to_string(s.pid()) +
                                 "\nENTRIES=" + std::to_string(s.manifest().entries.size()) + "\n");
  std::filesystem::rename(out + "/site.env.partial", out + "/site.env");
  std::printf("%s\n", s.root_url().c_str());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
