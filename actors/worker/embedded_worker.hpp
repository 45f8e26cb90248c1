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

/// The worker's own environment (the server process's) without the node's secrets, plus
/// `PIKOCI_NODE_BIN` (this binary, which the `pikoci-node` runner of the built-in types runs):
/// the lowest layer of every command.
work::env_map process_environment();

/// `--cache-root`, or when empty $XDG_CACHE_HOME/pikoci/cache, else $HOME/.cache/pikoci/cache,
/// else a directory below the system's temporary directory.
std::filesystem::path cache_root_or_default(const std::string& flag);

}  // namespace pikoci::worker
