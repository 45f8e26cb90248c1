#pragma once
// The registry (one per node): pipelines by name, and the entry point of every user request.
// It loads pipeline text (parse + validate), spawns pipeline actors, routes pipeline-scoped
// requests to them and answers node-wide ones (lists across pipelines, queue, workers).

#include "actors/protocols/pipeline.hpp"

namespace pikoci::proto {

using registry_actor = caf::typed_actor<
    caf::replies_to<api_atom, api::request>::with<api::response>,
    // the server is stopping (SIGTERM): cancel running builds; replies how many
    // were cancelled
    caf::replies_to<shutdown_atom>::with<int>,
    // start-up from a store: every stored pipeline back (its text loaded again);
    // replies how many pipelines were restored
    caf::replies_to<restore_atom, std::vector<persistence::stored_pipeline>>::with<int>>;

}  // namespace pikoci::proto
