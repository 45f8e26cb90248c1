#pragma once
// The changelog sink of one owned partition k (cluster mode, docs/cluster.md): each group-commit
// batch of the cluster writer becomes one Kafka transaction over the partition's changelog, the
// global topic and the input partitions of a trigger fan-out, committed by the partition's
// transactional producer. Every record carries the headers `m` (the writing member) and `e` (its
// epoch for k). Blocking: called on the partition's own thread, never on a CAF thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka/txn.hpp"
#include "node/cluster_topics.hpp"
#include "persistence/changelog.hpp"

namespace pikoci::node {

/// A record for partition `partition` of the input topic (a trigger fan-out).
struct input_record {
  std::int32_t partition = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Commits batches of partition k as transactions; owns the partition's producer, initialised
/// (cluster_restore.hpp gives it after the claim).
class kafka_changelog_sink {
 public:
  kafka_changelog_sink(std::unique_ptr<kafka::txn_producer> producer, cluster_topics topics, int k,
                       std::string member, std::int64_t epoch);

  /// One transaction: `changelog` to changelog[k], `global` to global[0], `input` to its
  /// partitions. A commit in doubt is resumed within `timeout`; `retry` only when it is still in
  /// doubt then (call resume() before anything else). `fenced`: k is lost, drop the sink.
  kafka::txn_result commit(const std::vector<persistence::changelog::record>& changelog,
                           const std::vector<persistence::changelog::record>& global,
                           const std::vector<input_record>& input,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// After `retry`: how the commit in doubt ended.
  kafka::txn_result resume(std::chrono::milliseconds timeout);

  /// The offset of the last record a committed transaction wrote to changelog[k], or -1.
  std::int64_t changelog_offset(const kafka::txn_result& r) const;

  bool fenced() const { return producer_->fenced(); }
  int partition() const { return k_; }
  std::int64_t epoch() const { return epoch_; }
  const cluster_topics& topics() const { return topics_; }

 private:
  kafka::txn_result settle(kafka::txn_result r, std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<kafka::txn_producer> producer_;
  cluster_topics topics_;
  int k_;
  std::string member_;
  std::int64_t epoch_;
};

}  // namespace pikoci::node
