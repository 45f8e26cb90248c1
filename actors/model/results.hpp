#pragma once
// What comes back across the worker boundary: how each step and the build ran, and what a
// resource check found. Plain data, like the work that goes out (work.hpp); the executor fills
// it, the job's build records and the Kafka wire read it.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/work.hpp"
#include "domain/vocabulary.hpp"

namespace pikoci::work {

/// How a step or a build ran: succeeded, failed, errored or cancelled (the domain's statuses
/// a run can end with, `domain::is_run_outcome`).
using status = domain::build_status;

/// Identifies a step record: `id` is unique within the build ("2", "2.0" for the first child of
/// step 2, "2:h0" for its first hook, "job:h1" for the second job hook).
struct step_ref {
  std::string id;
  std::string type;  // get, task, put, notify, in_parallel, hook, service, if (a chain), and
                     // if / else_if / else (its branches)
  std::string name;
  std::string parent;  // id of the in_parallel group, or ""
  bool job_hook = false;
};

struct step_result {
  status st = status::succeeded;
  env_map exports;                       // GET_* / TASK_* on success
  std::vector<nlohmann::json> versions;  // printed by a put
};

struct build_result {
  status st = status::succeeded;
  std::string reason;  // "step \"x\" failed: exit status 1", "job timed out after 30s"
  /// The worker did not take the build (it is stopping): nothing of it ran, and it stays
  /// pending. Never sent over the wire: a remote worker refuses work before it stops.
  bool declined = false;
};

/// What a resource check found (reference §2.1).
struct check_result {
  std::vector<nlohmann::json> versions;  // oldest first
  std::optional<std::string> error;      // failed check: the reason; `log` holds its output
  std::string log;
};

}  // namespace pikoci::work
