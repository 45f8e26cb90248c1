#pragma once
// Trigger events between pipelines (the built-in `trigger` resource type, one team): a put to
// `resource "trigger" "X"` of one pipeline becomes a version of the trigger resource "X" of every
// other pipeline that declares one, as if its check had found it, so their jobs trigger. Each
// pipeline actor joins when it starts and leaves when it ends. Thread-safe.

#include <functional>
#include <map>
#include <memory>
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
  /// without that resource ignore them. In cluster mode (a relay is set) they go to the relay
  /// instead, which brings them to every node (`deliver` there).
  void publish(const std::string& from, const std::string& canonical,
               const std::vector<nlohmann::json>& events);

  /// Cluster mode: where `publish` sends events (every partition's owner delivers them).
  using relay_fn = std::function<void(const std::string& from, const std::string& canonical,
                                      const std::vector<nlohmann::json>& events)>;
  void set_relay(relay_fn relay);

  /// Hands `events` to the pipelines here but `from` that `to` accepts (cluster mode: those of
  /// one partition).
  void deliver(const std::string& from, const std::string& canonical,
               const std::vector<nlohmann::json>& events,
               const std::function<bool(const std::string&)>& to);

 private:
  std::mutex mu_;
  std::map<std::string, caf::actor_addr> pipelines_;
  relay_fn relay_;
};
using trigger_hub_ptr = std::shared_ptr<trigger_hub>;

}  // namespace pikoci::server
