#pragma once
// The worker boundary (ARCHITECTURE "self-contained work, events back"). The server reaches the
// worker side only through `dispatcher_actor`; workers answer only with events to the actor that
// owns the work. The embedded worker implements the dispatcher in-process; the Kafka connector
// implements the same protocol over topics.

#include <string>
#include <vector>

#include "actors/protocols/operation.hpp"
#include "actors/protocols/type_ids.hpp"

namespace pikoci::proto {

/// Events of one build dispatch, sent to the build's owner (its job actor). Events of a stale
/// attempt are ignored by the owner (fencing).
using build_events_actor = caf::typed_actor<
    // a worker took the build: it is `started` now
    caf::reacts_to<accepted_atom, build_key, std::string /*worker*/>,
    // its worker was lost: `key` (attempt + 1) is sent out again; `reason` says why the earlier
    // attempt ended (its log keeps that attempt's output under a marker)
    caf::reacts_to<redispatch_atom, build_key, std::string /*reason*/>,
    caf::reacts_to<step_start_atom, build_key, work::step_ref>,
    caf::reacts_to<step_log_atom, build_key, work::step_ref, std::string /*chunk*/>,
    // back-pressure: a build runner asks this after every `flush_every` bytes of log and waits
    // for the answer, which comes once everything sent before it has been handled, so a task
    // printing fast never piles chunks up in the owner's mailbox (its pipe fills; it waits)
    caf::replies_to<flush_atom, build_key>::with<bool>,
    caf::reacts_to<step_done_atom, build_key, work::step_ref, work::step_result>,
    // the final status is known; job hooks still run and report as steps
    caf::reacts_to<decided_atom, build_key, work::build_result>,
    // nothing of the build runs any more
    caf::reacts_to<build_done_atom, build_key, work::build_result>,
    // the execution queue superseded it (cancel_running): a pending build is `skipped`, a
    // started one `cancelled`, both with `reason`
    caf::reacts_to<supersede_atom, build_key, std::string /*reason*/>>;

/// The answer to one resource check, sent to the resource's checker.
using check_events_actor = caf::typed_actor<
    caf::reacts_to<check_done_atom, std::int64_t /*check sequence*/, work::check_result>>;

/// Who hands out build slots (the execution queue): told when a dispatched build has ended.
using slot_owner_actor = caf::typed_actor<caf::reacts_to<release_atom, std::int64_t /*build id*/>>;

/// One worker that may take builds, as the execution queue sees it (stale workers are left out).
struct pool_worker {
  std::string name;
  std::vector<std::string> tags;
  bool any_tags = false;    // the embedded worker runs every build, whatever its tags
  bool takes_jobs = true;   // false: it consumes only the checks queue
  bool draining = false;    // SIGQUIT: it takes nothing new
  int slots = 0;
};
using worker_pool = std::vector<pool_worker>;

/// The embedded worker's pool: one worker with `slots` build slots that runs every build.
inline worker_pool embedded_pool(int slots) {
  return {pool_worker{"embedded", {}, true, true, false, slots}};
}

/// Told which workers there are now (remote workers come and go).
using slot_listener_actor = caf::typed_actor<caf::reacts_to<slots_atom, worker_pool>>;

/// The actor that owns a build (its job): the worker side's events go to it, and the execution
/// queue grants it the slot, upon which it makes the plan and hands it to the worker side. A
/// queued build therefore holds no plan (SPEC §6: compact records).
using build_owner_actor =
    build_events_actor::extend<caf::reacts_to<grant_atom, build_key, slot_owner_actor>>;

/// Everything a worker needs to run one build: the plan is self-contained.
struct build_work {
  build_key key;
  plan_ptr plan;
  std::vector<std::string> tags;  // the job's: only workers holding all of them run it
  build_events_actor owner;
  slot_owner_actor slots;
};

/// One resource check: the resolved command and where the result goes.
struct check_work {
  std::string resource;  // canonical, for logs
  std::int64_t sequence = 0;
  work::command_spec command;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  std::vector<std::string> tags;  // the resource's: only workers holding all of them check it
  work::secret_plan secrets;      // what the command's placeholders need
  check_events_actor owner;
};

/// The server's view of the worker side.
using dispatcher_actor = caf::typed_actor<
    caf::reacts_to<run_build_atom, build_work>, caf::reacts_to<run_check_atom, check_work>,
    // cancel a dispatched build; its processes get SIGTERM then SIGKILL after the grace period
    caf::reacts_to<cancel_atom, build_key, std::string /*reason*/>,
    // restart with remote workers: a build a worker may still be running (`worker` when known)
    // is the dispatcher's again, without being sent out; a silent worker loses it as usual
    caf::reacts_to<adopt_atom, build_work, std::string /*worker*/>,
    // the build's final status is stored (synced): a remote worker stops re-sending it
    caf::reacts_to<recorded_atom, build_key>,
    // GET /workers: {"workers": [...]}
    caf::replies_to<workers_atom>::with<nlohmann::json>,
    // DELETE /workers/{name}: a stale worker leaves the list now (409 while it is alive, 404
    // when unknown)
    caf::replies_to<forget_atom, std::string /*name*/>::with<domain::reply>,
    // SIGTERM: cancel everything running; replies with how many builds were cancelled once all
    // of them have reported build_done
    caf::replies_to<shutdown_atom>::with<int>>;

/// Cluster: builds whose pipeline moved to another node. The dispatcher drops them from what it
/// tracks without cancelling them: their worker goes on and the new owner adopts them. (A
/// separate interface until every dispatcher answers it; see actors/README.md.)
using build_forgetter_actor =
    caf::typed_actor<caf::reacts_to<forget_atom, std::vector<std::int64_t> /*build ids*/>>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::build_work)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::check_work)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::worker_pool)
