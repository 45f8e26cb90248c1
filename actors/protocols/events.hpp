#pragma once
// Live event streams (Server-Sent Events, SPEC §3.1): `event_sink` is one subscriber, implemented
// by the HTTP edge; a job pushes a build's events to the sinks watching it, and jobs and pipelines
// publish what changes (build statuses; pipelines, jobs and resources) to the node's `event_hub`
// (GET /api/v1/events), each event under the pipeline it belongs to. Pushing never blocks
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

/// Subscribers of the node's changes (GET /api/v1/events). Thread-safe; publishing with no
/// subscriber costs one atomic load, so actors can call `wanted()` before they make an event.
class event_hub {
 public:
  /// `pipeline` "": every pipeline's events; a name: only that pipeline's.
  void subscribe(event_sink_ptr sink, std::string pipeline = "");
  bool wanted() const { return count_.load(std::memory_order_relaxed) != 0; }
  /// Pushes an event of `pipeline` to its subscribers; the ones that refuse are dropped.
  void publish(const std::string& pipeline, const std::string& type, const std::string& data);
  std::size_t subscribers() const { return count_.load(); }

 private:
  struct subscriber {
    event_sink_ptr sink;
    std::string pipeline;  // "": all
  };
  std::mutex mu_;
  std::vector<subscriber> sinks_;
  std::atomic<std::size_t> count_{0};
};
using event_hub_ptr = std::shared_ptr<event_hub>;

}  // namespace pikoci::proto
