#pragma once
// Why a build waits for a worker, in words a user can act on (docs/concurrency.md "Why a build
// waits"): the execution queue asks this for every pending build its concurrency rules let go.

#include <string>
#include <vector>

#include "actors/protocols/dispatch.hpp"

namespace pikoci::server {

/// Why no worker of `pool` could run a build needing `tags` ("" when one could): `no worker`,
/// `no worker for queue jobs`, `no worker with tags [a, b]`, `workers draining`. Slots are not
/// looked at (see `pool_slots`).
std::string worker_wait(const proto::worker_pool& pool, const std::vector<std::string>& tags);

/// The build slots of the workers that take new builds (not draining, consuming jobs).
int pool_slots(const proto::worker_pool& pool);

}  // namespace pikoci::server
