#pragma once
// The store writer of a cluster node (docs/cluster.md): the same protocol as the store writer
// (actors/protocols/store.hpp), so actors write exactly as in single mode, but a partition's
// writes reach the local store only after its changelog holds them.
//
// Each batch is split by `persistence::route_of` into one part per partition k (a global op
// goes with the partition that writes it: a pipeline's, or G = P for users, team secrets and
// the cluster's record) plus the node-local part. Each partition is a lane of its own: one
// transaction in flight, the next batch gathering (group commit), in arrival order. A lane
// commits on its own thread: the ops become changelog records (`changelog::expand`), the sink
// commits them as one Kafka transaction, then one unsynced local write stores the ops with the
// partition's changelog offset (`changelog::offset_ops`). Local data is never ahead of the
// changelog. A write is answered true once every part of it is stored.
//
// Refusals: a write with a part in a partition that is not `active` (or `adopting`: its
// pipelines are coming back) here (domain/cluster.hpp) is refused at once (false; unwaited ops are logged and dropped), and so is a write with a
// key of no known route (a bug). A fenced partition answers false from then on and is reported
// to `on_fenced`. An aborted transaction answers false and keeps what nobody waited for, as the
// store writer does after a failed write.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/protocols/store.hpp"
#include "domain/cluster.hpp"
#include "persistence/changelog.hpp"

namespace pikoci::server {

/// One transaction of partition k.
struct changelog_commit {
  int partition = 0;  ///< k, or P for G (whose `changelog` is always empty)
  std::vector<persistence::changelog::record> changelog;  ///< to changelog[k], in order
  std::vector<persistence::changelog::record> global;     ///< to the global topic, in order
};

/// How a transaction ended (kafka::txn_result's outcomes).
enum class commit_outcome {
  ok,     ///< committed
  retry,  ///< in doubt: `resume` tells how it ended; nothing else is committed meanwhile
  abort,  ///< none of it will ever be visible; the next commit may go on
  fenced  ///< another owner took the partition: nothing more will commit
};

struct commit_result {
  commit_outcome status = commit_outcome::ok;
  std::string error;  ///< why, when not ok
  /// When ok: the offset of the last record written to changelog[k]; -1 when none was.
  std::int64_t changelog_offset = -1;
};

/// Where a partition's transactions go (the cluster manager implements it over
/// kafka::txn_producer, one transactional id per partition). The writer calls it from its own
/// threads, never from a CAF thread: calls for one partition never overlap; calls for different
/// partitions may. It adds its own headers (member, epoch) to the records. Should not throw (a
/// throw counts as `abort`).
class changelog_sink {
 public:
  virtual ~changelog_sink() = default;
  /// Commits `c` as one transaction of partition `c.partition`.
  virtual commit_result commit(const changelog_commit& c) = 0;
  /// After `retry`: how the commit in doubt of partition `k` ended (`retry` again if unknown).
  virtual commit_result resume(int k) = 0;
};

/// Runs each lane's commits one at a time, off the CAF threads. The default runs a thread per
/// lane; tests pass one that runs jobs when told.
class lane_runner {
 public:
  virtual ~lane_runner() = default;
  /// Runs `job` for lane `lane` (0..64) after the jobs posted for it before.
  virtual void post(int lane, std::function<void()> job) = 0;
};

/// A thread per lane, started on the lane's first job; the destructor waits for running jobs.
std::unique_ptr<lane_runner> thread_lane_runner();

struct cluster_writer_options {
  std::shared_ptr<persistence::store> store;
  std::shared_ptr<changelog_sink> sink;
  std::shared_ptr<domain::cluster::partition_table> partitions;
  int partition_count = 12;  ///< P
  /// Told (on the writer's thread for k, may block briefly) when a commit of k was fenced,
  /// after the table moved k from active or moving to fenced.
  std::function<void(int k)> on_fenced;
  /// How long a lane whose transaction aborted (or whose store failed) waits before trying
  /// again with what it kept.
  std::chrono::milliseconds retry_interval{1000};
  /// Null: thread_lane_runner().
  std::shared_ptr<lane_runner> runner;
};

/// The cluster writer: the store writer's protocol, plus `drain(k)` (answered true once
/// nothing of k is in flight or gathering: a handoff waits for it), plus the internal report
/// of a lane's commit (lane, commit_outcome, the ops given back when it did not commit).
using cluster_writer_actor = proto::store_writer_actor::extend<
    caf::replies_to<proto::drain_atom, int>::with<bool>,
    caf::reacts_to<proto::flush_atom, int, int, persistence::batch>>;

/// Spawns the cluster writer. `opts.store`, `opts.sink` and `opts.partitions` must be set and
/// `opts.partition_count` in 1..63. The result converts to `proto::store_writer_actor`.
cluster_writer_actor spawn_cluster_writer(caf::actor_system& sys, cluster_writer_options opts);

}  // namespace pikoci::server
