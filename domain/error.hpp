#pragma once
// What can go wrong with an operation, as a value: an error code of the node's own vocabulary
// and a message for the user. Actors return these; only the HTTP edge knows which status code
// and headers each code becomes (http/errors.hpp).

#include <string>

#include <nlohmann/json.hpp>

namespace pikoci::domain {

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
  store_unavailable,    // the store takes no writes (full or read-only disk); reads still work
  pipeline_restarting,  // the pipeline's actors failed and it is being restored
  /// Cluster mode: the pipeline's partition is owned by another node. Never shown to users: the
  /// HTTP edge forwards the request to the owner (`details.partition` says which partition).
  not_owner,
  /// Cluster mode: the pipeline's partition is moving between nodes (restoring on its new owner,
  /// or its owner is gone and no other took it yet) for longer than the edge waits.
  partition_moving,
  internal,
};

/// The code's name as the API shows it ("not_found").
const char* to_string(errc e);

/// An error: its code, a message for the user, and fields the answer carries beside the error
/// (e.g. the `diagnostics` of an invalid pipeline).
struct error {
  errc code = errc::internal;
  std::string message;
  nlohmann::json details = nlohmann::json::object();
};

}  // namespace pikoci::domain
