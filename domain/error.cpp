#include "domain/error.hpp"

namespace pikoci::domain {

const char* to_string(errc e) {
  switch (e) {
    case errc::bad_request: return "bad_request";
    case errc::unauthenticated: return "unauthenticated";
    case errc::forbidden: return "forbidden";
    case errc::not_found: return "not_found";
    case errc::method_not_allowed: return "method_not_allowed";
    case errc::conflict: return "conflict";
    case errc::payload_too_large: return "payload_too_large";
    case errc::uri_too_long: return "uri_too_long";
    case errc::header_too_large: return "header_too_large";
    case errc::too_many_requests: return "too_many_requests";
    case errc::invalid_pipeline: return "invalid_pipeline";
    case errc::queue_full: return "queue_full";
    case errc::draining: return "draining";
    case errc::store_unavailable: return "store_unavailable";
    case errc::pipeline_restarting: return "pipeline_restarting";
    case errc::not_owner: return "not_owner";
    case errc::partition_moving: return "partition_moving";
    case errc::internal: return "internal";
  }
  return "internal";
}

}  // namespace pikoci::domain
