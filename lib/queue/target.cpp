#include "queue/target.hpp"

#include <cstdlib>

#include "core/file.hpp"
#include "core/secret.hpp"

namespace crawl::queue {

namespace {

// A password from the file, else the first of the variables that is set; "" if none.
Result<std::string> secret(std::string_view file, std::string_view what,
                           std::initializer_list<std::string_view> variables) {
  if (!file.empty()) {
    auto text = read_file(expand_home(std::string(file)));
    if (!text) return fail("{}: {}", what, text.error().message);
    std::string password = std::move(*text);
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
      password.pop_back();
    return password;
  }
  for (std::string_view name : variables) {
    if (name.empty()) continue;
    if (const auto v = env_secret(name); v && !v->empty()) return std::string(*v);
  }
  return std::string();
}

}  // namespace

Result<RedisUrl> redis_target(std::string_view flag_url, std::string_view file_url,
                              const RedisSecrets& secrets) {
  const auto env_url = env_secret("CRAWL_REDIS_URL");  // it may hold a password
  std::string text = !flag_url.empty()              ? std::string(flag_url)
                     : env_url && !env_url->empty() ? std::string(*env_url)
                     : !file_url.empty()            ? std::string(file_url)
                                                    : std::string("redis://127.0.0.1:6379/0");
  auto url = parse_redis_url(text);
  if (!url) return url;
  if (url->password.empty()) {
    auto password = secret(secrets.password_file, "Redis password",
                           {secrets.password_env, "CRAWL_REDIS_PASSWORD"});
    if (!password) return fail(password.error());
    url->password = std::move(*password);
  }
  if (!url->sentinels.empty() && url->sentinel_password.empty()) {
    auto password = secret(secrets.sentinel_password_file, "Sentinel password",
                           {secrets.sentinel_password_env, "CRAWL_SENTINEL_PASSWORD"});
    if (!password) return fail(password.error());
    url->sentinel_password = std::move(*password);
  }
  return url;
}

}  // namespace crawl::queue
