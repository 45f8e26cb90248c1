#pragma once
// Live event streams (Server-Sent Events, SPEC §3.1): `event_sink` is one subscriber, implemented
// by the HTTP edge; a job pushes a build's events to the sinks watching it, and jobs and pipelines
// publish what changes (build statuses; pipelines, jobs and resources) to the node's `event_hub`
// (GET /api/v1/events), each event under the pipeline it belongs to; in cluster mode the hub
// relays them through the cluster so every node's subscribers see them. Pushing never blocks
// and never waits for the subscriber: a sink buffers a bounded number of bytes and cuts off a
// subscriber that falls further behind, so a slow or dead reader cannot slow a build or the node.

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pikoci::proto {

class event_sink {
 public:
  virtual ~event_sink() = default;
  /// Queues one event (`data` is one line of JSON text); false once the subscriber is gone or
  /// was cut off, and then for good: drop the sink.
  virtual bool push(const std::string& type, const std::string& data) = 0;
  /// The stream is over: what is queued is sent, then the response ends.
  virtual void close() = 0;
  /// True once the subscriber is gone or cut off (push would refuse): a subscriber of another
  /// pipeline's events is dropped then, without waiting for an event it wants.
  virtual bool gone() const { return false; }
};
using event_sink_ptr = std::shared_ptr<event_sink>;

/// Where a node's events go instead of straight to its own subscribers: in cluster mode, the
/// cluster's status topic, whose tail on every node (this one included) hands each event back to
/// that node's hub (`event_hub::deliver`), so a subscriber on any node sees every node's events.
class event_relay {
 public:
  virtual ~event_relay() = default;
  /// Sends one event on. Called from actors: it must not block (queue it, e.g. in a producer).
  virtual void publish(const std::string& pipeline, const std::string& type,
                       const std::string& data) = 0;
};
using event_relay_ptr = std::shared_ptr<event_relay>;

/// Subscribers of the node's changes (GET /api/v1/events). Thread-safe; publishing with no
/// subscriber and no relay costs two atomic loads, so actors can call `wanted()` before they
/// make an event.
class event_hub {
 public:
  /// `pipeline` "": every pipeline's events; a name: only that pipeline's.
  void subscribe(event_sink_ptr sink, std::string pipeline = "");
  bool wanted() const {
    return relayed_.load(std::memory_order_relaxed) || count_.load(std::memory_order_relaxed) != 0;
  }
  /// An event of `pipeline`: to the relay when there is one, else to this node's subscribers.
  void publish(const std::string& pipeline, const std::string& type, const std::string& data);
  /// Pushes an event of `pipeline` to this node's subscribers; the ones that refuse are dropped.
  void deliver(const std::string& pipeline, const std::string& type, const std::string& data);
  /// From now on, `publish` hands events to `relay` (cluster mode; null: back to single mode).
  void relay_to(event_relay_ptr relay);
  std::size_t subscribers() const { return count_.load(); }

 private:
  struct subscriber {
    event_sink_ptr sink;
    std::string pipeline;  // "": all
  };
  std::mutex mu_;
  std::vector<subscriber> sinks_;
  std::atomic<std::size_t> count_{0};
  event_relay_ptr relay_;  // under mu_
  std::atomic<bool> relayed_{false};
};
using event_hub_ptr = std::shared_ptr<event_hub>;

}  // namespace pikoci::proto
