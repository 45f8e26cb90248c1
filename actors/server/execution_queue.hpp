#pragma once
// Spawns the execution queue (protocol: actors/protocols/execution_queue.hpp).

#include "actors/protocols/execution_queue.hpp"

namespace pikoci::server {

struct queue_limits {
  int max_in_flight = 10;
  int max_queue_size = 100;
  /// The workers: started builds never exceed min(max_in_flight, their slots), and a build goes
  /// out only when one of them could run it (actors/server/worker_wait.hpp).
  proto::worker_pool workers = proto::embedded_pool(2);
  /// Restoring from a store: nothing is dispatched until `restore_atom`.
  bool hold = false;
  /// Cluster mode: a new build's place is at least the wall clock in µs, so places compare
  /// across the nodes a pipeline moves between (a restored build keeps its stored place).
  bool cluster = false;
};

proto::execution_queue_actor spawn_execution_queue(caf::actor_system& sys, queue_limits limits,
                                                   proto::dispatcher_actor dispatcher);

}  // namespace pikoci::server
