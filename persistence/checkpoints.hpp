#pragma once
// Checkpoints of a node's store (cluster mode, docs/cluster.md): consistent copies in
// `<db-path>/checkpoints/<UTC time>`, hard links to RocksDB's table files where the file system
// allows. Every batch of a partition's state is written with its changelog offset
// (changelog.hpp), so a checkpoint holds, for each partition, exactly the state up to the offset
// it records: a node started from one replays only the changelog after it.

#include <filesystem>
#include <optional>

#include "persistence/store.hpp"

namespace pikoci::persistence::checkpoints {

/// How many checkpoints `take` keeps.
constexpr int kept = 2;

/// Where the checkpoints of the store at `db_path` are.
std::filesystem::path directory(const std::filesystem::path& db_path);

/// Writes a checkpoint of `s` (opened at `db_path`) named by the current UTC time, then removes
/// all but the newest `kept` and what an interrupted checkpoint left. Returns its directory;
/// throws store_error (a checkpoint that failed leaves nothing behind).
std::filesystem::path take(const store& s, const std::filesystem::path& db_path);

/// The newest complete checkpoint of the store at `db_path`, if any: a directory that
/// `open_rocksdb_store` opens (copy it first to keep it as it is).
std::optional<std::filesystem::path> newest(const std::filesystem::path& db_path);

}  // namespace pikoci::persistence::checkpoints
