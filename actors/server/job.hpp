#pragma once
// Spawns a job actor (protocol: actors/protocols/job.hpp).

#include "actors/protocols/job.hpp"
#include "actors/server/context.hpp"

namespace pikoci::server {

struct job_setup {
  std::string pipeline;
  std::string name;
  proto::config_ptr cfg;
  bool paused = false;
  proto::build_observer_actor observer;
  context ctx;
  /// Restored from the store: builds that were started become `errored` (orphaned), pending
  /// ones go back to the queue on `restore_atom`.
  std::vector<std::string> restored;  // stored records (JSON text), parsed by the job
  /// The reason a restored build that was running gets (the pipeline may be restarting after
  /// its actors failed rather than the node after a stop).
  std::string orphan_reason = "orphaned: server stopped during build";
};

proto::job_actor spawn_job(caf::actor_system& sys, job_setup setup);

/// The plan outline of GET /pipelines/{p}/jobs/{j}: [{"type","name"[,"steps"]}].
nlohmann::json plan_outline(const std::vector<pipeline::step>& steps);

}  // namespace pikoci::server
