#pragma once
// The worker boundary (ARCHITECTURE "self-contained work, events back"): a build as the server
// resolved it, ready to run without reading any server state. Plain data; the in-process bus
// passes it as is, the Kafka connector serializes it (connectors/kafka/wire.hpp).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/step_protocol.hpp"
#include "config/pipeline/model.hpp"
#include "domain/vocabulary.hpp"

namespace pikoci::work {

using millis = std::chrono::milliseconds;
using env_map = std::map<std::string, std::string>;

/// A runner command with everything the server knows: the runner's template, the params (run-block
/// attributes plus injected `param_*`, `version_*`, `put_*` ...) and the step's `args` list.
struct command_spec {
  runner_template tmpl;
  env_map params;
  std::vector<std::string> args;
  /// "" or the command's `$CACHE_DIR` below the worker's cache root (`team/pipeline/resource`):
  /// a directory that outlives builds, one per resource on each worker.
  std::string cache;
};

struct step_plan;

/// The hook kinds are the pipeline language's (on_success, on_failure, on_cancel, ensure).
using hook_kind = pipeline::hook_kind;

/// A hook: a single runner command (labelled form) or a list of steps (block form).
struct hook_plan {
  hook_kind kind = hook_kind::ensure;
  std::string name;  // record name: "on_failure", "0:on_success", "test:on_failure"
  std::optional<command_spec> command;
  std::vector<step_plan> steps;
};

/// The domain's step kinds; a plan holds only those `domain::is_plan_step` allows.
using step_kind = domain::step_kind;

/// `if`, `else_if` or `else`, as the pipeline language spells the branch's block.
using branch_kind = pipeline::branch::kind;

/// "if", "else_if" or "else".
const char* to_string(branch_kind k);
std::optional<branch_kind> parse_branch_kind(std::string_view text);

/// One branch of a conditional step: its condition (the text of reference §1.9.1, evaluated by
/// the worker when the branch's turn comes; "" for `else`, which is always true) and its steps.
struct branch_plan {
  branch_kind kind = branch_kind::if_;
  std::string label;  // "" for else
  std::string condition;
  std::vector<step_plan> steps;
};

/// One plan step. Which fields matter depends on `kind`.
struct step_plan {
  step_kind kind = step_kind::task;
  std::string name;                     // record name: resource name for get/put, task label
  // get: pull, task: run, put: push, notify: the type's notify command; absent = no-op (a notify
  // of a built-in type is sent by the server's outbox when the step is recorded)
  std::optional<command_spec> command;
  std::optional<millis> timeout;        // per attempt
  int attempts = 1;
  std::vector<std::string> inputs;   // task: must exist before
  std::vector<std::string> outputs;  // task: must exist after success
  nlohmann::json version;            // get: the chosen version (its GET_* exports)
  std::vector<hook_plan> hooks;      // step hooks, in file order
  std::vector<step_plan> children;   // in_parallel
  std::vector<branch_plan> branches;  // if: the chain in file order; at most one runs
  int limit = 0;                     // in_parallel: 0 = no limit
  bool fail_fast = false;            // in_parallel
};

/// A service of the build: started before the steps, stopped after them whatever
/// happened. Record names: `<name>:start`, `<name>:ready`, `<name>:stop`.
struct service_plan {
  std::string name;
  command_spec start;
  std::optional<command_spec> ready;  // polled every `interval` until exit 0 or `timeout`
  millis interval{1000};
  millis timeout{60000};
  std::optional<command_spec> stop;
};

/// A secret-backed variable: where its value comes from.
struct secret_variable {
  std::string name;
  std::string type;
  std::string path;
  std::string key;
};

/// How the worker fetches one secret type: the node's internal store, or a `get` command whose
/// last output line is a JSON object key → value (the built-in `file` and `vault` types are
/// `pikoci-node` handlers). The type's config attributes are the command's `param_<attr>`.
struct secret_type_spec {
  std::string name;
  bool store = false;
  std::optional<command_spec> get;
};

/// Everything a build or a check needs to resolve its placeholders.
struct secret_plan {
  std::string pipeline;  // the internal store's pipeline scope
  std::vector<secret_variable> variables;
  std::vector<secret_type_spec> types;
  bool empty() const { return variables.empty(); }
};

/// A whole build.
struct build_plan {
  std::int64_t build_id = 0;
  int attempt = 1;
  std::string pipeline;
  std::string job;
  std::string number;
  std::vector<service_plan> services;  // in plan order
  std::vector<step_plan> steps;
  std::vector<hook_plan> job_hooks;  // in file order; the runner picks by kind
  std::optional<millis> timeout;     // whole plan
  env_map env;                       // BUILD_* and other build-wide variables
  secret_plan secrets;               // what its placeholders need
};

/// A command as JSON (its template, parameters and arguments).
nlohmann::ordered_json to_json(const command_spec& c);
/// The secret variables and types as JSON.
nlohmann::ordered_json to_json(const secret_plan& p);
/// The whole plan as JSON, fields in a fixed order: what the Kafka wire carries to a remote
/// worker and what `GET .../builds/{n}/plan` shows.
nlohmann::ordered_json to_json(const build_plan& p);

}  // namespace pikoci::work
