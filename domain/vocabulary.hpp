#pragma once
// The words the node uses for builds, steps, triggers and roles, in the API, the store and the
// worker wire alike: one enum per concept and one table naming its values, in the order lists
// show them. Parsing is exact (case-sensitive); text outside a table is nullopt, and the caller
// decides what that means.

#include <optional>
#include <string_view>
#include <utility>

namespace pikoci::domain {

template <class E>
using name_table_entry = std::pair<E, const char*>;

/// The status of a build or of one of its steps. A build of a job with an approval gate is
/// created `waiting_for_approval` (outside the execution queue) and becomes `pending` once
/// approved. A run on a worker ends succeeded, failed, errored or cancelled; the job turns an
/// allowed failure into `warning` (as a maintainer may later), and a pending build the queue
/// drops (superseded under its concurrency rule) is `skipped`.
enum class build_status {
  waiting_for_approval,
  pending,
  started,
  succeeded,
  failed,
  errored,
  cancelled,
  skipped,
  warning
};
inline constexpr name_table_entry<build_status> build_status_names[] = {
    {build_status::waiting_for_approval, "waiting_for_approval"},
    {build_status::pending, "pending"},
    {build_status::started, "started"},
    {build_status::succeeded, "succeeded"},
    {build_status::failed, "failed"},
    {build_status::errored, "errored"},
    {build_status::cancelled, "cancelled"},
    {build_status::skipped, "skipped"},
    {build_status::warning, "warning"}};
const char* to_string(build_status s);
std::optional<build_status> parse_build_status(std::string_view text);
/// All but waiting_for_approval, pending and started.
bool is_terminal(build_status s);
/// Not started yet and not over: waiting_for_approval or pending.
bool is_unstarted(build_status s);
/// What a run on a worker can end with: succeeded, failed, errored or cancelled.
bool is_run_outcome(build_status s);

/// The kind of a step of a job, as the pipeline language writes it (`if_chain` is "if").
enum class step_kind { get, task, put, notify, service, in_parallel, if_chain };
inline constexpr name_table_entry<step_kind> step_kind_names[] = {
    {step_kind::get, "get"},         {step_kind::task, "task"},
    {step_kind::put, "put"},         {step_kind::notify, "notify"},
    {step_kind::service, "service"}, {step_kind::in_parallel, "in_parallel"},
    {step_kind::if_chain, "if"}};
const char* to_string(step_kind k);
std::optional<step_kind> parse_step_kind(std::string_view text);
/// Whether a worker's plan can hold the kind as a step: services are collected by the server into
/// the plan's services; an `if` chain is a step whose branches the worker chooses between.
bool is_plan_step(step_kind k);

/// Why a build exists (its `trigger.type`): started by a user, by a new version of a resource,
/// by a build of an upstream job (`passed`), by a user asking for one version's consumers, or
/// as a retry of another build.
enum class trigger_type { manual, resource, passed, version, retry };
inline constexpr name_table_entry<trigger_type> trigger_type_names[] = {
    {trigger_type::manual, "manual"},
    {trigger_type::resource, "resource"},
    {trigger_type::passed, "passed"},
    {trigger_type::version, "version"},
    {trigger_type::retry, "retry"}};
const char* to_string(trigger_type t);
std::optional<trigger_type> parse_trigger_type(std::string_view text);

/// What a token may do. User roles include the ones before them (read < write < maintain <
/// admin: `maintain` approves, rejects and marks builds as warning); `worker` is a separate kind
/// that only worker routes accept.
enum class role { read, write, maintain, admin, worker };
inline constexpr name_table_entry<role> role_names[] = {{role::read, "read"},
                                                        {role::write, "write"},
                                                        {role::maintain, "maintain"},
                                                        {role::admin, "admin"},
                                                        {role::worker, "worker"}};
std::string_view to_string(role r);
std::optional<role> parse_role(std::string_view text);
/// read, write, maintain or admin: the roles of users' tokens.
bool is_user_role(role r);
/// Whether a token holding `have` may use a route needing `need`: read < write < maintain < admin
/// among user roles; `worker` allows only `worker`, and no user role allows `worker`.
bool allows(role have, role need);

}  // namespace pikoci::domain
