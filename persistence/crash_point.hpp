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

#include <string_view>

namespace pikoci::persistence {

void crash_point(std::string_view name);

}  // namespace pikoci::persistence
