#pragma once
// The store writer (one per node): the only writer of the store (persistence/store.hpp). While
// one batch is being written (synced, with RocksDB) on the writer's I/O thread, the writes that
// arrive are gathered into the next one (group commit); then every writer that waits for
// durability gets its answer. Writes are applied in the order they arrive, so an actor's writes
// never overtake each other. No CAF thread ever waits for the disk.
//
// When a batch fails (a full or read-only disk), its waiting writers get `false` and the writer
// tries the store again every second (persistence::store::recover); what nobody waited for is
// kept and written, in order, once the store takes writes again.

#include "actors/protocols/type_ids.hpp"
#include "persistence/store.hpp"

namespace pikoci::proto {

using store_writer_actor = caf::typed_actor<
    // durable before the reply: true, or false when the store failed (logged)
    caf::replies_to<write_atom, persistence::batch>::with<bool>,
    // with the next batch; nobody waits (progress that no one was told about yet)
    caf::reacts_to<put_atom, persistence::batch>,
    // internal: the I/O thread finished the batch in flight (ok, or not: the batch comes back)
    caf::reacts_to<flush_atom, bool, persistence::batch>,
    // internal: time to try a failed store again
    caf::reacts_to<tick_atom>>;

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::persistence::batch)
