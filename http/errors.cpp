#include "http/errors.hpp"

namespace pikoci::http {

namespace {
struct entry {
  const char* code;
  int status;
};

entry lookup(errc e) {
  switch (e) {
    case errc::bad_request:
      return {"bad_request", 400};
    case errc::unauthenticated:
      return {"unauthenticated", 401};
    case errc::forbidden:
      return {"forbidden", 403};
    case errc::not_found:
      return {"not_found", 404};
    case errc::method_not_allowed:
      return {"method_not_allowed", 405};
    case errc::conflict:
      return {"conflict", 409};
    case errc::payload_too_large:
      return {"payload_too_large", 413};
    case errc::uri_too_long:
      return {"uri_too_long", 414};
    case errc::header_too_large:
      return {"header_too_large", 431};
    case errc::too_many_requests:
      return {"too_many_requests", 429};
    case errc::invalid_pipeline:
      return {"invalid_pipeline", 422};
    case errc::queue_full:
      return {"queue_full", 503};
    case errc::draining:
      return {"draining", 503};
    case errc::store_unavailable:
      return {"store_unavailable", 503};
    case errc::pipeline_restarting:
      return {"pipeline_restarting", 503};
    case errc::internal:
      return {"internal", 500};
  }
  return {"internal", 500};
}
}  // namespace

const char* code_name(errc e) {
  return lookup(e).code;
}
int status_of(errc e) {
  return lookup(e).status;
}

nlohmann::json error_body(errc e, const std::string& message) {
  return {{"error", {{"code", code_name(e)}, {"message", message}}}};
}

}  // namespace pikoci::http
