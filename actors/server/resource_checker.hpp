#pragma once
// Spawns a resource checker (protocol: actors/protocols/resource_checker.hpp).

#include "actors/protocols/resource_checker.hpp"
#include "actors/server/context.hpp"

namespace pikoci::server {

struct checker_setup {
  std::string pipeline;
  std::string canonical;
  std::string check_interval;
  proto::checker_host_actor host;
  context ctx;
  /// Restored from the store ({"last_check_at", "check_error"}): the next check is due on the
  /// schedule after the last one (at once when that time has passed). Null: due at creation.
  nlohmann::json stored;
};

proto::resource_checker_actor spawn_resource_checker(caf::actor_system& sys, checker_setup setup);

}  // namespace pikoci::server
