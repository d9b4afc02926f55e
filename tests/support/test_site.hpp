#pragma once

#include <string>

#include "process.hpp"
#include "site_model.hpp"

namespace crawl::testing {

struct ServerOptions {
  int workers = 1;  // nginx worker processes
  bool access_log =
      false;  // log requests to access_log(): "<end seconds> <duration seconds> <uri>" per line
};

// The generated site (site_model.hpp) served by a private nginx on a free loopback port.
// Ready when it serves robots.txt; stopped, and only its processes, on destruction.
class TestSite {
 public:
  explicit TestSite(SiteOptions site = {}, ServerOptions server = {});
  ~TestSite();

  int port() const { return m_port; }
  std::string root_url() const { return m_site.manifest.root; }
  std::string url(std::string_view path) const { return m_site.base + std::string(path); }
  const Manifest& manifest() const { return m_site.manifest; }
  std::string manifest_path() const { return m_dir / "manifest.json"; }
  std::string www_dir() const { return m_dir / "www"; }
  std::string access_log() const { return m_dir / "access.log"; }
  const std::string& dir() const { return m_dir.path(); }
  pid_t pid() const { return m_nginx.pid(); }

 private:
  void write_config(const ServerOptions& server) const;

  TempDir m_dir{"site"};
  int m_port = 0;
  Site m_site;
  Process m_nginx;
};

}  // namespace crawl::testing
