#pragma once

#include <string>
#include <string_view>

namespace crawl {

// The URL with the password of its userinfo replaced by "***", for printing and logging:
// redis://:***@host:6379/0. Userinfo ends at the last '@', since passwords are often written
// unencoded and may hold '/', '?' or '#'. A `sentinel_password=` parameter (sentinel:// URLs)
// is hidden too.
std::string redact_password(std::string_view url);

}  // namespace crawl
