#pragma once
// Spawns the notification outbox (protocol: actors/protocols/outbox.hpp). The messages the store
// holds (pending and failed) are read before it is spawned, at start-up.

#include <memory>

#include "actors/protocols/outbox.hpp"
#include "actors/protocols/store.hpp"
#include "domain/metrics.hpp"

namespace pikoci::server {

/// Sends one message (blocking, on a sender's own thread): a POST of its body with
/// `Content-Type: application/json`, `X-PikoCI-Delivery: <id>` and `Idempotency-Key: <id>`.
proto::delivery_attempt send_notification(const model::notification_message& m,
                                          std::chrono::milliseconds timeout);

/// The stored messages of the outbox (unreadable records are logged and skipped).
std::vector<model::notification_message> load_outbox(const persistence::store& db);

/// `store` may be empty (unit tests): nothing is written. `restored` are the messages
/// `load_outbox` read; `figures` are kept up to date.
proto::outbox_actor spawn_outbox(caf::actor_system& sys, proto::outbox_options opts,
                                 proto::store_writer_actor store,
                                 std::vector<model::notification_message> restored,
                                 proto::outbox_figures_ptr figures);

/// Adds the outbox's figures: pikoci_notifications_total{status}, the attempts and the outbox
/// depth by status.
void outbox_metrics(const proto::outbox_figures& f, domain::metrics& out);

}  // namespace pikoci::server
