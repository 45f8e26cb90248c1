#include "persistence/store.hpp"

#include <map>
#include <mutex>
#include <shared_mutex>

#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <nlohmann/json.hpp>

#include "config/pipeline/utf8.hpp"
#include "persistence/keys.hpp"

namespace pikoci::persistence {
namespace {

namespace fs = std::filesystem;

/// Format 1 → 2: a build record was one JSON object with its steps inside; format 2 stores it as
/// two lines, the summary (everything but steps and hooks) and {"steps": ..., "hooks": ...}, so
/// a restart parses summaries only (actors/model/build.hpp).
batch split_build_records(const store& s) {
  batch ops;
  s.scan(keys::prefix({"build"}), [&](std::string_view key, std::string_view value) {
    if (value.find('\n') != std::string_view::npos) return;  // already two lines
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (!j.is_object()) return;  // unreadable: left as it is, the job reports and skips it
    nlohmann::json steps{{"steps", j.value("steps", nlohmann::json::array())},
                         {"hooks", j.value("hooks", nlohmann::json::array())}};
    j.erase("steps");
    j.erase("hooks");
    ops.push_back({std::string(key), hcl::to_json_text(j) + "\n" + hcl::to_json_text(steps)});
  });
  return ops;
}

/// Migrations of older formats: entry k turns a format-k store into format k+1 (the returned
/// batch is written together with the new format number). Format 1 is the first one.
const std::map<int, std::function<batch(const store&)>> migrations = {{1, split_build_records}};

/// The first key after every key starting with `prefix` (keys::prefix ends with a NUL byte, so
/// incrementing the last byte never overflows).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

rocksdb::Options db_options() {
  rocksdb::Options o;
  o.IncreaseParallelism(2);
  o.paranoid_checks = true;
  // bounds what a restart after a crash replays from the write-ahead log (default 64 MiB)
  o.write_buffer_size = 8 << 20;
  return o;
}

std::unique_ptr<rocksdb::DB> open_db(const fs::path& dir, bool create) {
  auto o = db_options();
  o.create_if_missing = create;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, dir.string(), &raw);
  if (s.ok()) return std::unique_ptr<rocksdb::DB>(raw);
  std::string why = s.ToString();
  if (s.IsIOError() && why.find("lock") != std::string::npos)
    throw store_error("store " + dir.string() +
                      " is in use by another process (its LOCK is held): " + why);
  if (s.IsCorruption()) throw store_error("store " + dir.string() + " is corrupt: " + why);
  throw store_error("cannot open store " + dir.string() + ": " + why);
}

/// Writes `ops` into a fresh RocksDB directory.
void write_fresh(const fs::path& dir, const std::function<void(rocksdb::WriteBatch&)>& fill) {
  std::error_code ec;
  if (fs::exists(dir, ec)) throw store_error("export target " + dir.string() + " already exists");
  auto db = open_db(dir, true);
  rocksdb::WriteBatch wb;
  fill(wb);
  rocksdb::WriteOptions w;
  w.sync = true;
  auto s = db->Write(w, &wb);
  if (!s.ok()) throw store_error("export to " + dir.string() + ": " + s.ToString());
  s = db->Close();
  if (!s.ok()) throw store_error("export to " + dir.string() + ": " + s.ToString());
}

class memory_store final : public store {
 public:
  const char* kind() const override { return "mem"; }

  void write(const batch& ops) override {
    std::unique_lock<std::shared_mutex> l(mu_);
    for (const auto& op : ops) {
      if (op.whole_prefix) {
        auto it = data_.lower_bound(op.key);
        while (it != data_.end() && it->first.compare(0, op.key.size(), op.key) == 0)
          it = data_.erase(it);
      } else if (op.value) {
        data_[op.key] = *op.value;
      } else {
        data_.erase(op.key);
      }
    }
  }

  void scan(std::string_view prefix,
            const std::function<void(std::string_view, std::string_view)>& fn) const override {
    std::shared_lock<std::shared_mutex> l(mu_);
    for (auto it = data_.lower_bound(std::string(prefix));
         it != data_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix; ++it)
      fn(it->first, it->second);
  }

  std::optional<std::string> get(std::string_view key) const override {
    std::shared_lock<std::shared_mutex> l(mu_);
    auto it = data_.find(std::string(key));
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }

  void export_to(const fs::path& dir) const override {
    std::shared_lock<std::shared_mutex> l(mu_);  // one consistent state
    write_fresh(dir, [&](rocksdb::WriteBatch& wb) {
      for (const auto& [k, v] : data_) wb.Put(k, v);
    });
  }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string> data_;
};

class rocksdb_store final : public store {
 public:
  rocksdb_store(fs::path dir, std::unique_ptr<rocksdb::DB> db)
      : dir_(std::move(dir)), db_(std::move(db)) {}
  ~rocksdb_store() override {
    if (db_) db_->Close();
  }

  const char* kind() const override { return "rocksdb"; }

  void write(const batch& ops) override {
    rocksdb::WriteBatch wb;
    for (const auto& op : ops) {
      if (op.whole_prefix)
        wb.DeleteRange(op.key, prefix_end(op.key));
      else if (op.value)
        wb.Put(op.key, *op.value);
      else
        wb.Delete(op.key);
    }
    rocksdb::WriteOptions w;
    w.sync = true;
    auto s = db_->Write(w, &wb);
    if (!s.ok()) throw store_error("store " + dir_.string() + ": write failed: " + s.ToString());
  }

  void scan(std::string_view prefix,
            const std::function<void(std::string_view, std::string_view)>& fn) const override {
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    rocksdb::Slice p(prefix.data(), prefix.size());
    for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next())
      fn(std::string_view(it->key().data(), it->key().size()),
         std::string_view(it->value().data(), it->value().size()));
    if (!it->status().ok())
      throw store_error("store " + dir_.string() + ": read failed: " + it->status().ToString());
  }

  std::optional<std::string> get(std::string_view key) const override {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) throw store_error("store " + dir_.string() + ": read failed: " + s.ToString());
    return value;
  }

  void export_to(const fs::path& dir) const override {
    std::error_code ec;
    if (fs::exists(dir, ec)) throw store_error("export target " + dir.string() + " already exists");
    rocksdb::Checkpoint* raw = nullptr;
    auto s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    if (s.ok()) s = cp->CreateCheckpoint(dir.string());
    if (!s.ok()) throw store_error("export to " + dir.string() + ": " + s.ToString());
  }

 private:
  fs::path dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

/// Checks the format of an opened store: writes it into a new one, migrates an older one,
/// refuses a newer one or one that holds data but no format (not ours).
void check_format(store& s, const fs::path& dir) {
  auto stored = s.get(keys::format());
  if (!stored) {
    bool empty = true;
    s.scan("", [&](std::string_view, std::string_view) { empty = false; });
    if (!empty)
      throw store_error("store " + dir.string() +
                        " holds data but no format version: not a pikoci-node store");
    s.write({{keys::format(), std::to_string(format_version)}});
    return;
  }
  int version = 0;
  try {
    version = std::stoi(*stored);
  } catch (const std::exception&) {
    throw store_error("store " + dir.string() + " has an unreadable format version \"" + *stored +
                      "\"");
  }
  if (version > format_version)
    throw store_error("store " + dir.string() + " was written in format " +
                      std::to_string(version) + " by a newer pikoci-node; this one reads up to " +
                      std::to_string(format_version));
  for (int v = version; v < format_version; ++v) {
    auto m = migrations.find(v);
    if (m == migrations.end())
      throw store_error("store " + dir.string() + ": no migration from format " +
                        std::to_string(v));
    auto ops = m->second(s);
    ops.push_back({keys::format(), std::to_string(v + 1)});
    s.write(ops);
  }
}

}  // namespace

std::unique_ptr<store> open_memory_store() {
  auto s = std::make_unique<memory_store>();
  s->write({{keys::format(), std::to_string(format_version)}});
  return s;
}

std::unique_ptr<store> open_rocksdb_store(const fs::path& dir) {
  std::error_code ec;
  auto st = fs::status(dir, ec);
  bool create = false;
  if (!fs::exists(st)) {
    create = true;
  } else if (!fs::is_directory(st)) {
    throw store_error("store path " + dir.string() + " is not a directory");
  } else if (fs::is_empty(dir, ec)) {
    create = true;
  } else if (!fs::exists(dir / "CURRENT", ec)) {
    throw store_error("store path " + dir.string() +
                      " is a non-empty directory without a RocksDB store; refusing to write there");
  }
  auto s = std::make_unique<rocksdb_store>(dir, open_db(dir, create));
  check_format(*s, dir);
  return s;
}

}  // namespace pikoci::persistence
