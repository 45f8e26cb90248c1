#pragma once
// One member of a consumer group over one topic, used for ownership: in a cluster the group's
// assignment of the input topic's partitions says which node owns which partition. The group
// uses cooperative-sticky assignment, so a member joining or leaving moves only the partitions
// that must move; the others stay assigned, without a revoke, through the rebalance.
//
// A partition's life in a member:
//   gained  → assigned but paused: the owner restores its state first, then calls ready(k, off),
//             which seeks to `off` and resumes: records come to on_message from there.
//   revoking → an orderly move (another member joined or left, or close()): the poll thread waits
//             up to `handoff_wait` for handed_off(k), commits k's offsets and lets k go. No
//             handed_off in time: on_lost(k) follows, and nothing is committed.
//   lost    → taken away without a handoff (this member missed its session timeout and the group
//             went on without it): no commit, no wait; the owner stops using k at once.
//
// Threads: one poll thread per member runs every callback, one at a time. Callbacks may call
// handed_off() and ready() (they only record the call) but never close(). Offsets of the records
// handed to on_message are committed at most once a second in the background, and synchronously
// when a partition is handed off and at close(). No librdkafka type in this interface.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connectors/kafka/tail.hpp"

namespace pikoci::kafka {

/// Where and how a member joins its group.
struct group_options {
  std::string brokers;
  std::string group;  // the consumer group id
  std::string topic;  // the one topic subscribed
  /// How long the group waits for a silent member before giving its partitions to others. The
  /// broker bounds it (group.min.session.timeout.ms, 6 s by default).
  std::chrono::milliseconds session_timeout{6000};
  /// How long a revoke waits for handed_off() before treating the partitions as lost.
  std::chrono::milliseconds handoff_wait{5000};
};

/// What a member tells its owner; every callback runs on the member's poll thread.
struct group_callbacks {
  using partitions = std::vector<std::int32_t>;
  /// Newly assigned partitions, paused until ready() is called for each.
  std::function<void(const partitions&)> on_gained;
  /// Partitions to hand off: call handed_off() with them (from any thread) once they are.
  std::function<void(const partitions&)> on_revoking;
  /// Partitions that are no longer this member's, without a handoff.
  std::function<void(const partitions&)> on_lost;
  /// A record of a ready partition, in offset order within a partition.
  std::function<void(const record&)> on_message;
};

/// A group member with its own poll thread (see the top of this file).
class group_member {
 public:
  using partitions = group_callbacks::partitions;
  /// For ready(): start after the group's committed offset (or at the beginning without one).
  static constexpr std::int64_t from_committed = -1;

  /// Subscribes and starts the poll thread. Throws std::runtime_error when librdkafka refuses
  /// the configuration.
  group_member(group_options options, group_callbacks callbacks);
  /// close().
  ~group_member();
  group_member(const group_member&) = delete;
  group_member& operator=(const group_member&) = delete;

  /// The owner let these partitions go (after on_revoking). Any thread.
  void handed_off(const partitions& parts);
  /// Partition `k` is restored: deliver its records from `offset` (or from_committed). Ignored
  /// when k is not assigned (any more). Any thread.
  void ready(std::int32_t k, std::int64_t offset = from_committed);
  /// Leaves the group cleanly: every assigned partition goes through on_revoking and waits for
  /// handed_off() (bounded by handoff_wait), then the poll thread ends. Idempotent. Any thread
  /// but the poll thread (a callback).
  void close();

  /// The partitions assigned now (gained and not yet revoked or lost), sorted. Any thread.
  partitions assignment() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pikoci::kafka
