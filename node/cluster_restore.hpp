#pragma once
// The restore of a pipeline partition k on the node that gains it (cluster mode,
// docs/cluster.md): catch the local store up with changelog[k], fence every older owner, claim k
// with a new epoch. Blocking (Kafka round trips, a store catch-up of any size): run it on a
// worker thread, never on a CAF or HTTP thread.
//
// 1. L = the changelog offset the store holds for k. When L+1 is outside the log (compacted or
//    deleted away, or a store ahead of a recreated topic), or L was applied longer ago than half
//    the topic's delete.retention.ms (tombstones may be gone), the store's copy of k is wiped and
//    the catch-up starts at the log start.
// 2. Bulk catch-up from L+1 (read_committed), applied in unsynced batches with their offsets.
// 3. Fence: the partition's transactional producer init()s; no older owner commits after this.
// 4. Final catch-up to the end as it is after the fence (the older owner's last commit becomes
//    visible a few ms after its marker: the end is read until it stays put).
// 5. Claim: one transaction writes meta/epoch/<k> = previous + 1. Fenced there: k is lost.
// 6. The claim is written to the store synced, which syncs everything before it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "node/cluster_sink.hpp"
#include "persistence/store.hpp"

namespace pikoci::node {

struct restore_options {
  std::string brokers;
  std::string prefix;
  std::string cluster;
  int partitions = 12;
  /// This node's member id (the `m` header of what it writes).
  std::string member;
  /// Records per applied batch.
  std::size_t batch = 1000;
  std::chrono::milliseconds catch_up_timeout{std::chrono::minutes(10)};
  /// Each of init() and the claim's commit.
  std::chrono::milliseconds txn_timeout{std::chrono::seconds(30)};
  /// How long the end read after the fence must stay put before the catch-up is final.
  std::chrono::milliseconds settle{std::chrono::milliseconds(100)};
  /// The changelog's delete.retention.ms when the brokers do not say it.
  std::chrono::milliseconds delete_retention{std::chrono::hours(24)};
  /// Called between the bulk catch-up and the fence (tests: an older owner's last commit).
  std::function<void()> before_fence;
};

struct restore_stats {
  std::int64_t records = 0;  ///< changelog records applied (the claim not counted)
  std::int64_t bytes = 0;    ///< their keys and values
  std::chrono::milliseconds duration{0};
  /// Started from a position the store held (a checkpoint, an earlier ownership, a standby).
  bool from_checkpoint = false;
  bool wiped = false;     ///< the store's copy of k was too old and was wiped
  std::int64_t from = 0;  ///< the first changelog offset read
  /// The steps' times: bulk catch-up, fence, final catch-up, claim (with the synced write).
  std::chrono::milliseconds bulk_time{0}, fence_time{0}, final_time{0}, claim_time{0};
};

struct restore_result {
  std::string error;  ///< "" when k is ours
  bool lost = false;  ///< fenced at the claim: a newer owner took k meanwhile
  std::int64_t epoch = 0;
  /// k's sink, for the cluster writer; null on error.
  std::unique_ptr<kafka_changelog_sink> sink;
  restore_stats stats;
  bool ok() const { return error.empty(); }
};

/// Restores partition `k` (0..partitions-1) into `s` and claims it (see the steps above).
restore_result restore_partition(persistence::store& s, int k, const restore_options& opts);

}  // namespace pikoci::node
