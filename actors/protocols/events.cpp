#include "actors/protocols/events.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>

namespace pikoci::proto {

namespace {
std::string random_name() {
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(v));
  return out;
}

/// The `n` of an id `<name>-<n>` of the hub named `name`; nothing for any other text.
std::optional<std::uint64_t> number_of(const std::string& id, const std::string& name) {
  if (id.size() <= name.size() + 1 || id.size() > name.size() + 20 ||
      id.compare(0, name.size(), name) != 0 || id[name.size()] != '-')
    return std::nullopt;
  std::uint64_t n = 0;
  for (std::size_t i = name.size() + 1; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return std::nullopt;
    if (n > (UINT64_MAX - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(id[i] - '0');
  }
  return n;
}
}  // namespace

event_hub::event_hub(ring_limits ring)
    : ring_(ring), ringed_(ring.events > 0 && ring.bytes > 0), name_(ringed_ ? random_name() : "") {}

std::string event_hub::id_of(std::uint64_t n) const {
  return name_ + "-" + std::to_string(n);
}

std::string event_hub::last_id() const {
  if (!ringed_) return {};
  std::lock_guard<std::mutex> lock(mu_);
  return id_of(next_ - 1);
}

void event_hub::subscribe(event_sink_ptr sink, std::string pipeline,
                          const std::string& last_event_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ringed_ && !last_event_id.empty()) {
    // the events after `seen` are all in the ring when the oldest kept one is at most seen + 1
    auto seen = number_of(last_event_id, name_);
    if (!seen || *seen >= next_ || floor_ > *seen + 1) {
      sink->push("reset", "{}", id_of(next_ - 1));
    } else {
      for (const auto& e : recent_)
        if (e.n > *seen && (pipeline.empty() || pipeline == e.pipeline))
          sink->push(e.type, e.data, id_of(e.n));
    }
  }
  sinks_.push_back({std::move(sink), std::move(pipeline)});
  count_ = sinks_.size();
  heard_ = true;
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

void event_hub::number_events(std::string name, std::uint64_t next) {
  if (!ringed_) return;
  std::lock_guard<std::mutex> lock(mu_);
  name_ = std::move(name);
  recent_.clear();
  recent_bytes_ = 0;
  next_ = floor_ = std::max<std::uint64_t>(next, 1);
}

void event_hub::deliver(const std::string& pipeline, const std::string& type,
                        const std::string& data) {
  std::lock_guard<std::mutex> lock(mu_);
  deliver_locked(pipeline, type, data, next_);
}

void event_hub::deliver(const std::string& pipeline, const std::string& type,
                        const std::string& data, std::uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  deliver_locked(pipeline, type, data, std::max(n, next_));
}

void event_hub::deliver_locked(const std::string& pipeline, const std::string& type,
                               const std::string& data, std::uint64_t n) {
  std::string id;
  if (ringed_) {
    next_ = n + 1;
    id = id_of(n);
    recent_.push_back({n, pipeline, type, data});
    recent_bytes_ += recent_.back().size();
    while (!recent_.empty() &&
           (recent_.size() > ring_.events || recent_bytes_ > ring_.bytes)) {
      floor_ = recent_.front().n + 1;
      recent_bytes_ -= recent_.front().size();
      recent_.pop_front();
    }
  }
  sinks_.erase(std::remove_if(sinks_.begin(), sinks_.end(),
                              [&](const subscriber& s) {
                                if (!s.pipeline.empty() && s.pipeline != pipeline)
                                  return s.sink->gone();
                                return !s.sink->push(type, data, id);
                              }),
               sinks_.end());
  count_ = sinks_.size();
}

}  // namespace pikoci::proto
