#pragma once
// What every server-side actor of a node shares: the execution queue, the worker side and the
// global id sources. Handed down by the registry to pipelines, jobs and checkers.

#include <chrono>
#include <functional>
#include <memory>

#include "actors/model/ids.hpp"
#include "actors/protocols/events.hpp"
#include "actors/protocols/execution_queue.hpp"
#include "actors/protocols/outbox.hpp"
#include "actors/protocols/store.hpp"
#include "actors/server/stats.hpp"
#include "actors/server/trigger_hub.hpp"
#include "auth/auth.hpp"
#include "auth/secret_box.hpp"
#include "config/pipeline/load.hpp"
#include "domain/cluster.hpp"
#include "persistence/artifact_store.hpp"

namespace pikoci::server {

struct context {
  proto::execution_queue_actor queue;
  proto::dispatcher_actor dispatcher;
  proto::store_writer_actor store;           // none: nothing is written (unit tests)
  std::shared_ptr<persistence::store> db;    // what the writer writes to (read for exports)
  proto::outbox_actor outbox;                // notifications; none: nothing is sent (unit tests)
  proto::outbox_figures_ptr outbox_figures;  // its figures for GET /metrics
  /// Retention: finished builds kept per job (with their logs); older ones are dropped.
  std::size_t max_builds_per_job = 1000;
  /// What loading one pipeline may cost (`--pipeline-eval-*`, `--pipeline-max-jobs`).
  pipeline::load_limits load_limits;
  /// Builds run on remote workers (Kafka): a restart adopts started builds instead of orphaning
  /// them, and final statuses are synced before the worker is told they are recorded.
  bool remote_workers = false;
  /// Figures of finished builds, steps and checks (GET /metrics, GET /api/v1/stats).
  std::shared_ptr<node_stats> stats = std::make_shared<node_stats>();
  /// Subscribers of every build's status changes (GET /api/v1/events).
  proto::event_hub_ptr events = std::make_shared<proto::event_hub>(proto::event_hub::node_ring);
  /// Puts to trigger resources, handed to the other pipelines declaring the same trigger.
  trigger_hub_ptr triggers = std::make_shared<trigger_hub>();
  /// The node's artifact store (a pipeline's artifacts go with it); none in unit tests.
  std::shared_ptr<persistence::artifact_store> artifacts;
  model::id_source_ptr build_ids = std::make_shared<model::id_source>();
  model::id_source_ptr version_ids = std::make_shared<model::id_source>();
  /// The internal secret store's key (`--secret-key`); none: secrets cannot be set.
  std::shared_ptr<const auth::secret_box> secret_box;
  /// Who can log in (docs/users.md): shared with the HTTP edge, which reads it on every request;
  /// the registry changes it and writes the accounts.
  std::shared_ptr<auth::user_store> users;
  /// Cluster mode: every pipeline of the cluster (`catalog/<p>` of the global topic), shared with
  /// the HTTP edge; the registry keeps it from the replicated records (and applies this node's
  /// own writes at once, so a change reads back here before its record comes back). None in
  /// single mode.
  std::shared_ptr<domain::cluster::catalog> catalog;
  /// Cluster mode: P, the number of pipeline partitions (pipeline p is in partition
  /// `persistence::partition_of(p, P)`; users and team secrets in G = P). 0: single mode, every
  /// pipeline is this node's and nothing below is read.
  int partition_count = 0;
  /// Cluster mode: the state of each partition on this node, changed by the cluster manager.
  /// An operation on a pipeline runs only while its partition is `active` here; none: no
  /// partition is this node's.
  std::shared_ptr<const domain::cluster::partition_table> partitions;
  /// Cluster mode: how long an operation on a partition that is restoring or moving waits for it
  /// to become active here before 503 `partition_moving` (`--move-wait`).
  std::chrono::milliseconds move_wait{10000};
  /// Cluster mode: the build and version ids of each partition (`id_source(k)`), indexed by k;
  /// a pipeline of partition k draws from the k-th. Empty on a single node (`build_ids` and
  /// `version_ids` then serve every pipeline).
  std::vector<model::id_source_ptr> partition_build_ids, partition_version_ids;
  /// `pikoci-node run`: builds are made only by explicit triggers (no versions, `passed` or
  /// `on_trigger` hooks make any), resources are checked only when asked, `passed` is not
  /// applied, and approval gates are not to hold builds (nobody is there to approve).
  bool local_run = false;
  /// The clock of build and version timestamps (tests pin it).
  std::function<model::time_point()> now = [] { return std::chrono::system_clock::now(); };
};

}  // namespace pikoci::server
