#pragma once
// Spawns the registry (protocol: actors/protocols/registry.hpp).

#include "actors/protocols/registry.hpp"
#include "actors/server/context.hpp"

namespace pikoci::server {

proto::registry_actor spawn_registry(caf::actor_system& sys, context ctx);

/// The `invalid_pipeline` error of a pipeline that does not load: every diagnostic with line and
/// column beside it. `name` "": a text validated before it has a name.
domain::reply invalid_pipeline(const std::string& name, const hcl::diagnostics& diags);
/// Diagnostics as the API shows them: [{"line","column","message"}].
nlohmann::json diagnostics_json(const hcl::diagnostics& diags);

}  // namespace pikoci::server
