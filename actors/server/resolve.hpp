#pragma once
// Which version each get step of a new build uses (reference §2.2 "Version selection" and §5.3):
// an explicit choice (a `passed` get that became ready, trigger-with-version), else for a get
// with `passed` the highest version every upstream job passed with, else the version that
// triggered the build when the get reads that resource, else the resource's pin, else the latest.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "actors/model/build.hpp"
#include "actors/server/versions.hpp"
#include "config/pipeline/model.hpp"

namespace pikoci::server {

struct resolve_context {
  const version_store* versions = nullptr;
  std::map<std::string, version_id> pins;                     // by canonical
  const usage_index* usage = nullptr;                         // the builds of the pipeline
  std::map<std::string, version_id> chosen;                   // by get step name
  std::optional<std::pair<std::string, version_id>> trigger;  // canonical, version
  bool ignore_passed = false;  // `pikoci-node run`: no upstream history, gets take the newest
};

/// The inputs of a build of `job`, or why it cannot be created (a get with no version: the
/// build is not created, reference §5.2).
std::variant<std::vector<model::build_input>, std::string> resolve_inputs(
    const pipeline::job& job, const resolve_context& ctx);

/// Every step of `kind` of a job (nested in in_parallel groups, if branches, step hooks and job
/// hooks too), the first of each name, in source order.
std::vector<const pipeline::step*> steps_of_kind(const pipeline::job& job,
                                                 pipeline::step_kind kind);
/// steps_of_kind(job, get): the gets a build of the job resolves versions for.
std::vector<const pipeline::step*> get_steps(const pipeline::job& job);

/// The jobs a version reaches when it triggers `direct` (reference §1.9 `on_trigger`): those,
/// then, transitively, every job with a get whose `passed` names a job already reached (with or
/// without `trigger`: the set is about where the version may go, not when). In the pipeline's
/// job order; names `cfg` does not know are dropped.
std::vector<const pipeline::job*> reachable_jobs(const pipeline::pipeline_config& cfg,
                                                 const std::set<std::string>& direct);

}  // namespace pikoci::server
