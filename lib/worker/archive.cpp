#include "worker/archive.hpp"

#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

#include "url/url.hpp"

namespace crawl::worker {

namespace {

// The fetcher's tap, gathering the exchange for the archive.
class ExchangeTap final : public fetch::Tap {
 public:
  ExchangeTap(std::string of_job, std::string spool_dir)
      : job(std::move(of_job)), exchange(std::move(spool_dir)) {}
  void sent(std::string_view head) override { exchange.sent(head); }
  void header(std::string_view line) override { exchange.header(line); }
  void body(std::string_view raw) override { exchange.body(raw); }
  std::string job;  // whose files keep it
  warc::Exchange exchange;
};

}  // namespace

Archive::Archive(ArchiveOptions options) : m_options(std::move(options)) {}

Archive::~Archive() {
  close_all();
}

void Archive::recover() {
  std::error_code ec;
  if (!std::filesystem::is_directory(m_options.dir, ec)) return;  // nothing was written yet
  auto recovered = warc::recover(m_options.dir, m_options.worker_id);
  if (!recovered) {
    spdlog::error("event=warc_recover_failed dir=\"{}\" error=\"{}\"", m_options.dir,
                  recovered.error().message);
    return;
  }
  for (const std::string& file : *recovered)
    spdlog::warn(
        "event=warc_recovered file=\"{}/{}\" note=\"left open by an earlier run: cut back to its "
        "last whole record and closed\"",
        m_options.dir, file);
}

std::unique_ptr<fetch::Tap> Archive::tap(const std::string& job) {
  // The directory first: bodies past the exchange's memory are spooled there as they come.
  (void)ready_dir();
  return std::make_unique<ExchangeTap>(job, m_options.dir);
}

bool Archive::ready_dir() {
  if (m_dir_ready) return true;
  std::error_code ec;
  std::filesystem::create_directories(m_options.dir, ec);
  if (ec) {
    ++m_errors;
    spdlog::error("event=warc_failed dir=\"{}\" error=\"cannot create: {}\"", m_options.dir,
                  ec.message());
    return false;
  }
  m_dir_ready = true;
  return true;
}

Archive::Job* Archive::job_writer(const std::string& job) {
  auto it = m_jobs.find(job);
  if (it != m_jobs.end()) return &it->second;
  if (!ready_dir()) return nullptr;
  warc::WriterOptions o;
  o.dir = m_options.dir;
  o.prefix = "job" + job;
  o.writer = m_options.worker_id;
  o.max_file_bytes = m_options.max_file_bytes;
  o.info = m_options.info;
  o.info.emplace_back("isPartOf", "job " + job);
  Job& j = m_jobs[job];
  j.writer = std::make_unique<warc::Writer>(std::move(o));
  return &j;
}

std::optional<Archived> Archive::write(const fetch::Response& r, std::int64_t now_ms) {
  auto* tap = dynamic_cast<ExchangeTap*>(r.tap.get());
  if (tap == nullptr) return std::nullopt;
  const std::string& job = tap->job;
  const std::string& url = r.url;
  Job* j = job_writer(job);
  if (j == nullptr) return std::nullopt;
  j->last_ms = now_ms;
  warc::Exchange& ex = tap->exchange;
  const std::int64_t date = now_ms - r.elapsed_ms;  // when the request left
  auto failed = [&](const Error& e) -> std::optional<Archived> {
    ++m_errors;
    spdlog::error("event=warc_failed job={} url={} error=\"{}\"", job, url, e.message);
    return std::nullopt;
  };

  // Each hop's URL: the request's, then each Location followed (robots.txt's redirects).
  const auto& hops = ex.hops();
  std::vector<std::string> uris{url};
  for (std::size_t i = 1; i < hops.size(); ++i) {
    auto next = url::resolve(uris.back(), hops[i - 1].location);
    uris.push_back(next ? *next : uris.back());
  }
  if (hops.empty()) uris = {url};

  std::optional<Archived> at;
  const std::size_t n = std::max<std::size_t>(1, hops.size());
  for (std::size_t i = 0; i < n; ++i) {
    const bool last = i + 1 == n;
    const std::string_view request_head =
        i < hops.size() ? std::string_view(hops[i].request) : std::string_view();
    const std::string_view response_head =
        i < hops.size() ? std::string_view(hops[i].response) : std::string_view();
    std::string failure_text;
    warc::Record main;
    if (last && !response_head.empty()) {
      main = ex.response_record();
      if (!r.ip.empty()) main.fields.emplace_back("WARC-IP-Address", r.ip);
      std::string_view cut;
      if (r.failure == fetch::Failure::timeout)
        cut = "time";
      else if (r.failure == fetch::Failure::headers || r.truncated)
        cut = "length";
      else if (r.failure == fetch::Failure::encoding || ex.head_cut())
        cut = "unspecified";
      else if (r.failure != fetch::Failure::none)
        cut = "disconnect";
      else if (ex.spool_failed())
        cut = "unspecified";
      if (ex.spool_failed()) {
        ++m_errors;
        spdlog::error(
            "event=warc_spool_failed job={} url={} dir=\"{}\" note=\"the body past 64 KiB could "
            "not be kept beside the WARC files (a full disk?): its record is cut "
            "(WARC-Truncated)\"",
            job, url, ex.spool_dir());
      }
      if (!cut.empty()) main.fields.emplace_back("WARC-Truncated", std::string(cut));
    } else if (!response_head.empty()) {
      // A redirect libcurl followed: its head; its body, if it had one, was not kept.
      main.type = "response";
      main.content_type = "application/http;msgtype=response";
      main.block = {response_head};
      main.payload_from = 1;
      main.fields.emplace_back("WARC-Truncated", "unspecified");
    } else {
      // No response came: what happened instead.
      main.type = "metadata";
      main.content_type = "application/warc-fields";
      failure_text = "fetch-failure: " + std::string(fetch::to_string(r.failure)) + "\r\n";
      if (!r.error.empty()) failure_text += "fetch-error: " + r.error + "\r\n";
      main.block = {failure_text};
    }
    main.target_uri = uris[i];
    main.date_ms = date;
    main.record_id = warc::new_record_id();
    auto written = j->writer->write(main);
    if (!written) return failed(written.error());
    if (last) at = Archived{written->file, written->offset};
    if (!request_head.empty()) {
      warc::Record request;
      request.type = "request";
      request.content_type = "application/http;msgtype=request";
      request.target_uri = uris[i];
      request.date_ms = date;
      request.fields = {{"WARC-Concurrent-To", main.record_id}};
      request.block = {request_head};
      if (auto w = j->writer->write(request); !w) return failed(w.error());
    }
  }
  return at;
}

std::int64_t Archive::close_idle(std::int64_t now_ms) {
  std::int64_t next = -1;
  for (auto it = m_jobs.begin(); it != m_jobs.end();) {
    const std::int64_t due = it->second.last_ms + m_options.idle_close_ms;
    if (now_ms >= due) {
      if (auto closed = it->second.writer->close(); !closed) {
        ++m_errors;
        spdlog::error("event=warc_failed job={} error=\"{}\"", it->first, closed.error().message);
      }
      it = m_jobs.erase(it);
      continue;
    }
    next = next < 0 ? due : std::min(next, due);
    ++it;
  }
  return next;
}

void Archive::close_all() {
  for (auto& [job, j] : m_jobs)
    if (auto closed = j.writer->close(); !closed)
      spdlog::error("event=warc_failed job={} error=\"{}\"", job, closed.error().message);
  m_jobs.clear();
}

}  // namespace crawl::worker
