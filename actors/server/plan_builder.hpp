#pragma once
// Server side of the worker boundary: turns a pipeline's job (or a resource check) plus the
// versions chosen for it into self-contained work (actors/model/work.hpp). Everything the server
// knows is resolved here — runner templates, params, `param_*` / `version_*` / `put_*`, BUILD_*,
// hook record names — so the worker never reads server state.

#include <map>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "actors/model/work.hpp"
#include "config/pipeline/model.hpp"

namespace pikoci::server {

/// What a build is made from besides the pipeline.
struct build_request {
  std::int64_t build_id = 0;
  int attempt = 1;
  std::string pipeline;
  std::string number;
  /// The version chosen for each get step, by step name (the resource name).
  std::map<std::string, nlohmann::json> versions;
  /// `INPUT_<name>` values of a manual trigger (declared defaults fill the rest).
  std::map<std::string, std::string> inputs;
};

/// A plan, or the reason the build cannot run (it becomes `errored`).
using plan_result = std::variant<work::build_plan, std::string>;

plan_result make_build_plan(const pipeline::pipeline_config& cfg, const pipeline::job& job,
                            const build_request& req);

/// The notify steps of built-in kinds (http, slack, discord) that a step record of a build stands
/// for, which the server's outbox sends when the record is done: the notify step named
/// `record_name` (`record_type` "notify"; the first one when several share the name), or the
/// notify steps inside the hook `record_name` (`record_type` "hook"; `job_hook` for job-level
/// ones). Hook names as make_build_plan gives them ("on_failure", "0:ensure", "t:on_success").
std::vector<const pipeline::step*> outbox_notify_steps(const pipeline::pipeline_config& cfg,
                                                       const pipeline::job& job,
                                                       const std::string& record_type,
                                                       const std::string& record_name,
                                                       bool job_hook);

/// The pipeline's secret-backed variables and the definitions of their secret types (get
/// commands with `param_<attr>` for the type's config), for the worker to resolve placeholders.
work::secret_plan make_secret_plan(const pipeline::pipeline_config& cfg,
                                   const std::string& pipeline_name);

/// The check command of `res` (nullopt when its type has no check), with `param_*` and the
/// `version_*` of `latest` (null on the first check).
std::optional<work::command_spec> make_check_command(const pipeline::pipeline_config& cfg,
                                                     const std::string& pipeline_name,
                                                     const pipeline::resource& res,
                                                     const nlohmann::json& latest);

}  // namespace pikoci::server
