#pragma once
// A small blocking HTTP client (libcurl) for integration tests, with hard time limits.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace pikoci::test {

struct http_response {
  long status = 0;  // 0 when the request failed (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

http_response http_request(const std::string& method, const std::string& url,
                           const std::string& body = {},
                           const std::map<std::string, std::string>& headers = {},
                           long timeout_ms = 10000);

/// A client that keeps its connection open between requests (keep-alive), for load that should
/// measure the node rather than TCP handshakes. One per thread.
class http_session {
 public:
  http_session();
  ~http_session();
  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;
  http_response request(const std::string& method, const std::string& url,
                        const std::string& body = {},
                        const std::map<std::string, std::string>& headers = {},
                        long timeout_ms = 10000);

 private:
  void* curl_;  // CURL*
};

inline http_response http_get(const std::string& url) {
  return http_request("GET", url);
}

}  // namespace pikoci::test
