#pragma once
// Cluster mode: a record of the global topic (actors/protocols/replicated.hpp) applied to the
// node's in-memory copies. Plain code, called by the registry, which owns the secret store; the
// user store and the catalog are thread-safe and shared with the HTTP edge.

#include <optional>
#include <string>
#include <string_view>

#include "actors/server/secret_store.hpp"
#include "auth/auth.hpp"
#include "domain/cluster.hpp"

namespace pikoci::server {

/// The in-memory copies a replicated record may change; a null one is left alone.
struct replicated_targets {
  auth::user_store* users = nullptr;
  secret_store* secrets = nullptr;
  domain::cluster::catalog* catalog = nullptr;
};

/// Where a replicated record went, by its key.
enum class replicated_kind {
  user,     // user/<name>
  secret,   // secret/team/<name>, secret/pipeline/<p>/<name>
  catalog,  // catalog/<p>
  none,     // a key kept only in the store (the cluster's record), or of no known layout
};

struct replicated_result {
  replicated_kind kind = replicated_kind::none;
  bool changed = false;  // false: a malformed value, or a deletion of nothing held here
  std::string error;     // why a value was refused (safe to log: never quotes the value)
};

/// Applies `key` = `value` (nullopt: deleted) to the copy its key names. Never throws.
replicated_result apply_replicated(std::string_view key, const std::optional<std::string>& value,
                                   const replicated_targets& to);

}  // namespace pikoci::server
