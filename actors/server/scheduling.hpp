#pragma once
// When a pipeline's builds are due and on which versions (reference §5.3 "the scheduling core"):
// a new version of a resource, a `passed` get that became ready, a manual trigger, a trigger of a
// given version, the retry of triggers the full queue refused, the builds a pin cancels. Pure
// decisions over the pipeline's config and state; the pipeline actor applies them (creates the
// builds, logs, updates its flags).

#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/build.hpp"
#include "actors/server/resolve.hpp"
#include "actors/server/versions.hpp"
#include "config/pipeline/model.hpp"
#include "domain/error.hpp"

namespace pikoci::server {

/// What the pipeline remembers about one job for scheduling.
struct job_gate {
  bool paused = false;
  version_id baseline = 0;  // versions up to here never trigger this job automatically
  // automatic triggers the full queue refused, retried at the next chance (SPEC §6)
  std::set<std::string> retry_resources;  // canonicals: at their next check
  bool retry_passed = false;              // at the pipeline's next build that leaves the queue
};

/// Everything a scheduling decision reads. The pointers outlive the decision.
struct schedule_inputs {
  std::string pipeline;  // its name, for messages
  const pipeline::pipeline_config* cfg = nullptr;
  const version_store* versions = nullptr;
  const usage_index* usage = nullptr;
  std::map<std::string, version_id> pins;  // by canonical
  bool paused = false;                     // the pipeline
  std::map<std::string, job_gate> jobs;    // by name; every job of `cfg`
  bool ignore_passed = false;              // `pikoci-node run`

  /// Whether builds of `job` are held (the job or the pipeline is paused).
  bool job_paused(const std::string& job) const;
  /// The resolution of a build's inputs with the pipeline's pins and builds.
  resolve_context resolution() const;
};

/// A build a decision asks for.
struct planned_build {
  const pipeline::job* job = nullptr;
  nlohmann::json trigger;  // the build's `trigger` object
  std::vector<model::build_input> inputs;
  std::map<std::string, std::string> values;  // a manual trigger's checked input values
};

/// A job that would have been triggered, but a get has no version: no build.
struct no_version {
  std::string job;
  std::string reason;
};

/// Automatic builds of jobs that get a resource with `trigger = true` and no `passed`.
struct resource_triggers {
  std::vector<planned_build> builds;  // in the pipeline's job order
  std::vector<no_version> skipped;
  /// Jobs that were triggered (with or without a build): their retry of the resource is over.
  std::vector<std::string> tried;
};

/// Whether a get of `job` reads `canonical` with `trigger = true` and no `passed`.
bool triggered_by(const pipeline::job& job, const std::string& canonical);

/// Version `v` of `canonical` is new (from a check or a put): the builds it triggers (none when
/// the resource is pinned to another version; paused jobs and versions up to a job's baseline
/// trigger nothing).
resource_triggers version_triggers(const schedule_inputs& in, const std::string& canonical,
                                   version_id v);

/// A check of `canonical` ended: jobs whose trigger by it the full queue refused get a build on
/// the pinned (else the latest) version, when it is above their baseline and they are not paused.
resource_triggers retry_refused(const schedule_inputs& in, const std::string& canonical);

/// A `passed` decision for one job (reference §5.3.2).
struct passed_decision {
  const pipeline::job* job = nullptr;
  bool considered = false;  // not paused and no pending build: its `passed` retry is over
  std::optional<planned_build> build;
  std::optional<std::string> no_version;  // ready, but a get has no version
};

/// Whether `job` is ready to run on versions that passed its upstream jobs: one pending build
/// at a time, every triggering `passed` get ready; the first one names the trigger.
passed_decision evaluate_passed(const schedule_inputs& in, const pipeline::job& job);

/// A build of `upstream` passed: the decisions of every job with a triggering get whose `passed`
/// lists it, in the pipeline's job order.
std::vector<passed_decision> evaluate_downstream(const schedule_inputs& in,
                                                 const std::string& upstream);

/// A build left the queue: the decisions of the jobs whose `passed` trigger the full queue refused.
std::vector<passed_decision> retry_passed(const schedule_inputs& in);

/// A manual trigger of `job` with `values` for its inputs: the build, or why not (the job is
/// unknown or paused, an input is undeclared, missing or not a value its declaration allows, a
/// get has no version).
std::variant<planned_build, domain::error> manual_trigger(
    const schedule_inputs& in, const std::string& job,
    const std::map<std::string, std::string>& values);

/// A trigger of version `v` (known, of `canonical`) for every job that gets the resource
/// without `passed`: the builds, and the last refusal of a job whose get has no version.
struct version_trigger {
  std::vector<planned_build> builds;
  std::optional<domain::error> refused;
};
version_trigger trigger_version(const schedule_inputs& in, const std::string& canonical,
                                version_id v);

/// A pending build that uses a version a pin excludes.
struct unpinned_build {
  std::int64_t id = 0;
  std::string job;
};

/// Pinning `canonical` to `pin` cancels the pending builds that use another version of it
/// (reference §5.3.5), by ascending id.
std::vector<unpinned_build> cancel_unpinned(const schedule_inputs& in, const std::string& canonical,
                                            version_id pin);

}  // namespace pikoci::server
