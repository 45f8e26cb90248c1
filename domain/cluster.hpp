#pragma once
// Cluster mode's shared state, as plain thread-safe types: the state of each partition on this
// node (read by the store writer and the HTTP edge without a lock), the pipeline catalog every
// node keeps from the global topic (the edge lists pipelines from it), and the cluster's own
// record (`meta/cluster`). No Kafka and no actors here: the cluster manager fills them.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace pikoci::domain::cluster {

/// At most 63 pipeline partitions: a partitioned id keeps its partition in 6 bits, and the
/// global partition G takes the index P.
constexpr int max_partitions = 63;

/// Where a partition is on this node: idle → restoring → adopting → active → moving → idle, or
/// lost (taken away without a handoff) and fenced (another owner claimed it while we wrote).
/// `restoring`: its state is being caught up and claimed; `adopting`: claimed, its pipelines are
/// coming back (their writes are taken, requests still wait); `active`: served.
enum class partition_state : std::uint8_t {
  idle,
  restoring,
  active,
  moving,
  lost,
  fenced,
  adopting
};

/// "idle", "restoring", ... as `GET /cluster` shows them.
const char* to_string(partition_state s);

/// The state of every partition index 0..63 (the pipeline partitions and G). Reads never lock.
class partition_table {
 public:
  static constexpr int size = 64;

  /// `idle` for an index out of range.
  partition_state get(int k) const {
    if (k < 0 || k >= size) return partition_state::idle;
    return static_cast<partition_state>(states_[k].load(std::memory_order_acquire));
  }
  /// Ignores an index out of range.
  void set(int k, partition_state s) {
    if (k >= 0 && k < size)
      states_[k].store(static_cast<std::uint8_t>(s), std::memory_order_release);
  }
  /// Sets `to` only when k is `from` now (e.g. active → fenced, never fenced → active by a late
  /// writer); true when it did.
  bool change(int k, partition_state from, partition_state to) {
    if (k < 0 || k >= size) return false;
    auto expected = static_cast<std::uint8_t>(from);
    return states_[k].compare_exchange_strong(expected, static_cast<std::uint8_t>(to),
                                              std::memory_order_acq_rel);
  }
  bool active(int k) const { return get(k) == partition_state::active; }

 private:
  std::array<std::atomic<std::uint8_t>, size> states_{};  // all idle (0)
};

/// What every node knows of a pipeline (`catalog/<p>`), written by its owner on set, pause and
/// delete.
struct pipeline_summary {
  int partition = 0;
  bool paused = false;
  std::vector<std::string> jobs;  // in the order of the pipeline's config
  std::string created_at, updated_at;
  /// The digests (auth::webhook_token_digest) of its resources' webhook tokens, never the
  /// tokens: any node finds which pipeline a `POST /webhooks/{token}` is for.
  std::vector<std::string> webhook_digests;
  bool operator==(const pipeline_summary& o) const {
    return partition == o.partition && paused == o.paused && jobs == o.jobs &&
           created_at == o.created_at && updated_at == o.updated_at &&
           webhook_digests == o.webhook_digests;
  }
};

/// At most this many webhook digests per catalog record; each at most 128 bytes.
constexpr std::size_t max_webhook_digests = 4096;

/// The stored JSON (`{"partition":..,"paused":..,"jobs":[..],"created_at":..,"updated_at":..,
/// "webhooks":[digest..]}`; `webhooks` is left out when empty, and optional when read).
std::string encode(const pipeline_summary& s);
/// A summary, or why the text is none (it came over Kafka: never throws).
std::variant<pipeline_summary, std::string> decode_summary(std::string_view text);

/// The pipeline catalog of this node, kept from the global topic. Thread-safe.
class catalog {
 public:
  /// Sets the summary of `name`, or forgets it (a tombstone: the pipeline was deleted).
  void apply(const std::string& name, std::optional<pipeline_summary> summary);
  std::optional<pipeline_summary> get(const std::string& name) const;
  /// The pipeline one of whose resources has the webhook token of this digest; none if unknown.
  std::optional<std::string> pipeline_of_webhook(const std::string& digest) const;
  /// Every pipeline, by name.
  std::vector<std::pair<std::string, pipeline_summary>> list() const;
  std::size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, pipeline_summary> pipelines_;
};

/// The record format of `meta/cluster` this build writes and reads.
constexpr int cluster_format = 1;

/// The cluster's record (`meta/cluster`), fixed when the cluster is created: a node whose
/// `--cluster-partitions` differs refuses to start.
struct cluster_record {
  int partitions = 12;
  int format = cluster_format;
};

/// `{"partitions":P,"format":1}`.
std::string encode(const cluster_record& r);
/// The record, or why the text is none: not JSON, not an object, partitions not an integer in
/// 1..63, a format that is missing or not ours. Never throws.
std::variant<cluster_record, std::string> decode_cluster_record(std::string_view text);

}  // namespace pikoci::domain::cluster
