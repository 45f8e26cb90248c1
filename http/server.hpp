#pragma once
// The REST API edge (RESTinio): the one route table (http/routes.cpp), authentication and roles,
// body and query checks. A route becomes a typed operation (actors/protocols/*.hpp) handed to
// the node through its gateway without blocking; the reply is written when the node answers.
// Only server.cpp and routes.cpp include RESTinio (it is expensive to compile).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/protocols/gateway.hpp"
#include "auth/auth.hpp"
#include "persistence/artifact_store.hpp"

namespace pikoci::http {

/// What the API needs from the rest of the node. Filled by the composition root.
struct node_view {
  std::function<nlohmann::json()> health;  // body of GET /api/v1/health
  /// Body of POST /api/v1/workers/register (a worker starting checks its token and learns the
  /// Kafka settings); null when the node has no remote workers (pubsub mem).
  std::function<nlohmann::json()> worker_hello;
  /// Where operations go; their replies come back on a CAF thread.
  proto::gateway node;
  std::string jwt_secret;
  std::shared_ptr<const auth::user_store> users;
  /// The artifact routes' store (built-in `artifact` type); none: they answer 404.
  std::shared_ptr<persistence::artifact_store> artifacts;
};

/// Limits of the edge (docs/operations.md, "Limits").
struct server_options {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t max_body_bytes = 4 * 1024 * 1024;  // 413 beyond, checked before the body is read
  std::size_t max_login_body_bytes = 16 * 1024;  // POST /login and routes that take no body
  std::size_t max_url_bytes = 8 * 1024;          // 414 beyond
  std::size_t max_head_bytes = 64 * 1024;        // request line and header fields: 431 beyond
  std::size_t max_connections = 1024;            // more wait in the listen backlog
  std::int64_t login_ttl_seconds = 24 * 3600;
  std::size_t max_artifact_bytes = 256 * 1024 * 1024;  // body of an artifact upload
};

/// A running HTTP server on its own I/O thread. Stopping is idempotent; the destructor stops.
class server {
 public:
  virtual ~server() = default;
  /// The bound port (the real one when 0 was asked for).
  virtual std::uint16_t port() const = 0;
  virtual void stop() = 0;
};

/// Starts listening; throws std::runtime_error with a readable message if it cannot bind.
std::unique_ptr<server> start_server(const server_options& opts, node_view node);

}  // namespace pikoci::http
