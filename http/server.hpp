#pragma once
// The REST API edge (RESTinio): the one route table (http/routes.cpp), authentication and roles,
// body and query checks. A route becomes a typed operation (actors/protocols/*.hpp) handed to
// the node through its gateway without blocking; the reply is written when the node answers.
// Only server.cpp and routes.cpp include RESTinio (it is expensive to compile).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/protocols/gateway.hpp"
#include "auth/auth.hpp"
#include "domain/cluster.hpp"
#include "domain/members.hpp"
#include "persistence/artifact_store.hpp"

namespace pikoci::http {

/// Cluster mode (`--cluster`): what the edge needs to send a request to the node that owns it and
/// to show the cluster. Filled by the composition root; the cluster manager keeps `table` and the
/// members' hellos up to date.
struct cluster_view {
  std::string name;        ///< `--cluster`
  int partitions = 12;     ///< P: pipeline p is in partition persistence::partition_of(p, P)
  std::string self_id;     ///< this node's member id
  std::string self_url;    ///< this node's `--advertise-url`
  /// The state of each partition on this node (0..P-1, and G = P for users and team secrets).
  std::shared_ptr<const domain::cluster::partition_table> table;
  /// The live members at a time (ms since the epoch), this node included once it said hello.
  std::function<std::vector<domain::member>(domain::wall_ms)> live;
  /// The pipeline one of whose resources has this webhook token, from the replicated catalog
  /// (by the token's digest); "" when none is known.
  std::function<std::string(const std::string& token)> webhook_pipeline;
  /// How long a node-wide read (GET /queue, /stats, /dashboard, /builds) waits for the members'
  /// parts; a member that has not answered by then is left out (the answer says so).
  std::chrono::milliseconds gather_wait{3000};
  /// How long a request for a partition that is moving (no owner yet, or restoring) waits before
  /// 503 `partition_moving` with Retry-After (`--move-wait`).
  std::chrono::milliseconds move_wait{10000};
};

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
  /// Set in cluster mode; null for a single node.
  std::shared_ptr<const cluster_view> cluster;
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
