#pragma once
// A pipeline (one per pipeline name): owns its parsed config, pause flags, resource versions and
// pins, and the compact record of which build used which versions. It spawns its job and checker
// actors and reconciles them in place when the pipeline is set again. It decides when builds are
// due (new versions, `passed`, manual triggers) and with which versions; the jobs create them.

#include "actors/protocols/job.hpp"
#include "actors/protocols/resource_checker.hpp"
#include "persistence/snapshot.hpp"

namespace pikoci::proto {

using pipeline_actor = caf::typed_actor<
    // requests about this pipeline (everything but list_pipelines and node-wide ones)
    caf::replies_to<api_atom, api::request>::with<api::response>,
    // set or re-set: the loaded config, its text and vars; 201 first time, 200 after
    caf::replies_to<config_atom, config_ptr, std::string /*text*/,
                    nlohmann::json /*vars*/>::with<api::response>,
    // restart: its stored state back, its pending builds in the queue again; replies when done
    caf::replies_to<restore_atom, config_ptr, persistence::stored_pipeline>::with<bool>,
    // the pipeline summary of GET /pipelines
    caf::replies_to<summary_atom>::with<nlohmann::json>,
    // delete: jobs and checkers stop, pending builds are withdrawn, running ones cancelled
    caf::reacts_to<shutdown_atom>>::extend_with<build_observer_actor>::
    extend_with<checker_host_actor>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::persistence::stored_pipeline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pikoci::persistence::stored_pipeline>)
