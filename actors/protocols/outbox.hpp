#pragma once
// The notification outbox (one per node, docs/notifications.md): every notification message
// (actors/model/notification.hpp) from the moment it is recorded until it is delivered or gives
// up. Messages are stored (persistence/keys.hpp `outbox/<id>`) before they count, sent by a few
// detached senders (libcurl, 10 s limit each) as HTTP POSTs carrying their stable id, retried
// with exponential backoff and full jitter up to a limit, and loaded again after a restart.

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "actors/model/notification.hpp"
#include "actors/protocols/operation.hpp"
#include "actors/protocols/type_ids.hpp"

namespace pikoci::proto {

using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

/// What one attempt of a sender gave: a 2xx (`ok`), another status, or a transport error.
struct delivery_attempt {
  std::string id;
  bool ok = false;
  long status = 0;
  std::string error;
};

/// GET /notifications?status=pending,failed&limit=50: newest first.
struct list_notifications {
  static constexpr const char* name = "list_notifications";
  static constexpr bool writes = false;
  std::set<std::string> statuses;  // pending, delivered, failed; empty: all
  std::size_t limit = 50;          // 0: all
};
/// POST /notifications/{id}/retry: a failed message is pending again, its attempts from zero.
struct retry_notification {
  static constexpr const char* name = "retry_notification";
  static constexpr bool writes = true;
  std::string id;
};

using outbox_operations = answers<list_notifications, retry_notification>;

using outbox_actor = caf::typed_actor<
    // messages their sender already handed to the store writer (a job: in the same batch as the
    // build's final status, or with a notify step's record): they are sent from now on; ids the
    // outbox already has are ignored
    caf::reacts_to<enqueue_atom, std::vector<model::notification_message>>,
    // cluster mode: partition k came to this node; of the stored messages (`load_outbox`), the
    // ones of k's pipelines are sent from now on, as after a restart
    caf::reacts_to<gain_atom, int, std::vector<model::notification_message>>,
    // cluster mode: partition k left this node; its pending and failed messages are forgotten
    // here but stay stored, for its new owner to send (a message in flight may be sent by both)
    caf::reacts_to<drop_atom, int>,
    // internal: the earliest pending message may be due
    caf::reacts_to<tick_atom>>::extend_with<outbox_operations>;

/// The outbox's figures for GET /metrics, updated by the outbox and read by the registry
/// (`server::outbox_metrics` adds them to the scrape).
struct outbox_figures {
  std::atomic<std::uint64_t> delivered{0}, failed{0}, retried{0}, attempts{0};
  std::atomic<std::uint64_t> pending_now{0}, failed_now{0};
};
using outbox_figures_ptr = std::shared_ptr<outbox_figures>;

/// Settings of the outbox (server flags `--notify-max-attempts`, `--notify-backoff-base`).
struct outbox_options {
  int max_attempts = 10;
  model::backoff_policy backoff;
  std::chrono::milliseconds timeout{10000};  // per attempt, connection included
  int senders = 4;                           // attempts in flight at once
  std::size_t keep_delivered = 1000;         // delivered messages the API still lists
  /// Cluster mode: the number of pipeline partitions P, by which `gain` and `drop` pick a
  /// partition's messages (persistence::partition_of of their pipeline); 0 in single mode.
  int partitions = 0;
};

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::model::notification_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<pikoci::model::notification_message>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::delivery_attempt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::list_notifications)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::retry_notification)
