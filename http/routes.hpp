#pragma once
// Inside the HTTP edge: the route table and what the server (http/server.cpp) takes from it —
// the router, the gate's decision on a request head, and the open Server-Sent Events streams.
// Only the edge's two RESTinio translation units include this.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <restinio/all.hpp>

#include "http/forward.hpp"
#include "http/request_gate.hpp"
#include "http/server.hpp"

namespace pikoci::http {

// The RESTinio types both translation units of the edge speak in.
using router_t = restinio::router::express_router_t<>;
using request_t = restinio::request_handle_t;
using params_t = restinio::router::route_params_t;
using handling_t = restinio::request_handling_status_t;

/// The open Server-Sent Events streams, pinged every `interval` by the server's pinger thread.
class sse_streams {
 public:
  static constexpr std::chrono::seconds interval{10};

  /// A stream answering `req`: events go out as they are pushed.
  std::shared_ptr<proto::event_sink> open(request_t req);
  /// A comment line to every open stream; the ones that are over are forgotten.
  void ping_all();

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<proto::event_sink>> streams_;
};

/// Cluster mode's part of the edge (node_view::cluster set): the forwarder to the owners, and the
/// I/O thread's executor, whose timers run the waits for a partition that is moving.
struct cluster_edge {
  std::shared_ptr<forwarder> forward;
  /// Set by the acceptor's bind hook on the I/O thread, before the first request.
  std::optional<asio::any_io_executor> io;
};

/// The router of every route (routes.cpp has the table). `cluster` is null for a single node.
std::unique_ptr<router_t> make_router(node_view node, const server_options& opts,
                                      std::shared_ptr<sse_streams> streams,
                                      std::shared_ptr<cluster_edge> cluster = nullptr);

/// The gate's decision on a complete head, before any of the body is read.
verdict head_verdict(const request_head& h, const std::string& secret, const server_options& opts);

}  // namespace pikoci::http
