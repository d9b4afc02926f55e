#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "queue/redis.hpp"

namespace crawl::queue {

// Where the config file keeps the passwords: files to read or variables to look up.
struct RedisSecrets {
  std::string_view password_file, password_env;
  std::string_view sentinel_password_file, sentinel_password_env;
};

// Where every command finds Redis: the --redis flag, else $CRAWL_REDIS_URL, else the URL from
// the hosts/config file, else redis://127.0.0.1:6379/0. The password comes from the URL, else
// the file's password_file, else its password_env variable, else $CRAWL_REDIS_PASSWORD; for
// sentinel://, the Sentinels' password likewise from the URL's sentinel_password, the file's
// sentinel_password_file or sentinel_password_env, or $CRAWL_SENTINEL_PASSWORD. A file that
// cannot be read is an error naming it.
Result<RedisUrl> redis_target(std::string_view flag_url, std::string_view file_url,
                              const RedisSecrets& secrets);

}  // namespace crawl::queue
