#pragma once
// GET /events across a cluster (docs/cluster.md): every node sends the events of its pipelines
// to the cluster's status topic (`<prefix>.<cluster>.status`, one partition) instead of straight
// to its own subscribers, and every node, this one included, follows the topic from its end and
// hands each event to its hub, so a subscriber on any node sees every pipeline's events once, in
// the topic's order. An event's id there is the record's offset + 1 under the topic's name, the
// same on every node, so a subscriber that reconnects to another node resumes there.
//
// Anyone who can write to the topic can write a record: each one carries an HMAC of the event
// under the cluster's secret (`--jwt-secret`), and a record that is too large, not the JSON
// shape below, or not signed is logged and dropped.
//
//   {"pipeline": "p", "type": "build", "data": "<one line of JSON text>", "sig": "<hex HMAC>"}

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "actors/protocols/events.hpp"

namespace pikoci::kafka {
class producer;
class tail;
}  // namespace pikoci::kafka

namespace pikoci::node {

/// One event as the status topic carries it.
struct status_event {
  std::string pipeline;
  std::string type;
  std::string data;  // one line of JSON text
};

/// The largest status record sent or taken (the broker's default limit is 1 MiB).
inline constexpr std::size_t max_status_record = 512 * 1024;

/// The signed record of `e`; nothing when it would be larger than `max_status_record`.
std::optional<std::string> encode_status(const std::string& secret, const status_event& e);

/// A status record read back: the event, or why it was refused.
struct decoded_status {
  std::optional<status_event> event;
  std::string error;  // empty when `event` is set
};

/// Reads a record from the status topic as hostile input: at most `max_status_record` bytes, a
/// JSON object with the four string fields, a pipeline name of at most 256 bytes without control
/// characters, a type of 1 to 32 lower-case letters or `_`, data that is one line of JSON, and
/// the signature of the three under `secret`. Never throws.
decoded_status decode_status(const std::string& secret, std::string_view record);

/// The relay of one node's events to the status topic: each event is queued in a Kafka producer
/// and sent in the background, never waited for (a full queue drops it, logged).
class status_relay final : public proto::event_relay {
 public:
  status_relay(std::shared_ptr<kafka::producer> producer, std::string topic, std::string secret);
  void publish(const std::string& pipeline, const std::string& type,
               const std::string& data) override;

 private:
  std::shared_ptr<kafka::producer> producer_;
  const std::string topic_;
  const std::string secret_;
};

/// Makes `hub` publish through `relay`, and follows the status topic from the end it had just
/// before on a thread of its own, handing each event to `hub` (`deliver`, numbered by offset + 1
/// under the topic's name). stop() undoes both.
class status_follower {
 public:
  status_follower(std::string brokers, std::string topic, std::string secret,
                  proto::event_hub_ptr hub);
  ~status_follower();  // stop()
  status_follower(const status_follower&) = delete;
  status_follower& operator=(const status_follower&) = delete;

  /// Finds the topic's end (retried for up to `wait`), follows it from there, then relays the
  /// hub's events. False (logged) when the end could not be found: the hub stays as it was.
  bool start(proto::event_relay_ptr relay, std::chrono::milliseconds wait);
  /// The hub publishes to its own subscribers again; the tail stops. Idempotent.
  void stop();
  /// Records refused so far (malformed or not signed).
  std::int64_t refused() const { return refused_.load(); }

 private:
  void take(std::int64_t offset, const std::optional<std::string>& value);

  const std::string brokers_, topic_, secret_;
  proto::event_hub_ptr hub_;
  std::unique_ptr<kafka::tail> tail_;
  std::atomic<std::int64_t> refused_{0};
  bool relaying_ = false;
};

}  // namespace pikoci::node
