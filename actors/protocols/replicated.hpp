#pragma once
// Cluster mode: the records every node keeps from the global topic (user accounts, team and
// pipeline secrets, the pipeline catalog). The node's global tail applies each record to the
// local store first, then hands it to the registry, which owns the in-memory copies
// (server/replicated.hpp says which record changes which).

#include <optional>
#include <string>

#include "actors/protocols/type_ids.hpp"

namespace pikoci::proto {

/// What the registry takes from the global tail: a stored key and its new value, nullopt for a
/// deletion (a tombstone). Values come over Kafka: a malformed one is logged and changes nothing.
using replicated_input =
    caf::typed_actor<caf::reacts_to<replicated_atom, std::string, std::optional<std::string>>>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::optional<std::string>)
