#pragma once
// The store (SPEC §8): an ordered key-value map that the server's actors write through and that
// a restarting node reads back. Two implementations behind one interface: memory (`--db-system
// mem`, lost at exit) and RocksDB (`--db-system rocksdb`, writes synced unless the writer asks
// otherwise: cluster mode, whose changelog is the durable copy). Keys and record formats are in
// keys.hpp; only the store writer actor writes, so writes are ordered.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pikoci::persistence {

/// The record format this build writes (key `meta` `format`). A store written by a newer format
/// is refused; an older one is migrated on open (see `migrations` in store.cpp).
constexpr int format_version = 2;

/// One change: `value` set, or the key deleted when there is none; with `whole_prefix`, every
/// key starting with `key` deleted.
struct write_op {
  std::string key;
  std::optional<std::string> value;
  bool whole_prefix = false;
  /// Cluster mode: the pipeline whose partition owns the op, for keys that name none
  /// (`outbox/<id>`); "" = the key says (partitioning.hpp `route_of`). Not stored.
  std::string scope{};
};
using batch = std::vector<write_op>;

/// Why a store cannot be opened or written; the message names the path and the cause.
struct store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Whether the store takes writes. A full or read-only disk makes writes fail; the store then
/// reports `available = false` with the cause until a write succeeds again (see `recover`).
struct store_status {
  bool available = true;
  std::string reason;  // the last write error while unavailable; "" when available
};

class store {
 public:
  virtual ~store() = default;
  /// "mem" or "rocksdb".
  virtual const char* kind() const = 0;
  /// Applies `ops` atomically, synced to disk when the store is durable. Throws store_error.
  void write(const batch& ops) { write(ops, true); }
  /// The same; with `sync` false a durable store may lose the batch in an OS crash or power
  /// loss (never in a process crash) but keeps batches whole and in order. Cluster mode writes
  /// so when the changelog already holds the batch. Throws store_error.
  virtual void write(const batch& ops, bool sync) = 0;
  /// Calls `fn` for every key starting with `prefix`, in key order.
  virtual void scan(
      std::string_view prefix,
      const std::function<void(std::string_view key, std::string_view value)>& fn) const = 0;
  virtual std::optional<std::string> get(std::string_view key) const = 0;
  /// Writes a consistent copy of everything as a RocksDB directory `dir` (it must not exist)
  /// that `--db-system rocksdb --db-path dir` starts from. Throws store_error.
  virtual void export_to(const std::filesystem::path& dir) const = 0;
  /// Takes writes now, or why not. Safe from any thread.
  virtual store_status status() const { return {}; }
  /// After a failed write: tries to take writes again (RocksDB: `DB::Resume()`, then a synced
  /// probe write). True when the store is available again. Called by the store writer only.
  virtual bool recover() { return true; }
};

std::unique_ptr<store> open_memory_store();

struct open_options {
  /// `--recover-store`: a damaged store is opened anyway, keeping every record that can still be
  /// read; what was there before, what is kept and what RocksDB dropped are logged
  /// (`event=store.recovered`).
  bool recover = false;
};

/// Opens the RocksDB store at `dir`, creating it when `dir` does not exist or is empty. Refuses
/// (store_error, nothing written) a path that is a file, a non-empty directory that is not a
/// store, a store locked by another process, a damaged one (a write-ahead log or table file
/// that fails its checks, named in the message; unless `opts.recover`), or one of a newer format.
std::unique_ptr<store> open_rocksdb_store(const std::filesystem::path& dir,
                                          const open_options& opts = {});

}  // namespace pikoci::persistence
