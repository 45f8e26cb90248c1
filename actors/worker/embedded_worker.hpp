#pragma once
// Spawns the embedded worker (protocol: actors/protocols/worker.hpp).

#include <string>

#include "actors/protocols/worker.hpp"
#include "actors/worker/build_executor.hpp"

namespace pikoci::worker {

struct worker_options {
  std::string name = "embedded-1";
  int concurrency = 2;  // build slots
  int check_slots = 2;  // checks running at once
  executor_options exec;
};

proto::embedded_worker_actor spawn_embedded_worker(caf::actor_system& sys, worker_options opts);

/// The worker's own environment (the server process's) without the node's secrets: the lowest
/// layer of every command.
work::env_map process_environment();

}  // namespace pikoci::worker
