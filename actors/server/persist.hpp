#pragma once
// How server actors write through to the store (persistence/keys.hpp has the layout). Without
// a store writer in the context (unit tests), writes are no-ops and acknowledged at once.

#include <nlohmann/json.hpp>

#include "actors/protocols/store.hpp"
#include "actors/server/context.hpp"

namespace pikoci::server {

inline persistence::write_op set_json(std::string key, const nlohmann::json& value) {
  return {std::move(key), value.dump(), false};
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

}  // namespace pikoci::server
