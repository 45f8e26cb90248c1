#include "persistence/store.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
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

/// RocksDB's own log, into the node's log (warnings and errors only) instead of a LOG file in the
/// store: RocksDB's LOG writer aborts the process on a write after a full disk, and an open that
/// refuses a store must not create or rotate files in it. While `capture` is set, the lines are
/// also kept, so a refusal can name the damaged file.
class rocksdb_log final : public rocksdb::Logger {
 public:
  rocksdb_log() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < rocksdb::InfoLogLevel::WARN_LEVEL) return;
    char line[2048];
    std::vsnprintf(line, sizeof line, format, ap);
    // RocksDB warns about harmless things too (a new store's missing directory): errors only
    // are warnings here
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL)
      spdlog::warn("event=store.rocksdb message=\"{}\"", line);
    else
      spdlog::info("event=store.rocksdb message=\"{}\"", line);
    std::lock_guard<std::mutex> l(mu_);
    if (capture_) lines_.emplace_back(line);
  }
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void start_capture() {
    std::lock_guard<std::mutex> l(mu_);
    capture_ = true;
    lines_.clear();
  }
  std::vector<std::string> stop_capture() {
    std::lock_guard<std::mutex> l(mu_);
    capture_ = false;
    return std::move(lines_);
  }

 private:
  std::mutex mu_;
  bool capture_ = false;
  std::vector<std::string> lines_;
};

/// Whether the store takes writes, shared by the store and RocksDB's background-error listener.
struct health {
  mutable std::mutex mu;
  store_status now;
  void down(const std::string& why) {
    std::lock_guard<std::mutex> l(mu);
    if (now.available)
      spdlog::error(
          "event=store.unavailable reason=\"{}\" (writes are refused until they succeed "
          "again)",
          why);
    now = {false, why};
  }
  void up() {
    std::lock_guard<std::mutex> l(mu);
    if (!now.available) spdlog::info("event=store.available previous_reason=\"{}\"", now.reason);
    now = {};
  }
  store_status get() const {
    std::lock_guard<std::mutex> l(mu);
    return now;
  }
};

/// A flush or compaction that fails (full disk) puts RocksDB in read-only mode even when no
/// write of ours failed yet: the store reports it at once.
class error_listener final : public rocksdb::EventListener {
 public:
  explicit error_listener(std::shared_ptr<health> h) : h_(std::move(h)) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    if (error != nullptr && !error->ok()) h_->down(error->ToString());
  }

 private:
  std::shared_ptr<health> h_;
};

rocksdb::Options db_options(std::shared_ptr<rocksdb_log> log = nullptr,
                            std::shared_ptr<health> h = nullptr) {
  rocksdb::Options o;
  o.IncreaseParallelism(2);
  o.paranoid_checks = true;
  // Acknowledged writes are synced: damage to the write-ahead log is loss, never a "torn tail"
  // to drop silently. Synced logs that are missing or of the wrong size are reported too.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  o.track_and_verify_wals_in_manifest = true;
  // bounds what a restart after a crash replays from the write-ahead log (default 64 MiB)
  o.write_buffer_size = 8 << 20;
  // No preallocated log space: a full disk shows at the next write, not megabytes later.
  o.allow_fallocate = false;
  o.info_log = log ? std::move(log) : std::make_shared<rocksdb_log>();
  if (h) o.listeners.push_back(std::make_shared<error_listener>(std::move(h)));
  return o;
}

/// Refuses a store another process has open (RocksDB's `LOCK`, an fcntl lock) without opening
/// it for writing: the checks below must not touch a store in use.
void check_not_locked(const fs::path& dir) {
  int fd = ::open((dir / "LOCK").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return;  // no LOCK file: nobody holds it
  struct flock f {};
  f.l_type = F_WRLCK;
  f.l_whence = SEEK_SET;
  bool held = ::fcntl(fd, F_GETLK, &f) == 0 && f.l_type != F_UNLCK;
  ::close(fd);
  if (held)
    throw store_error("store " + dir.string() +
                      " is in use by another process (its LOCK is held by pid " +
                      std::to_string(f.l_pid) + ")");
}

/// The newest write-ahead log the store had, in a file beside RocksDB's own: RocksDB cannot tell
/// a deleted newest log from one that never held anything. Written (synced) when the log
/// changes, which is at each open and after each 8 MiB of writes.
constexpr const char* wal_marker = "PIKOCI-WAL";

std::uint64_t current_wal(rocksdb::DB& db) {
  std::unique_ptr<rocksdb::LogFile> f;
  if (!db.GetCurrentWalFile(&f).ok() || !f) return 0;
  return f->LogNumber();
}

std::string wal_name(std::uint64_t n) {
  char name[32];
  std::snprintf(name, sizeof name, "%06llu.log", static_cast<unsigned long long>(n));
  return name;
}

/// Best effort: a marker that cannot be written only weakens the check at the next start.
void write_wal_marker(const fs::path& dir, std::uint64_t n) {
  auto tmp = dir / (std::string(wal_marker) + ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  auto text = std::to_string(n) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (ok) fs::rename(tmp, dir / wal_marker, ec);
  if (!ok || ec) {
    fs::remove(tmp, ec);
    return;
  }
  int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
}

/// "" when the write-ahead log the marker names, or a newer one, is there; else what is missing.
std::string check_wal_marker(const fs::path& dir) {
  std::ifstream in(dir / wal_marker);
  std::uint64_t marked = 0;
  if (!(in >> marked) || marked == 0) return {};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (e.path().extension() != ".log") continue;
    if (std::strtoull(name.c_str(), nullptr, 10) >= marked) return {};
  }
  return "the write-ahead log " + (dir / wal_name(marked)).string() +
         " (and any newer one) is missing";
}

/// Opens read-only (which writes nothing) with the strict checks, replays the write-ahead log
/// and reads every table file through its checksums. "" when the store is sound, else what is
/// wrong, naming the damaged file when RocksDB said which.
std::string verify_read_only(const fs::path& dir) {
  auto log = std::make_shared<rocksdb_log>();
  auto o = db_options(log);
  log->start_capture();
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(o, dir.string(), &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (s.ok()) s = db->VerifyChecksum();
  if (db) db->Close();
  auto lines = log->stop_capture();
  if (s.ok()) return {};
  std::string why = s.ToString();
  for (const auto& l : lines)
    if (l.find(".log") != std::string::npos || l.find(".sst") != std::string::npos ||
        l.find("MANIFEST") != std::string::npos)
      why += " [" + l + "]";
  return why;
}

std::unique_ptr<rocksdb::DB> open_db(const fs::path& dir, bool create,
                                     rocksdb::Options o = db_options()) {
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

  using store::write;
  void write(const batch& ops, bool) override {
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
  rocksdb_store(fs::path dir, std::unique_ptr<rocksdb::DB> db, std::shared_ptr<health> h)
      : dir_(std::move(dir)), db_(std::move(db)), health_(std::move(h)) {
    mark_wal();
  }
  ~rocksdb_store() override {
    if (db_) db_->Close();
  }

  const char* kind() const override { return "rocksdb"; }

  using store::write;
  void write(const batch& ops, bool sync) override {
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
    w.sync = sync;
    auto s = db_->Write(w, &wb);
    if (!s.ok()) {
      health_->down(s.ToString());
      throw store_error("store " + dir_.string() + ": write failed: " + s.ToString());
    }
    if (!health_->get().available) health_->up();  // RocksDB recovered on its own
    mark_wal();
  }

  store_status status() const override { return health_->get(); }

  bool recover() override {
    // Busy while RocksDB's own recovery (from a full disk) runs; OK when nothing is left to do.
    auto s = db_->Resume();
    if (s.ok()) {
      rocksdb::WriteOptions w;
      w.sync = true;
      s = db_->Put(w, keys::format(), std::to_string(format_version));  // a synced probe
    }
    if (!s.ok()) {
      if (!s.IsBusy()) health_->down(s.ToString());
      return false;
    }
    health_->up();
    return true;
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
  /// Keeps the marker of the newest write-ahead log up to date (writes only when it changed).
  void mark_wal() {
    auto n = current_wal(*db_);
    if (n == 0 || n == marked_wal_) return;
    write_wal_marker(dir_, n);
    marked_wal_ = n;
  }

  fs::path dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<health> health_;
  std::uint64_t marked_wal_ = 0;
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

/// What a store holds, for the report of a recovering open.
struct census {
  bool readable = false;
  std::size_t pipelines = 0, builds = 0;
  std::int64_t max_build_id = 0;
  std::map<std::string, std::int64_t> highest_number;  // "pipeline/job" → highest build number

  std::string text() const {
    if (!readable) return "unreadable";
    std::string out = "pipelines=" + std::to_string(pipelines) +
                      " builds=" + std::to_string(builds) +
                      " max_build_id=" + std::to_string(max_build_id);
    return out;
  }
};

census count(rocksdb::DB& db) {
  census c;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  auto pipeline = keys::prefix({"pipeline"}), build = keys::prefix({"build"});
  for (it->Seek(pipeline); it->Valid() && it->key().starts_with(pipeline); it->Next())
    ++c.pipelines;
  for (it->Seek(build); it->Valid() && it->key().starts_with(build); it->Next()) {
    ++c.builds;
    std::string_view key(it->key().data(), it->key().size());
    c.max_build_id = std::max<std::int64_t>(
        c.max_build_id, std::strtoll(std::string(keys::last(key)).c_str(), nullptr, 10));
    std::string_view value(it->value().data(), it->value().size());
    auto summary = nlohmann::json::parse(value.substr(0, value.find('\n')), nullptr, false);
    if (!summary.is_object()) continue;
    auto number = summary.value("number", std::string());
    auto job = summary.value("pipeline", std::string()) + "/" + summary.value("job", std::string());
    auto main = std::strtoll(number.substr(0, number.find('.')).c_str(), nullptr, 10);
    c.highest_number[job] = std::max<std::int64_t>(c.highest_number[job], main);
  }
  c.readable = it->status().ok();
  return c;
}

/// The census of a read-only view of `dir` replayed with `mode`.
census count_read_only(const fs::path& dir, rocksdb::WALRecoveryMode mode) {
  auto o = db_options();
  o.wal_recovery_mode = mode;
  o.track_and_verify_wals_in_manifest = false;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(o, dir.string(), &raw).ok()) return {};
  std::unique_ptr<rocksdb::DB> db(raw);
  auto c = count(*db);
  db->Close();
  return c;
}

/// `--recover-store`: opens a damaged store keeping every record that can still be read (WAL
/// records past the damage included; table files rebuilt by RocksDB's repair when one is
/// damaged), and logs what was there before, what is kept and what RocksDB dropped.
std::unique_ptr<rocksdb::DB> salvage(const fs::path& dir, const std::string& problem,
                                     const std::shared_ptr<health>& h) {
  spdlog::warn("event=store.recovering path={} problem=\"{}\"", dir.string(), problem);
  auto before = count_read_only(dir, rocksdb::WALRecoveryMode::kPointInTimeRecovery);
  auto log = std::make_shared<rocksdb_log>();
  auto o = db_options(log, h);
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  o.track_and_verify_wals_in_manifest = false;
  log->start_capture();
  bool repaired = false;
  {
    // a damaged table file (or MANIFEST) is still damaged when the log is read leniently
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::OpenForReadOnly(o, dir.string(), &raw);
    std::unique_ptr<rocksdb::DB> probe(raw);
    if (s.ok()) s = probe->VerifyChecksum();
    if (probe) probe->Close();
    if (!s.ok()) {
      probe.reset();
      s = rocksdb::RepairDB(dir.string(), o);
      if (!s.ok()) throw store_error("store " + dir.string() + ": repair failed: " + s.ToString());
      repaired = true;
    }
  }
  auto db = open_db(dir, false, o);
  auto after = count(*db);
  auto dropped = log->stop_capture();
  std::string numbers;
  for (const auto& [job, n] : after.highest_number)
    numbers += (numbers.empty() ? "" : ",") + job + "#" + std::to_string(n);
  spdlog::warn(
      "event=store.recovered path={} before=\"{}\" after=\"{}\" builds_dropped={} "
      "pipelines_dropped={} repaired_tables={} highest_numbers=\"{}\" rocksdb_reports={}",
      dir.string(), before.text(), after.text(),
      before.readable && before.builds > after.builds ? std::to_string(before.builds - after.builds)
                                                      : std::string("0"),
      before.readable && before.pipelines > after.pipelines
          ? std::to_string(before.pipelines - after.pipelines)
          : std::string("0"),
      repaired, numbers, dropped.size());
  for (const auto& line : dropped) spdlog::warn("event=store.recovery_detail message=\"{}\"", line);
  return db;
}

}  // namespace

std::unique_ptr<store> open_memory_store() {
  auto s = std::make_unique<memory_store>();
  s->write({{keys::format(), std::to_string(format_version)}});
  return s;
}

std::unique_ptr<store> open_rocksdb_store(const fs::path& dir, const open_options& opts) {
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
  auto h = std::make_shared<health>();
  std::unique_ptr<rocksdb::DB> db;
  if (create) {
    db = open_db(dir, true, db_options(nullptr, h));
  } else {
    // Everything is checked before the store is opened for writing: an open that replays the
    // log writes new files, so a refusal after it would have changed the store.
    check_not_locked(dir);
    auto problem = check_wal_marker(dir);
    if (problem.empty()) problem = verify_read_only(dir);
    if (!problem.empty() && !opts.recover)
      throw store_error("store " + dir.string() + " is damaged and was left unchanged: " + problem +
                        ". Acknowledged data may be lost; start once with --recover-store to keep "
                        "what can be read (it reports what was dropped), or restore a backup");
    db = problem.empty() ? open_db(dir, false, db_options(nullptr, h)) : salvage(dir, problem, h);
  }
  auto s = std::make_unique<rocksdb_store>(dir, std::move(db), h);
  check_format(*s, dir);
  return s;
}

}  // namespace pikoci::persistence
