#pragma once
// How a worker reads the internal secret store (`secret "pikoci"`): in the server's process
// through the registry, on a remote worker over the server's worker-token route (never Kafka).

#include <string>

#include "actors/protocols/gateway.hpp"
#include "actors/worker/secret_resolver.hpp"

namespace pikoci::node {

/// Reads through the node's gateway (embedded workers; blocks the build's thread, not CAF's).
worker::secret_store_fn gateway_secret_store(proto::gateway gate);

/// Reads `GET <server_url>/api/v1/workers/secrets/{p}/{name}` with the worker token.
worker::secret_store_fn http_secret_store(std::string server_url, std::string worker_token);

}  // namespace pikoci::node
