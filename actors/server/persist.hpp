#pragma once
// How server actors write through to the store (persistence/keys.hpp has the layout). Without
// a store writer in the context (unit tests), writes are no-ops and acknowledged at once.

#include <nlohmann/json.hpp>

#include "actors/protocols/store.hpp"
#include "actors/server/context.hpp"
#include "config/pipeline/utf8.hpp"
#include "persistence/keys.hpp"

namespace pikoci::server {

inline persistence::write_op set_json(std::string key, const nlohmann::json& value) {
  return {std::move(key), hcl::to_json_text(value), false};
}
inline persistence::write_op erase_key(std::string key) {
  return {std::move(key), std::nullopt, false};
}
inline persistence::write_op erase_prefix(std::string prefix) {
  return {std::move(prefix), std::nullopt, true};
}

/// Written with the next group commit; nobody waits.
template <class Self>
void put(Self* self, const context& ctx, persistence::batch ops) {
  if (ctx.store) self->send(ctx.store, proto::put_atom::value, std::move(ops));
}

/// Written and synced, then `done(true)`; `done(false)` when the store failed.
template <class Self, class Done>
void write_then(Self* self, const context& ctx, persistence::batch ops, Done done) {
  if (!ctx.store) {
    done(true);
    return;
  }
  self->request(ctx.store, caf::infinite, proto::write_atom::value, std::move(ops))
      .then([done](bool ok) mutable { done(ok); }, [done](caf::error&) mutable { done(false); });
}

/// The stored record of a notification message (`outbox/<id>`), or its deletion when
/// `record` is false. Its key names no pipeline: the scope says whose partition owns it.
inline persistence::write_op outbox_op(const model::notification_message& m, bool record = true) {
  return {persistence::keys::outbox(m.id), record ? std::optional(m.to_record()) : std::nullopt,
          false, m.pipeline};
}

/// Messages that count from now on (docs/notifications.md): handed to the store writer first,
/// then to the outbox, so whatever this actor writes after them is stored no earlier than them.
/// Without an outbox (unit tests) nothing happens.
template <class Self>
void enqueue_notifications(Self* self, const context& ctx,
                           std::vector<model::notification_message> messages) {
  if (!ctx.outbox || messages.empty()) return;
  persistence::batch ops;
  for (const auto& m : messages) ops.push_back(outbox_op(m));
  put(self, ctx, std::move(ops));
  self->send(ctx.outbox, proto::enqueue_atom::value, std::move(messages));
}

}  // namespace pikoci::server
