#pragma once
// The execution queue (SPEC §6): admission (`--max-queue-size`), the global cap on started builds
// (`--max-in-flight`, and never more than the worker slots; a worker releases the slot when a
// build ends), FIFO dispatch by a monotonic
// sequence, and why each pending build waits. Pending builds are compact records, not actors.

#include "actors/protocols/dispatch.hpp"
#include "domain/error.hpp"

namespace pikoci::proto {

/// The concurrency rules a build is admitted and dispatched under.
struct build_rules {
  std::string mode;                        // "", "serial", "group", "skip-if-running"
  std::string group;                       // mode group: the rendered key
  bool cancel_running = false;             // mode group: supersede running and queued peers
  int job_concurrency = 0;                 // 0: unlimited
  std::vector<std::string> serial_groups;  // of the job
};

/// A build waiting for a slot.
struct queued_build {
  build_key key;
  std::string pipeline, job, number;
  model::time_point created_at;
  build_owner_actor owner;  // granted the slot when the build may start
  build_rules rules;
  std::uint64_t seq = 0;  // a restored build: its place from before the restart (no admission)
  std::vector<std::string> tags;  // the job's: only workers holding all of them run it
  bool running = false;           // adopted: a worker accepted it before the restart
};

/// Admission of one build: accepted, skipped (recorded as a `skipped` build with `reason`), or
/// rejected with the error (queue_full / draining; nothing is created).
struct admission {
  enum class outcome { accepted, skipped, rejected } result = outcome::accepted;
  std::string reason;
  domain::error rejection;
  std::uint64_t seq = 0;  // accepted: its place in the queue (stored with the build)
};

using execution_queue_actor = caf::typed_actor<
    caf::replies_to<enqueue_atom, queued_build>::with<admission>,
    // a pending build was cancelled: drop it (no-op when already dispatched)
    caf::reacts_to<withdraw_atom, std::int64_t /*build id*/>,
    // a worker accepted a dispatched build: it is `started` (until then it shows as pending,
    // `dispatched, not accepted yet`)
    caf::reacts_to<accepted_atom, std::int64_t /*build id*/>,
    // cluster: the pipelines' builds are being restored here (a gained partition); none of them
    // is granted a slot until the hold is released (`blocked_by: "restoring"`)
    caf::reacts_to<hold_atom, std::vector<std::string> /*pipelines*/, bool>,
    // pending builds of a paused job (or pipeline when job is "") stay pending
    caf::reacts_to<pause_atom, std::string /*pipeline*/, std::string /*job*/, bool>,
    // the pipeline went away: drop its pending builds and cancel its started ones
    caf::reacts_to<withdraw_atom, std::string /*pipeline*/>,
    // the pipeline's actors died (restarted from the store): the same, and its started builds'
    // slots are free at once (a grant may have gone to the dead job and never be released);
    // dispatched ones are cancelled with `reason`
    caf::reacts_to<withdraw_atom, std::string /*pipeline*/, std::string /*reason*/>,
    // cluster, `handoff` true: the pipeline moves to another node, which restores its builds from
    // the store; they are forgotten here (no cancel, nothing written, started ones keep running)
    caf::reacts_to<withdraw_atom, std::string /*pipeline*/, bool /*handoff*/>,
    // GET /queue (SPEC §6.5)
    caf::replies_to<queue_atom>::with<nlohmann::json>,
    // why one pending build waits ("" when it is not pending)
    caf::replies_to<queue_atom, std::int64_t /*build id*/>::with<std::string>,
    // SIGQUIT (SPEC §6.3): new builds are refused with 503 `draining`, queued ones still
    // dispatch; replies once nothing is pending or started
    caf::replies_to<drain_atom>::with<bool>,
    // SIGTERM, or the end of a drain: nothing is dispatched any more and new builds are refused
    // (503); pending builds stay pending (stored so, they run after a restart). Replies with how
    // many are pending.
    caf::replies_to<shutdown_atom>::with<int>,
    // restart: the stored pending builds are back in their order; dispatching may begin
    caf::reacts_to<restore_atom>,
    // restart with remote workers: a build that was started before counts as started (no grant)
    caf::reacts_to<adopt_atom, queued_build>,
    // SPEC §6.4 in Prometheus text format: pikoci_builds_skipped_total{reason},
    // pikoci_queue_rejected_total, pikoci_queue_depth, pikoci_builds_in_flight and the
    // pikoci_trigger_to_start_seconds histogram (GET /metrics serves it)
    caf::replies_to<metrics_atom>::with<std::string>,
    // its part of GET /api/v1/stats: depth, in flight, blocked_by counts, trigger → start
    // percentiles of the last 1,000 builds, group contention
    caf::replies_to<stats_atom>::with<nlohmann::json>>::extend_with<slot_owner_actor>::
    extend_with<slot_listener_actor>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::queued_build)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::admission)
