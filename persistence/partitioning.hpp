#pragma once
// Cluster mode: which partition owns a pipeline, and where each stored key goes (the key layout
// is in keys.hpp). A pipeline lives in partition `partition_of(name, P)` of P; everything it
// stores travels in that partition's changelog, and only that partition's owner writes it. Keys
// every node must see (users, team secrets, the cluster's record, the pipeline catalog and
// pipeline secrets) go to the global topic; a few bookkeeping keys stay in the node's own store.

#include <cstdint>
#include <string_view>

#include "domain/cluster.hpp"
#include "persistence/store.hpp"

namespace pikoci::persistence {

using domain::cluster::max_partitions;

/// FNV-1a, 64 bits, of `bytes`. Our own, so the partition of a name never changes with a library:
/// changing it moves every stored pipeline.
std::uint64_t fnv1a64(std::string_view bytes);

/// The partition (0..P-1) of the pipeline `pipeline` (its UTF-8 name); -1 when `partitions` is
/// not in 1..max_partitions.
int partition_of(std::string_view pipeline, int partitions);

/// Where a write goes.
struct route {
  enum class kind {
    partition,  // the changelog of `partition`, written by its owner
    global,     // the global topic; `partition` is its writer: a pipeline's, or G (= P)
    local,      // this node's store only; `partition` is -1
    unknown,    // a key of no known layout: a bug, never written in cluster mode
  };
  kind k = kind::unknown;
  int partition = -1;
};

/// The route of `op` among `partitions` (1..max_partitions): by its `scope` when set (the
/// pipeline's partition), else by the key's tag and first name component.
route route_of(const write_op& op, int partitions);

}  // namespace pikoci::persistence
