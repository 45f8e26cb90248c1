#include "actors/protocols/events.hpp"

#include <algorithm>

namespace pikoci::proto {

void event_hub::subscribe(event_sink_ptr sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.push_back(std::move(sink));
  count_ = sinks_.size();
}

void event_hub::publish(const std::string& type, const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.erase(std::remove_if(sinks_.begin(), sinks_.end(),
                              [&](const event_sink_ptr& s) { return !s->push(type, data); }),
               sinks_.end());
  count_ = sinks_.size();
}

}  // namespace pikoci::proto
