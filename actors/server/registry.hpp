#pragma once
// Spawns the registry (protocol: actors/protocols/registry.hpp).

#include "actors/protocols/registry.hpp"
#include "actors/server/context.hpp"

namespace pikoci::server {

proto::registry_actor spawn_registry(caf::actor_system& sys, context ctx);

/// The 422 response of a pipeline that does not load: every diagnostic with line and column.
api::response invalid_pipeline(const std::string& name, const hcl::diagnostics& diags);

}  // namespace pikoci::server
