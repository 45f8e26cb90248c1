#pragma once
// The REST API edge (RESTinio). Handlers turn requests into calls on the node and write replies;
// this TU is the only one that includes RESTinio (it is expensive to compile).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace pikoci::http {

/// What the API needs from the rest of the node. Filled by the composition root.
struct node_view {
  std::function<nlohmann::json()> health;  // body of GET /api/v1/health
};

struct server_options {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
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
