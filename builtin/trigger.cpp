// The `trigger` resource type: a put records an event, which the node hands to every pipeline
// that declares a trigger resource of the same name (docs/resource-trigger.md).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "builtin/handlers.hpp"

extern char** environ;

namespace pikoci::builtin {

int trigger_push(const context& ctx) {
  nlohmann::json event = nlohmann::json::object();
  // the put's attributes, without their `put_` prefix
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos || kv.substr(0, 4) != "put_" || eq == 4) continue;
    event[std::string(kv.substr(4, eq - 4))] = std::string(kv.substr(eq + 1));
  }
  event["trigger_pipeline"] = ctx.var("BUILD_PIPELINE_NAME");
  event["trigger_job"] = ctx.var("BUILD_JOB_NAME");
  event["trigger_build"] = ctx.var("BUILD_NUMBER");
  // unique and in time order: nanoseconds since the epoch, then random bits
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  char id[48];
  std::snprintf(id, sizeof id, "%020lld-%08x", static_cast<long long>(nanos),
                static_cast<unsigned>(std::random_device{}()));
  event["trigger_id"] = id;
  ctx.out() << "trigger event " << id << "\n";
  ctx.emit_versions(nlohmann::json::array({event}));
  return 0;
}

}  // namespace pikoci::builtin
