#pragma once
// The typed pipeline model: what a pipeline file means once parsed, variables resolved,
// for_each/matrix jobs expanded and everything validated. Built by `pipeline::load` (load.hpp)
// at save time; read-only afterwards (the scheduler, workers and API take copies or const refs).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline/diagnostics.hpp"
#include "config/pipeline/duration.hpp"
#include "config/pipeline/value.hpp"
#include "domain/vocabulary.hpp"

namespace pikoci::pipeline {

/// A command run through a runner: `check "exec" { path = "..." args = [...] }`, a task's
/// `run "<runner>" {...}`, a labelled hook, a service's start/ready_check/stop. Every attribute
/// other than `args` is a string param; `interval`/`timeout` exist only on ready_check.
struct runner_command {
  std::string runner;  // the label; empty for a runner_type's own unlabelled `run` block
  std::vector<std::string> args;
  std::map<std::string, std::string> params;
  // ready_check only:
  std::optional<duration> interval, timeout;
  hcl::range rng;         // the whole block
  hcl::range runner_rng;  // the label (or the block type when unlabelled)
};

/// A type-level `runner "<runner>" { k = v }` override: every command of the type runs through
/// this runner instead of `exec`, with these params merged into each command's params.
struct runner_override {
  std::string runner;
  std::vector<std::string> args;
  std::map<std::string, std::string> params;
  hcl::range rng;
  hcl::range runner_rng;
};

/// The keyword of `variable.type` and `input.type`.
enum class value_type { string, number, boolean };

/// "string", "number" or "bool", as the language spells them.
const char* to_string(value_type t);

/// `secret "<type>" { path = ..., key = ... }` inside a variable: the value is fetched lazily by
/// the worker; at save time it is the placeholder `__pikoci_secret:<type>:<path>:<key>__`.
struct secret_ref {
  std::string type;
  std::string path;
  std::string key;
  hcl::range rng;
  hcl::range type_rng;
};

/// Where a variable's resolved value came from (precedence: override > secret > default).
enum class variable_source { override_string, override_json, secret, default_value, none };

/// `variable "<name>" { type = string  default = ...  secret "t" {...} }` with its resolved value.
struct variable {
  std::string name;
  value_type type = value_type::string;
  std::optional<hcl::value> default_value;
  std::optional<secret_ref> secret;
  hcl::value value;  // resolved; the placeholder string for secret-backed variables
  variable_source source = variable_source::none;
  hcl::range rng;
  hcl::range name_rng;
};

/// `resource_type "<name>"`: how to check/pull/push versions of resources of this type.
struct resource_type {
  std::string name;
  std::optional<std::string> source;  // pikoci://<name> or an http(s) URL
  bool source_resolved = false;       // true once the commands below came from `source`
  std::vector<std::string> params;    // only these resource params are forwarded as param_<k>
  bool cache = false;
  std::optional<runner_command> check, pull, push;
  std::optional<runner_override> runner;
  bool builtin = false;  // embedded definition, not declared by the pipeline
  hcl::range rng;
  hcl::range name_rng;
  hcl::range source_rng;
};

/// `resource "<type>" "<name>"`: one versioned input/output, canonical `<type>.<name>`.
struct resource {
  std::string type;
  std::string name;
  std::string canonical;
  std::map<std::string, std::string> params;
  std::string check_interval = "@every 1m";  // the default when absent or empty
  duration check_every{};                    // min_interval() of the schedule, for the checker
  std::vector<std::string> tags;
  std::optional<bool> cache;  // overrides the type's cache when set
  hcl::range rng;
  hcl::range type_rng;
  hcl::range name_rng;
};

/// `runner_type "<name>" { run { path = ... args = [...] } }` or `source = ...`.
struct runner_type {
  std::string name;
  std::optional<std::string> source;
  bool source_resolved = false;
  std::optional<runner_command> run;  // `runner` is empty; params holds `path`
  bool builtin = false;
  hcl::range rng;
  hcl::range name_rng;
  hcl::range source_rng;
};

/// `secret_type "<name>"`: fetches secrets; any attribute other than source/params is config
/// passed as `param_<attr>`.
struct secret_type {
  std::string name;
  std::optional<std::string> source;
  bool source_resolved = false;
  std::vector<std::string> params;
  std::map<std::string, std::string> config;
  std::optional<runner_command> get;
  std::optional<runner_override> runner;
  bool builtin = false;
  bool internal = false;  // `pikoci`: the node's own secret store, no command
  hcl::range rng;
  hcl::range name_rng;
  hcl::range source_rng;
};

/// `service_type "<name>"`: a side service started for a job (start, ready_check, stop).
struct service_type {
  std::string name;
  std::optional<std::string> source;
  std::vector<std::string> params;
  std::optional<runner_command> start, ready_check, stop;
  std::optional<runner_override> runner;
  bool builtin = false;          // embedded definition (only used through `source`)
  bool source_resolved = false;  // true once the commands came from `source`
  hcl::range rng;
  hcl::range name_rng;
  hcl::range source_rng;
};

/// `notification_type "<name>"`: how to send a notification.
struct notification_type {
  std::string name;
  std::optional<std::string> source;
  bool source_resolved = false;  // true once `delivery` came from `source`
  std::vector<std::string> params;
  std::optional<runner_command> notify;
  std::optional<runner_override> runner;
  bool builtin = false;  // embedded definition, not declared by the pipeline
  /// Sent by the node itself through its outbox: "http", "slack" or "discord" (built-in types and
  /// types whose `source` names one); empty when a `notify` command sends it.
  std::string delivery;
  hcl::range rng;
  hcl::range name_rng;
  hcl::range source_rng;
};

/// `notification "<type>" "<name>"`: a configured notification, canonical `<type>.<name>`,
/// sent by notify steps/hooks and automatically on the statuses listed in `on`.
struct notification {
  std::string type;
  std::string name;
  std::string canonical;
  std::map<std::string, std::string> params;
  std::optional<std::string> message;
  std::vector<std::string> on;  // success|failure|cancel, or just all; empty: manual only
  std::vector<std::string> jobs, exclude;                    // as written (groups or instances)
  std::vector<std::string> jobs_expanded, exclude_expanded;  // for_each groups expanded
  hcl::range rng;
  hcl::range type_rng;
  hcl::range name_rng;
  hcl::range on_rng, jobs_rng, exclude_rng;
};

/// The four hook kinds, shared by jobs and steps.
enum class hook_kind { on_success, on_failure, on_cancel, ensure };

/// "on_success", "on_failure", "on_cancel" or "ensure".
const char* to_string(hook_kind k);
std::optional<hook_kind> parse_hook_kind(std::string_view text);

struct step;

/// One hook block. Labelled form (`on_failure "shell" { cmd = ... }`) fills `command`; block form
/// (`on_success { put ... notify ... task ... }`) fills `steps`. Several hooks of a kind run in
/// source order.
struct hook {
  hook_kind kind = hook_kind::ensure;
  std::optional<runner_command> command;
  std::vector<step> steps;
  hcl::range rng;
};

/// The kind of a plan step (the domain's). `if` chains are one step whose branches hold the steps.
using step_kind = domain::step_kind;
using domain::to_string;

/// One branch of an if chain: `if "<label>"`, `else_if "<label>"` (with a condition) or `else`.
struct branch {
  enum class kind { if_, else_if, else_ } k = kind::if_;
  std::string label;
  std::string condition;  // the condition-language text (§1.9.1), evaluated at run time
  std::vector<step> steps;
  hcl::range rng;
  hcl::range condition_rng;
};

/// One step of a job's plan (or of a hook, an in_parallel group or an if branch). Fields are
/// used according to `kind`; the others stay empty.
struct step {
  step_kind kind = step_kind::task;
  /// get/put: the resource name; task/service: the label; notify: the notification name;
  /// in_parallel: "in_parallel"; if chain: the first branch's label.
  std::string name;
  std::string type;       // get/put: resource type; notify: notification type
  std::string canonical;  // get/put: `<type>.<name>` of the resource; notify: of the notification

  // get
  bool trigger = false;
  std::vector<std::string> passed;       // as written: jobs or for_each groups
  std::vector<std::string> passed_jobs;  // for_each groups expanded to their instances
  hcl::range passed_rng;

  // get / task / put / in_parallel
  std::optional<duration> timeout;
  std::optional<int> attempts;

  // task
  std::optional<runner_command> run;
  std::vector<std::string> inputs, outputs;

  // put (put_<k>), notify (notify_<k>), service (param overrides)
  std::map<std::string, std::string> params;
  std::optional<std::string> message;  // notify

  // in_parallel
  int limit = 0;
  bool fail_fast = false;
  std::vector<step> steps;

  // if chain
  std::vector<branch> branches;

  std::vector<hook> hooks;  // step-level hooks, source order
  hcl::range rng;
  hcl::range name_rng;  // label of the name (type range for unlabelled blocks)
  hcl::range type_rng;  // get/put/notify: the type label
};

/// `approve "<label>" { approvals = N  timeout = ...  notify "t" "n" {...} }`: builds wait for
/// N approvals before running.
struct approval {
  std::string label;
  int approvals = 1;
  std::optional<duration> timeout;
  std::vector<step> notify;  // notify steps (parsed, not yet acted on, as PikoCI)
  hcl::range rng;
};

/// `input "<name>" {...}`: a parameter of manual triggers, exported as `$INPUT_<name>`.
struct job_input {
  std::string name;
  value_type type = value_type::string;
  std::optional<std::string> description;
  std::optional<hcl::value> default_value;  // absent: required on manual triggers
  std::vector<hcl::value> options;
  bool multiple = false;
  hcl::range rng;
  hcl::range name_rng;
};

/// A job: its attributes, its plan (in source order) and hooks. for_each/matrix jobs appear once
/// per instance, with `group` naming the block they came from.
struct job {
  std::string name;
  int concurrency = 0;  // 0 = unlimited
  std::vector<std::string> serial_groups;
  std::vector<std::string> tags;
  std::optional<duration> timeout;
  bool disable_retry = false;
  bool allow_failure = false;
  bool interruptible = false;

  std::vector<step> plan;
  std::vector<hook> hooks;  // job-level, source order
  std::optional<approval> approve;
  std::vector<job_input> inputs;
  std::vector<step> on_trigger;  // notify steps

  // for_each / matrix instances
  std::optional<std::string> group;  // the job block's name
  std::string each_key;
  hcl::value each_value;

  hcl::range rng;
  hcl::range name_rng;
};

/// Everything a pipeline file declares, with built-in types merged in (a pipeline definition of
/// the same name replaces the built-in) and variables resolved.
struct pipeline_config {
  std::vector<variable> variables;
  hcl::value vars;  // object: name → resolved value (what `var` is in expressions)
  std::vector<resource_type> resource_types;
  std::vector<resource> resources;
  std::vector<runner_type> runner_types;
  std::vector<secret_type> secret_types;
  std::vector<service_type> service_types;
  std::vector<notification_type> notification_types;
  std::vector<notification> notifications;
  std::vector<job> jobs;  // for_each/matrix instances in place of their block, sorted by key
  /// for_each/matrix group name → instance names (sorted by key).
  std::map<std::string, std::vector<std::string>> job_groups;
  /// URL → body of every `source` URL fetched while loading: kept with the pipeline, so loading
  /// it again (a restart) reads the definitions it was set with, not whatever the URL says now.
  std::map<std::string, std::string> fetched_sources;

  const resource_type* find_resource_type(const std::string& name) const;
  const resource* find_resource(const std::string& canonical) const;
  const runner_type* find_runner_type(const std::string& name) const;
  const secret_type* find_secret_type(const std::string& name) const;
  const service_type* find_service_type(const std::string& name) const;
  const notification_type* find_notification_type(const std::string& name) const;
  const notification* find_notification(const std::string& canonical) const;
  const job* find_job(const std::string& name) const;
};

}  // namespace pikoci::pipeline
