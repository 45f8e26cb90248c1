#pragma once
// Spawns a pipeline actor (protocol: actors/protocols/pipeline.hpp).

#include "actors/protocols/pipeline.hpp"
#include "actors/server/context.hpp"

namespace pikoci::server {

proto::pipeline_actor spawn_pipeline(caf::actor_system& sys, std::string name, context ctx);

}  // namespace pikoci::server
