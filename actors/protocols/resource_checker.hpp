#pragma once
// A resource checker (one per resource of a pipeline): owns the check schedule (`check_interval`,
// due once at creation), manual check requests, the one check in flight and the last outcome
// (`check_error`). Checks are work for the worker side; the checker never runs them itself.

#include <optional>
#include <string>
#include <vector>

#include "actors/protocols/dispatch.hpp"

namespace pikoci::proto {

/// The check command of a resource as its pipeline resolves it right now (with `version_*` of
/// the latest version), or why there is none.
struct check_command {
  std::optional<work::command_spec> command;  // none: the type has no check
  std::string error;                          // non-empty: the resource is gone
  std::vector<std::string> tags;              // the resource's: which workers may check it
  work::secret_plan secrets;                  // what its placeholders need
};

/// What the checker needs from its pipeline.
using checker_host_actor = caf::typed_actor<
    caf::replies_to<command_atom, std::string /*resource*/>::with<check_command>,
    // a check succeeded and found these versions (oldest first, maybe none); the pipeline
    // records them and triggers jobs
    caf::reacts_to<found_atom, std::string /*resource*/, std::vector<nlohmann::json>>,
    // a check started or ended (sent only while the node has event subscribers): the checker's
    // state as `state_atom` answers it, for the `resource` event of GET /events
    caf::reacts_to<state_atom, std::string /*resource*/, nlohmann::json>>;

using resource_checker_actor = caf::typed_actor<
    // (re)configure: the schedule text (`@every 1m` or cron)
    caf::reacts_to<config_atom, std::string /*check_interval*/>,
    // check as soon as possible (API, webhook)
    caf::reacts_to<check_atom>,
    // the timer
    caf::reacts_to<due_atom, std::int64_t /*timer generation*/>,
    // {"last_check_at", "next_check_at", "check_error"}
    caf::replies_to<state_atom>::with<nlohmann::json>>::extend_with<check_events_actor>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::check_command)
