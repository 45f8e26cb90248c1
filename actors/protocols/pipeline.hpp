#pragma once
// A pipeline (one per pipeline name): owns its parsed config, pause flags, resource versions and
// pins, and the compact record of which build used which versions. It spawns its job and checker
// actors and reconciles them in place when the pipeline is set again. It decides when builds are
// due (new versions, `passed`, manual triggers) and with which versions; the jobs create them.

#include "actors/protocols/job.hpp"
#include "actors/protocols/resource_checker.hpp"
#include "persistence/snapshot.hpp"

namespace pikoci::proto {

// ---- operations on one pipeline (the registry hands them to the pipeline they name)

/// GET /pipelines/{p}
struct get_pipeline {
  static constexpr const char* name = "get_pipeline";
  static constexpr bool writes = false;
  std::string pipeline;
};
/// GET /pipelines/{p}/graph: jobs (latest build, running builds, inputs, gets, puts) and
/// resources in one answer, what the UI draws the pipeline from.
struct get_graph {
  static constexpr const char* name = "get_graph";
  static constexpr bool writes = false;
  std::string pipeline;
};
/// POST /pipelines/{p}/pause and /unpause
struct pause_pipeline {
  static constexpr const char* name = "pause_pipeline";
  static constexpr bool writes = true;
  std::string pipeline;
  bool paused = true;
};
/// PUT /pipelines/{p}/concurrency
struct set_concurrency {
  static constexpr const char* name = "set_concurrency";
  static constexpr bool writes = true;
  std::string pipeline;
  std::string mode;  // "", "serial", "group", "skip-if-running"
  std::string group_template;
  bool cancel_running = false;
};
/// GET /pipelines/{p}/jobs
struct list_jobs {
  static constexpr const char* name = "list_jobs";
  static constexpr bool writes = false;
  std::string pipeline;
};
/// POST .../jobs/{j}/trigger: a manual build on the versions the job's gets resolve to now.
struct trigger_job {
  static constexpr const char* name = "trigger_job";
  static constexpr bool writes = true;
  std::string pipeline, job;
  std::map<std::string, std::string> inputs;
  std::vector<std::string> args;
  std::string user;  // who triggered it: recorded as the trigger's `user`
};
/// GET /pipelines/{p}/resources
struct list_resources {
  static constexpr const char* name = "list_resources";
  static constexpr bool writes = false;
  std::string pipeline;
};
/// POST .../resources/{rc}/check (canonical or unique bare name)
struct check_resource {
  static constexpr const char* name = "check_resource";
  static constexpr bool writes = true;
  std::string pipeline, resource;
};
/// GET .../resources/{rc}/versions
struct list_versions {
  static constexpr const char* name = "list_versions";
  static constexpr bool writes = false;
  std::string pipeline, resource;
  std::size_t limit = 50;
};
/// POST .../resources/{rc}/versions: records `version` as the resource's newest, as a check
/// finding it would (jobs with `trigger = true` get builds); known already, it stays as it was.
struct add_version {
  static constexpr const char* name = "add_version";
  static constexpr bool writes = true;
  std::string pipeline, resource;
  nlohmann::json version;  // an object of strings
};
/// POST .../resources/{rc}/versions/{id}/trigger
struct trigger_version {
  static constexpr const char* name = "trigger_version";
  static constexpr bool writes = true;
  std::string pipeline, resource;
  std::int64_t version_id = 0;
  std::string user;  // who triggered it: recorded as each build's trigger `user`
};
/// POST .../resources/{rc}/pin (to `version_id`) and /unpin (empty).
struct pin_resource {
  static constexpr const char* name = "pin_resource";
  static constexpr bool writes = true;
  std::string pipeline, resource;
  std::optional<std::int64_t> version_id;
};
/// POST /webhooks/{token}: the registry asks every pipeline; the one holding the token checks
/// that resource now.
struct webhook {
  static constexpr const char* name = "webhook";
  static constexpr bool writes = true;
  std::string token;
};
/// POST .../resources/{rc}/webhook-token: a new token; the old one is unknown from then on.
struct regenerate_webhook_token {
  static constexpr const char* name = "regenerate_webhook_token";
  static constexpr bool writes = true;
  std::string pipeline, resource;
};
/// PUT .../webhooks/git sets the pipeline's git webhook secret; DELETE (no secret) removes it.
struct set_git_webhook {
  static constexpr const char* name = "set_git_webhook";
  static constexpr bool writes = true;
  std::string pipeline;
  std::optional<std::string> secret;
};
/// POST .../webhooks/git: a delivery from GitHub or GitLab. The pipeline holds the secret, so it
/// verifies the signature over the raw body.
struct git_webhook {
  static constexpr const char* name = "git_webhook";
  static constexpr bool writes = true;
  std::string pipeline;
  std::string body;                            // raw bytes, as signed
  std::map<std::string, std::string> headers;  // lower-case names
  std::map<std::string, std::string> query;
};

using pipeline_operations =
    answers<get_pipeline, get_graph, pause_pipeline, set_concurrency, list_jobs, trigger_job,
            list_resources, check_resource, list_versions, add_version, trigger_version,
            pin_resource, webhook, regenerate_webhook_token, set_git_webhook, git_webhook>;

using pipeline_actor = caf::typed_actor<
    // set or re-set: the loaded config, its text and vars; created the first time, done after
    caf::replies_to<config_atom, config_ptr, std::string /*text*/,
                    nlohmann::json /*vars*/>::with<domain::reply>,
    // restart: its stored state back, its pending builds in the queue again; replies when done
    caf::replies_to<restore_atom, config_ptr, persistence::stored_pipeline>::with<bool>,
    // the pipeline summary of GET /pipelines
    caf::replies_to<summary_atom>::with<nlohmann::json>,
    // its part of GET /dashboard: {"name","paused","jobs":[<job summary>]}
    caf::replies_to<dashboard_atom>::with<nlohmann::json>,
    // delete: jobs and checkers stop, pending builds are withdrawn, running ones cancelled
    caf::reacts_to<shutdown_atom>,
    // cluster: the pipeline moves to another node; its jobs and checkers quit without cancelling
    // builds or writing anything, the queue and the dispatcher forget its builds; replies once its
    // jobs are gone, then quits
    caf::replies_to<handoff_atom>::with<bool>>::extend_with<build_observer_actor>::
    extend_with<checker_host_actor>::extend_with<pipeline_operations>::extend_with<job_operations>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::persistence::stored_pipeline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pikoci::persistence::stored_pipeline>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_pipeline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_graph)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::pause_pipeline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::set_concurrency)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_jobs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::trigger_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_resources)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::check_resource)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_versions)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::add_version)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::trigger_version)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::pin_resource)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::webhook)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::regenerate_webhook_token)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::set_git_webhook)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::git_webhook)
