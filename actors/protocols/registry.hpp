#pragma once
// The registry (one per node): pipelines by name, and the entry point of every user operation.
// It loads pipeline text (parse + validate), spawns pipeline actors, hands each pipeline-scoped
// operation to its pipeline (refusing changes while the store takes no writes, and while the
// pipeline restarts) and answers node-wide ones (lists across pipelines, queue, workers).
//
// Cluster mode (`context::partition_count` > 0): an operation on one pipeline (and a write of the
// users or team secrets, partition G = P) runs only while its partition is `active` on this node.
// On a partition that is `restoring` or `moving` here it waits (in arrival order, at most
// `context::move_wait`, then 503 `partition_moving`); on one this node does not own it is
// answered `not_owner` with `details.partition` (the HTTP edge forwards it to the owner).

#include "actors/protocols/outbox.hpp"
#include "actors/protocols/pipeline.hpp"
#include "actors/protocols/replicated.hpp"
#include "auth/auth.hpp"

namespace pikoci::proto {

// ---- node-wide operations

/// GET /pipelines
struct list_pipelines {
  static constexpr const char* name = "list_pipelines";
  static constexpr bool writes = false;
};
/// PUT /pipelines/{p}: created the first time, done after.
struct set_pipeline {
  static constexpr const char* name = "set_pipeline";
  static constexpr bool writes = true;
  std::string pipeline;
  std::string config;                              // HCL text
  nlohmann::json vars = nlohmann::json::object();  // typed values of `variable` blocks
};
/// DELETE /pipelines/{p}: its jobs and checkers stop, its stored state goes.
struct delete_pipeline {
  static constexpr const char* name = "delete_pipeline";
  static constexpr bool writes = true;
  std::string pipeline;
};
/// GET /queue
struct get_queue {
  static constexpr const char* name = "get_queue";
  static constexpr bool writes = false;
};
/// GET /workers
struct list_workers {
  static constexpr const char* name = "list_workers";
  static constexpr bool writes = false;
};
/// DELETE /workers/{name}: a stale worker leaves the list now (409 while it is alive).
struct forget_worker {
  static constexpr const char* name = "forget_worker";
  static constexpr bool writes = false;
  std::string worker;
};
/// GET /admin/export: the store as a RocksDB directory in a ustar archive.
struct export_store {
  static constexpr const char* name = "export_store";
  static constexpr bool writes = false;
};
/// GET /metrics: the node's figures in Prometheus text format (the HTTP edge adds its own).
struct get_metrics {
  static constexpr const char* name = "get_metrics";
  static constexpr bool writes = false;
};
/// GET /stats: dashboard figures (queue, workers, latency, throughput, contention).
struct get_stats {
  static constexpr const char* name = "get_stats";
  static constexpr bool writes = false;
};
/// GET /events: what changes from now on (builds, pipelines, jobs, resources), pushed to `sink`;
/// only `pipeline`'s events unless it is "" (404 when it names no pipeline). `last_event_id`: the
/// id of the last event a subscriber got before (a reconnect): `event_hub::subscribe`.
struct watch_events {
  static constexpr const char* name = "watch_events";
  static constexpr bool writes = false;
  event_sink_ptr sink;
  std::string pipeline;
  std::string last_event_id;
};
/// GET /dashboard: every pipeline with its jobs' summaries, and the queue's figures.
struct get_dashboard {
  static constexpr const char* name = "get_dashboard";
  static constexpr bool writes = false;
};
/// POST /validate: the pipeline text loaded as PUT /pipelines/{p} loads it, nothing set; with
/// `offline` http(s) sources are not fetched (noted instead).
struct validate_pipeline {
  static constexpr const char* name = "validate_pipeline";
  static constexpr bool writes = false;
  std::string pipeline;  // for messages and the file name of diagnostics
  std::string config;
  nlohmann::json vars = nlohmann::json::object();
  bool offline = false;
};

/// PUT /pipelines/{p}/secrets/{name} and PUT /secrets/{name} (`pipeline` ""): sets a secret of
/// the internal store (docs/secrets.md).
struct set_secret {
  static constexpr const char* name = "set_secret";
  static constexpr bool writes = true;
  std::string pipeline;  // "": team-wide
  std::string secret;
  std::string value;
};
/// DELETE /pipelines/{p}/secrets/{name} and DELETE /secrets/{name}
struct delete_secret {
  static constexpr const char* name = "delete_secret";
  static constexpr bool writes = true;
  std::string pipeline;
  std::string secret;
};
/// GET /pipelines/{p}/secrets and GET /secrets: names only, never values.
struct list_secrets {
  static constexpr const char* name = "list_secrets";
  static constexpr bool writes = false;
  std::string pipeline;
};
/// GET /workers/secrets/{p}/{name}, worker tokens only (and the embedded worker): the value a
/// build of `pipeline` resolves, `{"value": ...}`.
struct read_secret {
  static constexpr const char* name = "read_secret";
  static constexpr bool writes = false;
  std::string pipeline;
  std::string secret;
};

/// GET /users: every account, `{"users": [{"username", "role", "builtin", "created_at"}]}`
/// (created_at null for the built-in admin).
struct list_users {
  static constexpr const char* name = "list_users";
  static constexpr bool writes = false;
};
/// POST /users (docs/users.md); the edge has checked the password and hashed it.
struct create_user {
  static constexpr const char* name = "create_user";
  static constexpr bool writes = true;
  std::string username;
  domain::role role = domain::role::read;
  auth::password_hash password;
};
/// PUT /users/{name}: a new role, a new password, or both.
struct update_user {
  static constexpr const char* name = "update_user";
  static constexpr bool writes = true;
  std::string username;
  std::optional<domain::role> role;
  std::optional<auth::password_hash> password;
};
/// DELETE /users/{name}
struct delete_user {
  static constexpr const char* name = "delete_user";
  static constexpr bool writes = true;
  std::string username;
};

using node_operations =
    answers<list_pipelines, set_pipeline, delete_pipeline, get_queue, list_workers, forget_worker,
            export_store, get_metrics, get_stats, watch_events, set_secret, delete_secret,
            list_secrets, read_secret, list_users, create_user, update_user, delete_user,
            get_dashboard, validate_pipeline>;

using registry_actor = caf::typed_actor<
    // the server is stopping (SIGTERM): cancel running builds; replies how many
    // were cancelled
    caf::replies_to<shutdown_atom>::with<int>,
    // start-up from a store: every stored pipeline back (its text loaded again);
    // replies how many pipelines were restored
    caf::replies_to<restore_atom, std::vector<persistence::stored_pipeline>>::with<int>,
    // cluster: a gained partition's pipelines, restored while the node runs; their builds are
    // held in the queue until all of them are back (serial order, adopted running builds)
    caf::replies_to<gain_atom, std::vector<persistence::stored_pipeline>>::with<int>,
    // cluster: these pipelines move to another node; nothing is cancelled or written; replies
    // how many were handed off, once their actors are gone
    caf::replies_to<handoff_atom, std::vector<std::string> /*pipelines*/>::with<int>,
    // cluster: every pipeline of partition k here moves to another node (as above)
    caf::replies_to<handoff_atom, int /*partition*/>::with<int>,
    // cluster: its own timer, while operations wait for their partition to become active here
    caf::reacts_to<tick_atom>>::
    extend_with<node_operations>::extend_with<pipeline_operations>::extend_with<job_operations>::
    extend_with<outbox_operations>::extend_with<replicated_input>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_pipelines)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::set_pipeline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::delete_pipeline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_queue)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_workers)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::forget_worker)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::export_store)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_metrics)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::watch_events)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::get_dashboard)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::validate_pipeline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::set_secret)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::delete_secret)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_secrets)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::read_secret)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_users)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::create_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::update_user)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::delete_user)
