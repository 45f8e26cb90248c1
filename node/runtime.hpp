#pragma once
// The single-node runtime: the actor system with the execution queue, the embedded worker and
// the registry, and the one way in for the HTTP edge (`call`). Owned by the server role.

#include <functional>
#include <future>
#include <memory>

#include "actors/protocols/events.hpp"
#include "actors/protocols/gateway.hpp"
#include "actors/protocols/outbox.hpp"
#include "actors/server/cluster_writer.hpp"
#include "actors/worker/build_executor.hpp"
#include "auth/auth.hpp"
#include "auth/secret_box.hpp"
#include "config/pipeline/load.hpp"
#include "connectors/kafka/dispatcher.hpp"
#include "domain/cluster.hpp"
#include "persistence/artifact_store.hpp"
#include "persistence/store.hpp"

namespace pikoci::node {

struct runtime_options {
  int concurrency = 2;
  int max_in_flight = 10;
  int max_queue_size = 100;
  int max_builds_per_job = 1000;           // finished builds kept per job, oldest dropped first
  std::chrono::milliseconds grace{10000};  // SIGTERM → SIGKILL for build processes
  std::string cache_root;                  // --cache-root ("": the default)
  /// Where state is written through (memory when none). What it holds is restored before the
  /// constructor returns; it throws persistence::store_error when the store cannot be read.
  std::shared_ptr<persistence::store> store;
  /// Remote workers over Kafka (`--pubsub-system kafka`): builds and checks go through the Kafka
  /// dispatcher instead of the embedded worker, and the worker slots are the remote workers'.
  /// The constructor throws std::runtime_error when the brokers cannot be used.
  std::optional<kafka::dispatcher_options> kafka;
  /// The notification outbox: retry limit, backoff (`--notify-max-attempts`,
  /// `--notify-backoff-base`).
  proto::outbox_options notify;
  /// What loading one pipeline may cost (`--pipeline-eval-timeout`, `--pipeline-eval-memory`,
  /// `--pipeline-max-jobs`).
  pipeline::load_limits pipeline_limits;
  /// The node's artifact store (`--artifact-dir`): deleting a pipeline deletes its artifacts.
  std::shared_ptr<persistence::artifact_store> artifacts;
  /// What the embedded worker gives the node's own handlers (the node's URL and a worker
  /// token), filled once the API listens.
  std::shared_ptr<worker::handler_env> node_handlers = std::make_shared<worker::handler_env>();
  /// The internal secret store's key (`--secret-key`); none: secrets cannot be set.
  std::shared_ptr<const auth::secret_box> secret_box;
  /// Who can log in: the built-in admin and the stored accounts (loaded when the runtime starts).
  std::shared_ptr<auth::user_store> users;
  /// `pikoci-node run`: builds only from explicit triggers, resources checked only when asked,
  /// secrets never fetched.
  bool local_run = false;
  /// Cluster mode (`--cluster`, docs/cluster.md): set by the composition root with the cluster
  /// manager's parts. The store is written through the cluster writer (a partition's changes
  /// reach its changelog first), nothing is restored at start (each partition's pipelines come
  /// back when this node gains it: `gain`), ids are drawn per partition.
  struct cluster_parts {
    int partitions = 12;  ///< P
    std::shared_ptr<domain::cluster::partition_table> table;
    std::shared_ptr<server::changelog_sink> sink;
    /// Told when a commit of partition k was fenced (another node owns k now).
    std::function<void(int k)> on_fenced;
    std::shared_ptr<domain::cluster::catalog> catalog;
    /// How long an operation on a partition that is moving waits (`--move-wait`).
    std::chrono::milliseconds move_wait{10000};
    /// Sends a put to a `trigger` resource to every partition's owner (`deliver_trigger` there).
    std::function<void(const std::string& payload)> broadcast_trigger;
  };
  std::optional<cluster_parts> cluster;
};

/// Where build processes of this node run, with which environment and grace period.
worker::executor_options worker_exec(const runtime_options& opts);

class runtime {
 public:
  explicit runtime(const runtime_options& opts);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// The one way in for operations (the HTTP edge, the start-up pipeline).
  const proto::gateway& gateway() const;

  /// SIGQUIT: refuses new builds (503 draining), lets queued and running ones finish. The
  /// answer is true once everything finished, false when `timeout` passed first. Never blocks:
  /// a SIGTERM during the drain stops the node without waiting for it.
  std::future<bool> start_drain(std::chrono::milliseconds timeout);

  /// SIGTERM/SIGINT, or the end of a drain: nothing more is dispatched (pending builds stay
  /// pending: with a store they run after the restart), then every running build is cancelled
  /// and the call waits until each has recorded it (bounded by the grace period and a margin).
  /// Returns how many builds were cancelled.
  int stop_builds();

  /// Writes `ops` through the store writer and waits until they are durable (at most 10 s): what
  /// the node itself keeps outside any actor's state. False when the store failed.
  bool write(persistence::batch ops);

  /// The actor system (a server with `--run-worker` and Kafka runs its worker in it).
  caf::actor_system& system();

  // ---- cluster mode: what the cluster manager drives (blocking; never from a CAF thread)

  /// Partition k is restored into the store: its pipelines come back (running builds adopted,
  /// pending ones held until all are back) and its notifications are sent from here. Returns how
  /// many pipelines came back.
  int gain(int k);
  /// Partition k leaves this node: its pipelines stop here without cancelling anything, the
  /// writes of k in flight are committed or refused (bounded by `timeout`), its notifications
  /// stop. False when the writer did not drain in time.
  bool hand_off(int k, std::chrono::milliseconds timeout);
  /// A record of the cluster's input topic: a worker's message for a build of this node.
  void feed_input(const std::string& topic, const std::string& payload);
  /// A put to a `trigger` resource on some node (`broadcast_trigger`'s payload, read from the
  /// cluster's input topic): a version for the pipelines of partition k here that declare it.
  /// A payload that is not one is logged and changes nothing.
  void deliver_trigger(int k, const std::string& payload);
  /// A record of the global topic (already in the store): users, secrets, the catalog.
  void replicate(const std::string& key, const std::optional<std::string>& value);
  /// The node's GET /events hub: the cluster manager relays its events through the cluster.
  proto::event_hub_ptr events() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pikoci::node
