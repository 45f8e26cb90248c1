#include "actors/server/trigger_hub.hpp"

#include <caf/all.hpp>

#include "actors/protocols/pipeline.hpp"

namespace pikoci::server {

void trigger_hub::join(const std::string& pipeline, caf::actor_addr actor) {
  std::lock_guard<std::mutex> lock(mu_);
  pipelines_[pipeline] = std::move(actor);
}

void trigger_hub::leave(const std::string& pipeline, const caf::actor_addr& actor) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pipelines_.find(pipeline);
  if (it != pipelines_.end() && it->second == actor) pipelines_.erase(it);
}

void trigger_hub::publish(const std::string& from, const std::string& canonical,
                          const std::vector<nlohmann::json>& events) {
  relay_fn relay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    relay = relay_;
  }
  if (relay) {
    relay(from, canonical, events);
    return;
  }
  deliver(from, canonical, events, [](const std::string&) { return true; });
}

void trigger_hub::set_relay(relay_fn relay) {
  std::lock_guard<std::mutex> lock(mu_);
  relay_ = std::move(relay);
}

void trigger_hub::deliver(const std::string& from, const std::string& canonical,
                          const std::vector<nlohmann::json>& events,
                          const std::function<bool(const std::string&)>& to) {
  std::vector<proto::pipeline_actor> actors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, addr] : pipelines_)
      if (name != from && to(name))
        if (auto actor = caf::actor_cast<proto::pipeline_actor>(addr)) actors.push_back(actor);
  }
  for (const auto& actor : actors)
    caf::anon_send(actor, proto::found_atom::value, canonical, events);
}

}  // namespace pikoci::server
