#include "queue/target.hpp"

#include <cstdlib>

#include "core/file.hpp"

namespace crawl::queue {

Result<RedisUrl> redis_target(std::string_view flag_url, std::string_view file_url,
                              std::string_view password_file, std::string_view password_env) {
  const char* env_url = std::getenv("CRAWL_REDIS_URL");
  std::string text = !flag_url.empty()                        ? std::string(flag_url)
                     : env_url != nullptr && *env_url != '\0' ? std::string(env_url)
                     : !file_url.empty()                      ? std::string(file_url)
                                         : std::string("redis://127.0.0.1:6379/0");
  auto url = parse_redis_url(text);
  if (!url) return url;
  if (!url->password.empty()) return url;
  if (!password_file.empty()) {
    auto secret = read_file(expand_home(std::string(password_file)));
    if (!secret) return fail("Redis password: {}", secret.error().message);
    std::string password = *secret;
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
      password.pop_back();
    url->password = std::move(password);
    return url;
  }
  for (std::string name : {std::string(password_env), std::string("CRAWL_REDIS_PASSWORD")}) {
    if (name.empty()) continue;
    if (const char* v = std::getenv(name.c_str()); v != nullptr && *v != '\0') {
      url->password = v;
      return url;
    }
  }
  return url;
}

}  // namespace crawl::queue
