#pragma once
// The cluster manager of one node (`--cluster`, docs/cluster.md): which partitions this node owns
// and how they come and go. A Kafka consumer group over the cluster's input topic (P + 1
// partitions: the pipeline partitions 0..P-1 and G = P for users and team secrets) assigns the
// partitions, cooperative-sticky, so a join or a leave moves only what must move.
//
//   gained k  → restoring: the store catches up with changelog[k], older owners are fenced, k is
//               claimed with a new epoch (node/cluster_restore.hpp); then the runtime gains k's
//               pipelines (running builds adopted), and only then is k active: requests are
//               served and worker messages of k's builds are read from input[k].
//               G: fenced and claimed, active once the global topic is applied to its end.
//   revoking k → moving: the runtime hands k's pipelines off (nothing cancelled), the writes of k
//               in flight are committed, then the group gets k back.
//   lost k    → the group went on without this node (it missed its session): k stops here at
//               once; whatever it still writes is fenced by the new owner's claim.
//   fenced k  → a commit of k was refused because another node claimed k: as lost.
//
// With standby replicas, a node also tails changelog[k] of the partitions it stands by for into
// its store (never one it owns: the tail stops before a gained k is restored, so the restore
// starts from the warm copy's position).
//
// Every node also follows the global topic (users, secrets, the pipeline catalog) into its store
// and its registry, relays its GET /events events through the status topic and follows that
// topic into its event hub (node/cluster_events.hpp), and says in its hello which partitions it owns at which epoch, so any node can
// forward a request to the owner.
//
// Threads: the group's poll thread runs the callbacks; restores and handoffs run on threads of
// their own (they block on Kafka and on the runtime); the global tail has its own thread; the
// standby replicas have one thread deciding and measuring them and one tail thread each.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/server/cluster_writer.hpp"
#include "domain/cluster.hpp"
#include "domain/members.hpp"
#include "persistence/store.hpp"

namespace pikoci::node {

class runtime;

struct cluster_options {
  std::string brokers;
  std::string prefix;   ///< the Kafka topic prefix
  std::string cluster;  ///< `--cluster`
  int partitions = 12;  ///< P (`--cluster-partitions`)
  std::string member;   ///< this node's member id (its hello's)
  /// How long the group waits for a silent node before moving its partitions (`--member-timeout`).
  std::chrono::milliseconds session_timeout{6000};
  /// How long a handoff may take before the partition counts as lost.
  std::chrono::milliseconds handoff_wait{10000};
  std::shared_ptr<persistence::store> store;
  /// A RocksDB store's directory and how often it is checkpointed (persistence/checkpoints.hpp);
  /// no checkpoints when the path is empty or the interval 0.
  std::filesystem::path db_path;
  std::chrono::milliseconds checkpoint_interval{0};
  /// Signs the records nodes send each other on the input topic (`--jwt-secret`, the same on
  /// every node): a record that does not carry its signature is dropped.
  std::string secret;
  /// Nodes keeping a warm copy of each pipeline partition (`--standby-replicas`): the members
  /// that follow k's owner in member id order (domain::standby_partitions) tail changelog[k]
  /// into their store, so the one that gains k replays only what the copy misses.
  int standby_replicas = 0;
  /// The live members as their hellos say (who owns what): asked every second when
  /// `standby_replicas` > 0.
  std::function<std::vector<domain::member>()> live;
};

/// What this node tells the others about its partitions (its hello's `owned`, and `standby`: the
/// partitions it keeps a warm copy of, with the changelog records the copy is behind).
using claims_listener = std::function<void(const std::map<int, domain::partition_claim>& owned,
                                           const std::map<int, std::int64_t>& standby)>;

class cluster_manager {
 public:
  /// Creates the cluster's topics when missing (a changelog with another partition count is
  /// refused). Throws std::runtime_error when the brokers cannot be used.
  explicit cluster_manager(cluster_options opts);
  /// leave().
  ~cluster_manager();
  cluster_manager(const cluster_manager&) = delete;
  cluster_manager& operator=(const cluster_manager&) = delete;

  /// The parts the runtime is built with.
  std::shared_ptr<domain::cluster::partition_table> table() const;
  std::shared_ptr<server::changelog_sink> sink() const;
  std::shared_ptr<domain::cluster::catalog> catalog() const;
  /// The cluster writer's report: a commit of k was fenced.
  void fenced(int k);
  /// Sends a put to a `trigger` resource to the owner of every partition (the runtime's
  /// `deliver_trigger` there). Any thread; after start().
  void broadcast_trigger(const std::string& payload);

  /// Follows the global topic into the store and `rt`, then joins the group. `rt` must outlive
  /// leave(). `claims` is told every change of the partitions owned here.
  void start(runtime& rt, claims_listener claims);
  /// Leaves the group cleanly: every partition is handed off (SIGQUIT, stop). Idempotent.
  void leave();

  /// The partitions active here, with their epochs.
  std::map<int, domain::partition_claim> owned() const;
  /// The partitions this node stands by for, with how many changelog offsets each copy is behind.
  std::map<int, std::int64_t> standby() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace pikoci::node
