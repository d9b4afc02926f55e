#include "test_site.hpp"

#include <filesystem>
#include <stdexcept>

#include <unistd.h>

namespace crawl::testing {

namespace {

constexpr const char* k_nginx = "/usr/sbin/nginx";
constexpr const char* k_echo_module = "/usr/lib/nginx/modules/ngx_http_echo_module.so";

}  // namespace

TestSite::TestSite(SiteOptions site, ServerOptions server) {
  if (!std::filesystem::exists(k_echo_module))
    throw std::runtime_error(std::string(k_echo_module) +
                             " is missing: run scripts/install-deps.sh (libnginx-mod-http-echo)");
  const bool started = start_with_retry([&] {
    m_port = free_port();
    m_site = generate_site(site, m_port);  // absolute links carry the port
    std::filesystem::remove_all(www_dir());
    for (const auto& [path, content] : m_site.files) write_text(www_dir() + path, content);
    write_text(manifest_path(), m_site.manifest.to_json());
    write_config(server);
    m_nginx = Process({{k_nginx, "-p", dir(), "-c", m_dir / "nginx.conf", "-e", m_dir / "error.log",
                        "-g", "daemon off;"},
                       m_dir / "nginx.out",
                       {}});
    const bool ready = wait_until(
        [&] {
          if (!m_nginx.running()) return true;
          auto reply =
              tcp_exchange("127.0.0.1", m_port, "GET /robots.txt HTTP/1.0\r\n\r\n", 12, 200ms);
          return reply && reply->starts_with("HTTP/1.1 200");
        },
        10s);
    if (ready && m_nginx.running()) return true;
    m_nginx.stop(1s);
    return false;
  });
  if (started) return;
  throw std::runtime_error("nginx did not start; error log: " + read_text(m_dir / "error.log") +
                           read_text(m_dir / "nginx.out"));
}

TestSite::~TestSite() {
  m_nginx.stop(5s);
}

void TestSite::write_config(const ServerOptions& server) const {
  const std::string tmp = m_dir / "tmp";
  std::filesystem::create_directories(tmp);
  std::string c;
  c += "load_module ";
  c += k_echo_module;
  c += ";\n";
  if (geteuid() == 0) c += "user root;\n";  // workers must read the temp dir
  c += "worker_processes " + std::to_string(server.workers) + ";\n";
  c += "pid " + (m_dir / "nginx.pid") + ";\n";
  c += "error_log " + (m_dir / "error.log") + " warn;\n";
  c += "events { worker_connections 4096; }\n";
  c += "http {\n";
  // With a log, each line is the time the request ended and its duration, in seconds with ms
  // resolution, then its URI; the first less the second is when its first byte arrived.
  c += "  log_format timed '$msec $request_time $request_uri';\n";
  c += server.access_log ? "  access_log " + (m_dir / "access.log") + " timed;\n"
                         : "  access_log off;\n";
  for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    c += std::string("  ") + t + "_temp_path " + tmp + "/" + t + ";\n";
  c += "  types { text/html html; image/png png; application/pdf pdf; application/json json; "
       "text/plain txt; text/xml xml; application/gzip gz; }\n";
  c += "  default_type application/octet-stream;\n";
  c += "  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n";
  c += "  keepalive_requests 1000000;\n  keepalive_timeout 60s;\n";
  c += "  absolute_redirect off;\n";  // Locations go out exactly as written
  c += "  server {\n";
  c += "    listen 127.0.0.1:" + std::to_string(m_port) + " backlog=4096;\n";
  c += "    root " + www_dir() + ";\n";
  for (const auto& s : m_site.specials) {
    switch (s.kind) {
      case SpecialLocation::Kind::redirect:
        c += "    location = " + s.path + " { return " + std::to_string(s.status) + " " +
             s.location + "; }\n";
        break;
      case SpecialLocation::Kind::slow:
        c += "    location = " + s.path + " { default_type text/html; echo_sleep " +
             std::to_string(m_site.manifest.options.slow_seconds) +
             "; echo \"<html><title>slow</title><a href=/hidden/slow.html>x</a></html>\"; }\n";
        break;
      case SpecialLocation::Kind::trickle:
        // Headers and the first KiB at once, then a byte a second.
        c += "    location = " + s.path + " { limit_rate_after 1k; limit_rate 1; }\n";
        break;
      case SpecialLocation::Kind::html_type:
        c += "    location " + s.path + " { types { } default_type text/html; }\n";
        break;
      case SpecialLocation::Kind::content_type:
        c += "    location = " + s.path + " { types { } default_type \"" + s.location + "\"; }\n";
        break;
    }
  }
  c += "  }\n}\n";
  write_text(m_dir / "nginx.conf", c);
}

}  // namespace crawl::testing
