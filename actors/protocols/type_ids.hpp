#pragma once
// The atoms of every protocol and the message types that only travel inside one process.
// Work and events are plain C++ structs here; the in-process bus moves them without copying
// through a serializer. The Kafka connector maps the same structs to JSON.

#include <memory>

#include <caf/all.hpp>

#include "actors/model/build.hpp"
#include "actors/model/results.hpp"
#include "actors/model/work.hpp"
#include "config/pipeline/load.hpp"
#include "config/pipeline/model.hpp"

namespace pikoci::proto {

// node control
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
// dispatch (server → worker)
using run_build_atom = caf::atom_constant<caf::atom("run_build")>;
using run_check_atom = caf::atom_constant<caf::atom("run_check")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using workers_atom = caf::atom_constant<caf::atom("workers")>;
// events (worker → server)
using accepted_atom = caf::atom_constant<caf::atom("accepted")>;
using step_start_atom = caf::atom_constant<caf::atom("step_start")>;
using step_log_atom = caf::atom_constant<caf::atom("step_log")>;
using step_done_atom = caf::atom_constant<caf::atom("step_done")>;
using decided_atom = caf::atom_constant<caf::atom("decided")>;
using build_done_atom = caf::atom_constant<caf::atom("build_done")>;
using check_done_atom = caf::atom_constant<caf::atom("check_done")>;
// execution queue
using enqueue_atom = caf::atom_constant<caf::atom("enqueue")>;
using withdraw_atom = caf::atom_constant<caf::atom("withdraw")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using pause_atom = caf::atom_constant<caf::atom("pause")>;
using queue_atom = caf::atom_constant<caf::atom("queue")>;
using grant_atom = caf::atom_constant<caf::atom("grant")>;
using hold_atom = caf::atom_constant<caf::atom("hold")>;
// pipeline / job / resource checker
using config_atom = caf::atom_constant<caf::atom("config")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using state_atom = caf::atom_constant<caf::atom("state")>;
using check_atom = caf::atom_constant<caf::atom("check")>;
using due_atom = caf::atom_constant<caf::atom("due")>;
using command_atom = caf::atom_constant<caf::atom("command")>;
using found_atom = caf::atom_constant<caf::atom("found")>;
using summary_atom = caf::atom_constant<caf::atom("summary")>;
using dashboard_atom = caf::atom_constant<caf::atom("dashboard")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using supersede_atom = caf::atom_constant<caf::atom("supersede")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using metrics_atom = caf::atom_constant<caf::atom("metrics")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using slots_atom = caf::atom_constant<caf::atom("slots")>;
// remote workers (Kafka)
using wire_atom = caf::atom_constant<caf::atom("wire")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using beat_atom = caf::atom_constant<caf::atom("beat")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using recorded_atom = caf::atom_constant<caf::atom("recorded")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
using redispatch_atom = caf::atom_constant<caf::atom("redispatch")>;
// cluster: partitions moving between nodes (gain/drop also a partition's outbox), replicated
// global records (replicated.hpp)
using gain_atom = caf::atom_constant<caf::atom("gain")>;
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;
using replicated_atom = caf::atom_constant<caf::atom("replicated")>;
using drop_atom = caf::atom_constant<caf::atom("drop")>;
// store
using write_atom = caf::atom_constant<caf::atom("write")>;
using put_atom = caf::atom_constant<caf::atom("put")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;

using config_ptr = std::shared_ptr<const pipeline::pipeline_config>;
using plan_ptr = std::shared_ptr<const work::build_plan>;

/// One dispatch of a build: retries after a lost worker get a higher attempt (fencing).
struct build_key {
  std::int64_t id = 0;
  int attempt = 1;
};

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::config_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::plan_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::build_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::work::command_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::work::step_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::work::step_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::work::build_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::work::check_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::model::build_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::pipeline::load_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<nlohmann::json>)
