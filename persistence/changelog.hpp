#pragma once
// The changelog of a pipeline partition (cluster mode, docs/cluster.md): the store writes of the
// partition as records of a compacted Kafka topic, and those records applied back to a store
// (a restore, a standby). No Kafka here: records are plain values, so the codec is unit-tested
// and fuzzed on its own.
//
// A compacted topic keeps the newest record of each key and has no range delete, so:
// - a whole-prefix delete becomes one tombstone per key it removes;
// - a value above `chunk_limit` is written as chunks at `chunk_key(key, i)` just before its main
//   record, which has an empty value and the header `c` = the number of chunks. When a value
//   shrinks or goes, tombstones remove the chunks it no longer has, so compaction leaves no
//   stale chunk behind. The local store always holds whole values, never chunks.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "persistence/store.hpp"

namespace pikoci::persistence::changelog {

/// Values longer than this are chunked (the topic takes messages up to 16 MiB; big messages
/// slow down every reader of the partition).
constexpr std::size_t chunk_limit = 900 * 1024;
/// The most chunks one value may have (about 900 MiB), and so the most an applier holds.
constexpr std::size_t max_chunks = 1024;
/// The header of a chunked value's main record: its number of chunks, in decimal.
constexpr const char* chunks_header = "c";

/// One record of the changelog topic: a store key and its value, or none (a tombstone).
struct record {
  std::string key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The key of chunk `i` of the value at `key`. No stored key has a component starting with
/// byte 1, so chunk keys never collide with store keys.
std::string chunk_key(std::string_view key, std::size_t i);

/// The records that reproduce `ops` on a store that holds what `s` holds. `s` must hold every
/// earlier write of the partition (whole-prefix deletes are expanded from it, and the sizes of
/// the values being replaced tell which chunks to remove); ops earlier in `ops` count too.
/// Throws store_error when `s` cannot be read.
std::vector<record> expand(const batch& ops, const store& s);

/// What one record means to an applier.
struct decoded {
  enum class kind { put, erase, chunk, chunk_erase, chunked_put };
  kind what = kind::put;
  std::string key;         // the store key (a chunk's value's key for chunks)
  std::size_t index = 0;   // chunk: its index; chunked_put: the number of chunks
  std::string_view value;  // put, chunk: the bytes (a view into the record)
};

/// Reads a record, or says why it is not one this node writes: a key that is empty, too long or
/// local to a node (meta/..., but for the partition's epoch), a malformed chunk key or count,
/// a value longer than `chunk_limit` (the writer chunks those), a tombstone with a count.
std::optional<decoded> decode(const record& r, std::string& error);

/// The ops that record "partition `k` is applied up to changelog `offset`, now": written with
/// every batch of the partition's state, so the store never holds state without its offset.
batch offset_ops(int k, std::int64_t offset);

/// The changelog offset applied to the store for partition `k` (-1 when never) and when it was
/// applied (ms since the epoch, 0 when never).
struct position {
  std::int64_t offset = -1;
  std::int64_t at_ms = 0;
};
position position_of(const store& s, int k);

/// Applies changelog records of partition `k` to a store, in batches of `batch_records`, each
/// written atomically with the offset up to which the store is complete (see `applied`). Errors
/// are values: the first record that does not decode, or a chunked value whose chunks did not
/// all come before it, stops the applier; what came before it can still be flushed.
class applier {
 public:
  applier(store& s, int k, std::size_t batch_records = 1000);

  /// Takes the record at `offset` (offsets ascend). Returns "" or the error that stops the
  /// applier (the same error for every later call). Throws store_error when a batch cannot be
  /// written.
  std::string add(const record& r, std::int64_t offset);
  /// Writes what is gathered, if anything changed. Throws store_error.
  void flush();
  /// The offset up to which the store is complete: the last record taken, or the one before the
  /// first chunk still waiting for its main record (a restart reads those chunks again). -1
  /// before anything was taken.
  std::int64_t applied() const;
  const std::string& error() const { return error_; }

 private:
  std::string take(const record& r, std::int64_t offset);

  /// The chunks of one value, waiting for its main record.
  struct pending_value {
    std::int64_t first_offset = 0;
    std::map<std::size_t, std::string> chunks;
  };
  void forget(std::string_view key);

  store& store_;
  int k_;
  std::size_t batch_records_;
  batch ops_;
  std::size_t taken_ = 0;      // records since the last write
  std::int64_t last_ = -1;     // offset of the last record taken
  std::int64_t written_ = -1;  // the offset written with the last batch
  std::map<std::string, pending_value, std::less<>> pending_;  // by value key
  std::size_t pending_bytes_ = 0;
  std::string error_;
};

/// Deletes, in one write, every record of the pipelines for which `in_partition` is true
/// (found by their documents, versions, usage and checks in `s`), their outbox messages, and
/// the changelog position of partition `k`: the restore of a partition whose local copy is too
/// old to catch up. Team and pipeline secrets, users and the catalog are not the partition's
/// (they come from the global topic) and stay. Throws store_error.
void wipe_partition(store& s, int k, const std::function<bool(std::string_view)>& in_partition);

}  // namespace pikoci::persistence::changelog
