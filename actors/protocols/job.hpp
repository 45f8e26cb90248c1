#pragma once
// A job (one per job of a pipeline): creates and numbers its builds, makes their plans, hands
// them to the execution queue, applies the worker's events to its build records, cancels and
// retries. It tells its observer (the pipeline) about every build's status and versions, which
// is what `passed` decisions are made of.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/protocols/events.hpp"
#include "actors/protocols/execution_queue.hpp"
#include "actors/protocols/operation.hpp"

namespace pikoci::proto {

// ---- operations on one job's builds (the pipeline hands them to the job they name)

/// GET /pipelines/{p}/jobs/{j}
struct get_job {
  static constexpr const char* name = "get_job";
  static constexpr bool writes = false;
  std::string pipeline, job;
};
/// GET .../jobs/{j}/builds, or GET /builds across pipelines (pipeline and job empty).
struct list_builds {
  static constexpr const char* name = "list_builds";
  static constexpr bool writes = false;
  std::string pipeline, job;
  std::set<model::build_status> statuses;  // empty: all
  std::size_t limit = 50;                  // 0: all
};
/// By pipeline/job/number, or by global id when `pipeline` is empty.
struct get_build {
  static constexpr const char* name = "get_build";
  static constexpr bool writes = false;
  std::string pipeline, job, number;
  std::int64_t id = 0;
};
/// POST .../builds/{n}/cancel
struct cancel_build {
  static constexpr const char* name = "cancel_build";
  static constexpr bool writes = true;
  std::string pipeline, job, number;
  std::string by;       // the user, for the reason
  std::int64_t id = 0;  // instead of `number` (the pipeline cancelling on its own)
};
/// POST .../builds/{n}/approve and /reject: a decision at the build's approval gate by `by` (the
/// token subject; one user's approvals count once).
struct decide_build {
  static constexpr const char* name = "decide_build";
  static constexpr bool writes = true;
  std::string pipeline, job, number;
  std::string by;
  bool approve = true;  // false: reject
  std::string message;
};
/// POST .../builds/{n}/warning: a failed build is marked `warning` by `by`.
struct mark_warning {
  static constexpr const char* name = "mark_warning";
  static constexpr bool writes = true;
  std::string pipeline, job, number;
  std::string by;
};
/// POST .../builds/{n}/retry
struct retry_build {
  static constexpr const char* name = "retry_build";
  static constexpr bool writes = true;
  std::string pipeline, job, number;
  std::string user;  // who asked for it: recorded as the trigger's `user`
};
/// GET .../builds/{n}/events: the build's events so far, then live until it ends, pushed to
/// `sink`; the reply is an error or `nothing` once the stream started. `last_event_id`: the id of
/// the last event a subscriber got before (a reconnect): only what came after it is sent.
struct watch_build {
  static constexpr const char* name = "watch_build";
  static constexpr bool writes = false;
  std::string pipeline, job, number;
  event_sink_ptr sink;
  std::string last_event_id;
};
/// GET .../builds/{n}/plan: the build's resolved plan (services, steps with their commands,
/// hooks, timeouts, environment), as the job makes it from its current definition and the
/// build's versions and inputs.
struct get_build_plan {
  static constexpr const char* name = "get_build_plan";
  static constexpr bool writes = false;
  std::string pipeline, job, number;
};
/// POST .../jobs/{j}/pause and /unpause: the pipeline records the flag, the job answers with its
/// summary.
struct pause_job {
  static constexpr const char* name = "pause_job";
  static constexpr bool writes = true;
  std::string pipeline, job;
  bool paused = true;
};

using job_operations =
    answers<get_job, list_builds, get_build, cancel_build, retry_build, watch_build, pause_job,
            get_build_plan, decide_build, mark_warning>;

/// A build the pipeline decided to create (its versions already resolved).
struct build_spec {
  std::int64_t id = 0;
  nlohmann::json trigger = nlohmann::json::object();
  std::vector<model::build_input> inputs;     // one per get step, by step name
  std::map<std::string, std::string> values;  // INPUT_<name> of a manual trigger
  std::vector<std::string> args;
  build_rules rules;    // the pipeline's concurrency mode, its group key rendered
  std::string failure;  // non-empty: the build is recorded `failed` with this reason (a group
                        // template that did not render) and never queued
};

/// One restored build as its pipeline needs it for `passed`.
struct build_state {
  std::int64_t id = 0;
  model::build_status status = model::build_status::pending;
  std::map<std::string, std::int64_t> gets;
};

/// What the job tells its pipeline.
using build_observer_actor = caf::typed_actor<
    // restart: the status and versions of every build the job got back from the store
    caf::reacts_to<state_atom, std::string /*job*/, std::vector<build_state>>,
    // a build was created or changed status; `gets` maps get step names to version ids
    caf::reacts_to<state_atom, std::string /*job*/, std::int64_t /*build id*/, model::build_status,
                   std::map<std::string, std::int64_t> /*gets*/>,
    // a put step printed versions of `resource` (canonical) in build `build id`
    caf::reacts_to<found_atom, std::string /*resource*/, std::vector<nlohmann::json>,
                   std::int64_t /*build id*/>>;

using job_actor = caf::typed_actor<
    // created {"build": ...}, or the queue's rejection (nothing created)
    caf::replies_to<create_atom, build_spec>::with<domain::reply>,
    // the job summary of GET /pipelines/{p}/jobs
    caf::replies_to<summary_atom>::with<nlohmann::json>,
    // the pipeline was re-set (the job kept its name) or the job was paused/unpaused
    caf::reacts_to<config_atom, config_ptr, bool /*paused*/>,
    // the job leaves: pending builds are withdrawn, started ones cancelled, then it quits
    caf::reacts_to<shutdown_atom>,
    // cluster: the job moves to another node with its pipeline; it quits without cancelling or
    // withdrawing anything (the store keeps its builds for the next owner) and replies with the
    // ids of its builds a worker may hold (dispatched or started), for the dispatcher to forget
    caf::replies_to<handoff_atom>::with<std::vector<std::int64_t>>,
    // (to itself) the approval timeout of the build with this id is due
    caf::reacts_to<due_atom, std::int64_t>,
    // restart: its restored pending builds go back to the queue in their stored order, under
    // the pipeline's mode; replies once the queue has them all
    caf::replies_to<restore_atom, std::string /*mode*/,
                    bool /*cancel_running*/>::with<bool>>::extend_with<build_owner_actor>::
    extend_with<job_operations>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::build_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_builds)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_build)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::cancel_build)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::retry_build)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::decide_build)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::mark_warning)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::watch_build)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::pause_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_build_plan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pikoci::proto::build_state>)
