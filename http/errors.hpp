#pragma once
// The one error → HTTP status table and the error envelope of SPEC §3:
// {"error": {"code": "not_found", "message": "..."}}

#include <string>

#include <nlohmann/json.hpp>

namespace pikoci::http {

enum class errc {
  bad_request,
  unauthenticated,
  forbidden,
  not_found,
  method_not_allowed,
  conflict,
  payload_too_large,
  uri_too_long,
  header_too_large,
  too_many_requests,
  invalid_pipeline,
  queue_full,
  draining,
  store_unavailable,  // the store takes no writes (full or read-only disk); reads still work
  pipeline_restarting,  // 503: the pipeline's actors failed and it is being restored
  internal,
};

/// The envelope `code` string ("not_found").
const char* code_name(errc e);
/// The HTTP status (404).
int status_of(errc e);
/// {"error": {"code": ..., "message": ...}}
nlohmann::json error_body(errc e, const std::string& message);

}  // namespace pikoci::http
