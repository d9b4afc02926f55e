#include "core/logging.hpp"

#include <fcntl.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/output.hpp"

namespace crawl {

namespace {

// The message as core/output.hpp shows text: a URL, a title or an error from outside cannot write
// a terminal's commands into the log, nor a second line that looks like an event of its own.
class ShownMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string shown =
        shown_text(std::string_view(msg.payload.data(), msg.payload.size()), Lines::escape);
    dest.append(shown.data(), shown.data() + shown.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<ShownMessage>();
  }
};

void configure(const std::shared_ptr<spdlog::logger>& logger, bool debug) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<ShownMessage>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %n %*");
  logger->set_formatter(std::move(formatter));
  logger->set_level(debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace

void setup_logging(const std::string& program, bool debug) {
  spdlog::drop(program);
  configure(spdlog::stderr_logger_mt(program), debug);
}

bool setup_file_logging(const std::string& program, bool debug, const std::string& path,
                        std::size_t max_bytes, std::size_t keep) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  close(fd);
  try {
    spdlog::drop(program);
    configure(spdlog::rotating_logger_mt(program, path, max_bytes, keep), debug);
    // Debug lines are not flushed one by one; a reader (crawlctl logs -f) sees them within 1 s.
    spdlog::flush_every(std::chrono::seconds(1));
  } catch (const spdlog::spdlog_ex&) {
    return false;
  }
  return true;
}

}  // namespace crawl
