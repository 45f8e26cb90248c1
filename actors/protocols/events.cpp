#include "actors/protocols/events.hpp"

#include <algorithm>

namespace pikoci::proto {

void event_hub::subscribe(event_sink_ptr sink, std::string pipeline) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.push_back({std::move(sink), std::move(pipeline)});
  count_ = sinks_.size();
}

void event_hub::publish(const std::string& pipeline, const std::string& type,
                        const std::string& data) {
  if (relayed_.load(std::memory_order_acquire)) {
    event_relay_ptr relay;
    {
      std::lock_guard<std::mutex> lock(mu_);
      relay = relay_;
    }
    if (relay) {
      relay->publish(pipeline, type, data);
      return;
    }
  }
  deliver(pipeline, type, data);
}

void event_hub::relay_to(event_relay_ptr relay) {
  std::lock_guard<std::mutex> lock(mu_);
  relayed_ = relay != nullptr;
  relay_ = std::move(relay);
}

void event_hub::deliver(const std::string& pipeline, const std::string& type,
                        const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.erase(std::remove_if(sinks_.begin(), sinks_.end(),
                              [&](const subscriber& s) {
                                if (!s.pipeline.empty() && s.pipeline != pipeline)
                                  return s.sink->gone();
                                return !s.sink->push(type, data);
                              }),
               sinks_.end());
  count_ = sinks_.size();
}

}  // namespace pikoci::proto
