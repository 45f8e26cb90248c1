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
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pikoci::proto {

class event_sink {
 public:
  virtual ~event_sink() = default;
  /// Queues one event (`data` is one line of JSON text, `id` its id or "" for none); false once
  /// the subscriber is gone or was cut off, and then for good: drop the sink.
  virtual bool push(const std::string& type, const std::string& data, const std::string& id) = 0;
  bool push(const std::string& type, const std::string& data) { return push(type, data, {}); }
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
/// subscriber, no relay and no subscriber ever costs three atomic loads, so actors can call `wanted()`
/// before they make an event.
///
/// With a ring (`ring_limits`), every event delivered gets an id, `<hub>-<n>`: `hub` names this
/// hub (a random number drawn when it is made, so a restarted node's ids are not taken for the
/// old ones), `n` counts its events from 1. The ring keeps the most recent events, at most
/// `events` of them and `bytes` of their text, so a subscriber that reconnects with the id of
/// the last event it got is sent the ones it missed. In cluster mode the caller numbers the
/// events instead (`number_events`: the status topic's offsets), alike on every node, so the
/// id of one node's event names the same event on the others.
class event_hub {
 public:
  struct ring_limits {
    std::size_t events = 0;  // 0: no ring, no ids
    std::size_t bytes = 0;
  };
  static constexpr ring_limits node_ring{4096, 8 * 1024 * 1024};

  event_hub() : event_hub(ring_limits{}) {}
  explicit event_hub(ring_limits ring);

  /// `pipeline` "": every pipeline's events; a name: only that pipeline's. `last_event_id`: the
  /// id of the last event the subscriber got on an earlier stream ("": none). When the ring still
  /// has the events after it, they are pushed first (this pipeline's); when it does not (an id
  /// of another hub, too old, malformed), a `reset` event (`{}`) is pushed first instead: the
  /// subscriber missed events it cannot get. Either way, then live.
  void subscribe(event_sink_ptr sink, std::string pipeline = "",
                 const std::string& last_event_id = "");
  /// Whether an event would go anywhere. The ring wants events only once someone subscribed:
  /// until then there is no stream to resume, and a node nobody watches makes no events.
  bool wanted() const {
    return (ringed_ && heard_.load(std::memory_order_relaxed)) ||
           relayed_.load(std::memory_order_relaxed) ||
           count_.load(std::memory_order_relaxed) != 0;
  }
  /// An event of `pipeline`: to the relay when there is one, else to this node's subscribers.
  void publish(const std::string& pipeline, const std::string& type, const std::string& data);
  /// Pushes an event of `pipeline` to this node's subscribers; the ones that refuse are dropped.
  void deliver(const std::string& pipeline, const std::string& type, const std::string& data);
  /// The same, numbered `n` by the caller (after `number_events`): `n` grows from one event to
  /// the next, with gaps where the caller had nothing to deliver; one not above the last is
  /// numbered right after it.
  void deliver(const std::string& pipeline, const std::string& type, const std::string& data,
               std::uint64_t n);
  /// From now on the caller numbers the events (`deliver(..., n)`), ids are `<name>-<n>`, and
  /// every event numbered below `next` counts as unknown here: the ring starts over empty, so a
  /// subscriber resumes only from an id of `name` at least `next - 1`. No-op without a ring.
  void number_events(std::string name, std::uint64_t next);
  /// From now on, `publish` hands events to `relay` (cluster mode; null: back to single mode).
  void relay_to(event_relay_ptr relay);
  std::size_t subscribers() const { return count_.load(); }
  /// The id of the newest event delivered ("" without a ring).
  std::string last_id() const;

 private:
  struct subscriber {
    event_sink_ptr sink;
    std::string pipeline;  // "": all
  };
  struct recent {
    std::uint64_t n;
    std::string pipeline, type, data;
    std::size_t size() const { return pipeline.size() + type.size() + data.size() + 64; }
  };
  std::string id_of(std::uint64_t n) const;
  void deliver_locked(const std::string& pipeline, const std::string& type,
                      const std::string& data, std::uint64_t n);

  const ring_limits ring_;
  const bool ringed_;
  mutable std::mutex mu_;
  std::string name_;  // the `<hub>` of the ids (under mu_)
  std::deque<recent> recent_;  // under mu_, oldest first
  std::size_t recent_bytes_ = 0;
  std::uint64_t next_ = 1;  // the number of the next event (at least)
  std::uint64_t floor_ = 1;  // every event delivered numbered from here on is in the ring
  std::vector<subscriber> sinks_;
  std::atomic<std::size_t> count_{0};
  event_relay_ptr relay_;  // under mu_
  std::atomic<bool> relayed_{false};
  std::atomic<bool> heard_{false};  // someone subscribed since the hub was made
};
using event_hub_ptr = std::shared_ptr<event_hub>;

}  // namespace pikoci::proto
