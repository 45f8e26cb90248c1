#pragma once
// Spawns the store writer (protocol: actors/protocols/store.hpp). The synced writes run on an
// I/O thread of its own, never on a scheduler thread.

#include "actors/protocols/store.hpp"

namespace pikoci::server {

proto::store_writer_actor spawn_store_writer(caf::actor_system& sys,
                                             std::shared_ptr<persistence::store> store);

}  // namespace pikoci::server
