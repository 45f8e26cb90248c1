#pragma once
// Crash points for durability tests (SPEC §8): with PIKOCI_CRASH_AT=<name> in its environment
// the node kills itself (SIGKILL, like `kill -9`) the first time it reaches that point:
//
//   after_batch_write   a batch is synced, before the writers hear of it
//   before_ack          a new build is durable, before its 201 goes out
//   after_spawn         a build's process was started
//   before_status       a build ended, before its final status is written
//
// Unset (always, outside tests), a point costs one branch on a cached flag.
//
// Fault points for supervision tests: with PIKOCI_FAULT_AT=<name> the node throws
// std::runtime_error every time it reaches that point:
//
//   job.step_log        inside a job's handler of a log chunk (that message fails, nothing else)
//   pipeline.paused     after a job's pause is stored, outside any handler (the pipeline dies
//                       and is restarted from the store)

#include <string_view>

namespace pikoci::persistence {

void crash_point(std::string_view name);
void fault_point(std::string_view name);

}  // namespace pikoci::persistence
