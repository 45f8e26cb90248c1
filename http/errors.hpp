#pragma once
// The one place where the node's answers become HTTP: which status each domain error code and
// each outcome is, the error envelope {"error": {"code": "not_found", "message": "..."}}, and
// the Retry-After a temporary refusal asks for.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/reply.hpp"

namespace pikoci::http {

using domain::errc;

/// An HTTP status, a JSON body (null: no body) and extra headers.
struct response {
  int status = 200;
  nlohmann::json body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string raw;  // a body that is not JSON (its Content-Type is among `headers`)
};

/// The HTTP status of an error code (404).
int status_of(domain::errc e);
/// {"error": {"code": ..., "message": ...}}
nlohmann::json error_body(domain::errc e, const std::string& message);
/// The answer for an error: status, envelope (with the error's details beside it), Retry-After
/// for the codes that are temporary.
response response_of(const domain::error& e);
/// The answer for a reply of an operation.
response response_of(const domain::reply& r);
/// 200 with a JSON body the edge made itself (health, version, login).
inline response ok(nlohmann::json body) {
  return {200, std::move(body), {}, {}};
}
/// An error the edge itself finds (a bad path parameter, a missing token).
inline response failure(domain::errc e, std::string message) {
  return response_of(domain::error{e, std::move(message)});
}

}  // namespace pikoci::http
