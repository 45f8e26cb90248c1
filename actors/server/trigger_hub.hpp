#pragma once
// Trigger events between pipelines (the built-in `trigger` resource type, one team): a put to
// `resource "trigger" "X"` of one pipeline becomes a version of the trigger resource "X" of every
// other pipeline that declares one, as if its check had found it, so their jobs trigger. Each
// pipeline actor joins when it starts and leaves when it ends. Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <nlohmann/json.hpp>

namespace pikoci::server {

class trigger_hub {
 public:
  void join(const std::string& pipeline, caf::actor_addr actor);
  /// Forgets `pipeline` unless another actor joined under its name since (a restart).
  void leave(const std::string& pipeline, const caf::actor_addr& actor);
  /// Hands `events` of the trigger resource `canonical` to every pipeline but `from`; the ones
  /// without that resource ignore them.
  void publish(const std::string& from, const std::string& canonical,
               const std::vector<nlohmann::json>& events);

 private:
  std::mutex mu_;
  std::map<std::string, caf::actor_addr> pipelines_;
};
using trigger_hub_ptr = std::shared_ptr<trigger_hub>;

}  // namespace pikoci::server
