#pragma once
// A small blocking HTTP client (libcurl) for the node's own outgoing calls: `pikoci-node client`
// today, service sources and notifications later. Every request has an overall time limit and a
// cap on the response size; failures come back in `response::error`, never as exceptions.
// `request` blocks: never call it from a CAF scheduler or RESTinio I/O thread.

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace pikoci::http_client {

struct response {
  long status = 0;  // 0 when no HTTP response arrived (see `error`)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, of the final response
  std::string error;  // transport failure ("Could not connect ..."), empty when a reply came
  bool ok() const { return error.empty() && status != 0; }
};

inline constexpr std::chrono::milliseconds default_timeout{30000};
inline constexpr std::size_t default_max_response_bytes = 64 * 1024 * 1024;

/// Sends one request to an http(s) URL (no redirects followed) and waits for the whole reply.
/// `headers` are sent as given; a body is sent when non-empty or for POST/PUT/PATCH. `timeout`
/// bounds the whole request, connection included; a body above `max_response_bytes` fails it.
response request(const std::string& method, const std::string& url, const std::string& body = {},
                 const std::map<std::string, std::string>& headers = {},
                 std::chrono::milliseconds timeout = default_timeout,
                 std::size_t max_response_bytes = default_max_response_bytes);

}  // namespace pikoci::http_client
