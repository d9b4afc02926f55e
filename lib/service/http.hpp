#pragma once
// An HTTP request and response as the routes see them, apart from any socket: routes.hpp turns
// one into the other, server.hpp carries them over cpp-httplib. Unit tests build requests by
// hand.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace crawl::service {

struct Request {
  std::string method;                             // GET, POST, ...
  std::string path;                               // without the query, percent-decoded
  std::multimap<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;     // names in lower case
  std::string body;
  std::string remote;  // the client's address, for the access log

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
  std::string param(const std::string& name, const std::string& otherwise = "") const {
    auto it = query.find(name);
    return it == query.end() ? otherwise : it->second;
  }
};

// A body too big to hold at once is streamed: `stream` is called with a writer, again and again
// while it answers `more`; the writer returns false once the client has gone (then answer
// `failed`). `failed` also ends a body cut short by an error: the client sees the chunked body
// end without its last chunk, and takes it for what it is.
using Writer = std::function<bool(std::string_view chunk)>;
enum class Chunk { more, done, failed };

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::function<Chunk(const Writer& write)> stream;  // set: the body, in chunks

  static Response json(int status, const nlohmann::ordered_json& body);
  // {"error": message}, the shape of every error the API returns.
  static Response error(int status, std::string_view message);
};

// The headers every response carries: a Content-Security-Policy that lets no inline or foreign
// script run, nosniff, no referrer, no caching.
void secure(Response& response);

// Whether `given` is `secret`, in time that does not depend on where they differ.
bool same_secret(std::string_view given, std::string_view secret);

}  // namespace crawl::service
