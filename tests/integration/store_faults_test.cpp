// The RocksDB store when the disk fails it (through the real binary; mounting needs root):
// a full disk refuses new work with 503 store_unavailable while reads go on, and the
// node recovers by itself once writes succeed again; a damaged write-ahead log or table file
// makes the node refuse to start without touching the store, and `--recover-store` starts from
// what can still be read, reporting what was dropped, without giving a build number again.
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A small tmpfs mounted on a fresh directory, unmounted (lazily) at the end.
class tmpfs_mount {
 public:
  explicit tmpfs_mount(const std::string& size) {
    fs::create_directories(dir_.file("mnt"));
    path_ = dir_.file("mnt");
    std::string opts = "size=" + size;
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) != 0)
      throw std::runtime_error("mount tmpfs on " + path_ + ": " + std::strerror(errno));
  }
  ~tmpfs_mount() { ::umount2(path_.c_str(), MNT_DETACH); }
  const std::string& path() const { return path_; }
  /// Fills the file system with `name` until nothing more fits.
  void fill(const std::string& name) const {
    int fd = ::open((path_ + "/" + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    std::string chunk(1 << 20, 'f');
    for (std::size_t size = chunk.size(); size > 0; size /= 2)
      while (::write(fd, chunk.data(), size) == static_cast<ssize_t>(size)) {
      }
    ::close(fd);
  }

 private:
  temp_dir dir_;
  std::string path_;
};

/// A small ext4 file system in an image file, loop-mounted with errors=remount-ro, so that an
/// error makes the kernel turn it read-only under the open store (a remount cannot: it is refused
/// while files are open for writing). Unmounted (lazily) at the end.
class ext4_mount {
 public:
  ext4_mount() {
    auto image = dir_.file("disk.img");
    fs::create_directories(dir_.file("mnt"));
    path_ = dir_.file("mnt");
    std::ofstream(image).close();
    fs::resize_file(image, 64 << 20);
    auto mk = run_command({"mkfs.ext4", "-q", "-F", image});
    if (mk.exit_code != 0) throw std::runtime_error("mkfs.ext4: " + mk.output);
    auto m = run_command({"mount", "-o", "loop,errors=remount-ro", image, path_});
    if (m.exit_code != 0) throw std::runtime_error("mount: " + m.output);
  }
  ~ext4_mount() { ::umount2(path_.c_str(), MNT_DETACH); }
  const std::string& path() const { return path_; }
  /// Makes ext4 report an error: the kernel remounts the file system read-only for good.
  void fail() const {
    std::ifstream mounts("/proc/mounts");
    std::string dev, point, rest;
    while (mounts >> dev >> point && std::getline(mounts, rest))
      if (point == path_) {
        std::ofstream("/sys/fs/ext4/" + fs::path(dev).filename().string() + "/trigger_fs_error")
            << "1";
        return;
      }
    throw std::runtime_error(path_ + " is not mounted");
  }

 private:
  temp_dir dir_;
  std::string path_;
};

std::vector<std::string> rocksdb_args(const std::string& db) {
  return {"--db-system", "rocksdb", "--db-path", db};
}

const char* quick_job = R"(
job "j" {
  task "t" {
    run "shell" {
      cmd = "echo built"
    }
  }
}
)";

http_response trigger_raw(runtime_node& node) {
  return node.post("/pipelines/p/jobs/j/trigger");
}

/// Triggers until one is refused (the first write after the disk filled may be the one that
/// finds out); returns the refusal. Acknowledged numbers are added to `acked`.
http_response trigger_until_refused(runtime_node& node, std::set<std::string>& acked) {
  http_response r;
  for (int i = 0; i < 50; ++i) {
    r = trigger_raw(node);
    if (r.status != 201) return r;
    acked.insert(r.json()["build"]["number"].get<std::string>());
  }
  return r;
}

/// The refusal, reads, /health and /metrics while the store takes no writes.
void check_unavailable(runtime_node& node, const http_response& refused) {
  CHECK_MESSAGE(refused.status == 503, refused.body, "\n", node.tail());
  CHECK(refused.json()["error"]["code"] == "store_unavailable");
  CHECK(refused.headers.count("retry-after") == 1);
  // a second one is refused at once, and other changes too
  auto again = trigger_raw(node);
  CHECK(again.status == 503);
  CHECK(again.json()["error"]["code"] == "store_unavailable");
  CHECK(node.post("/pipelines/p/jobs/j/pause").status == 503);
  CHECK(node.put("/pipelines/q", config_body(quick_job)).status == 503);
  // reads go on
  CHECK(node.get("/pipelines/p").status == 200);
  CHECK(node.get("/pipelines/p/jobs/j/builds").status == 200);
  CHECK(node.get("/pipelines/p/jobs/j/builds/1").status == 200);
  auto health = http_get(node.server().url() + "/api/v1/health");
  CHECK(health.status == 200);
  CHECK(health.json()["status"] == "degraded");
  CHECK(health.json()["store"]["status"] == "unavailable");
  CHECK(health.json()["store"]["reason"].is_string());
  auto metrics = http_get(node.server().url() + "/metrics");
  CHECK(metrics.body.find("pikoci_store_available 0") != std::string::npos);
}

/// Waits until triggers are taken again (no restart), then checks health and metrics.
void check_recovers(runtime_node& node, std::set<std::string>& acked) {
  http_response r;
  bool back = eventually(
      [&] {
        r = trigger_raw(node);
        return r.status == 201;
      },
      30s);
  REQUIRE_MESSAGE(back, r.status, " ", r.body, "\n", node.tail());
  acked.insert(r.json()["build"]["number"].get<std::string>());
  auto health = http_get(node.server().url() + "/api/v1/health").json();
  CHECK(health["status"] == "ok");
  CHECK(health["store"]["status"] == "ok");
  CHECK(http_get(node.server().url() + "/metrics").body.find("pikoci_store_available 1") !=
        std::string::npos);
  CHECK(node.post("/pipelines/p/jobs/j/pause").status == 200);
  CHECK(node.post("/pipelines/p/jobs/j/unpause").status == 200);
}

/// After a restart on the same store every acknowledged build is there, finished.
void check_all_kept(const std::string& db, const std::set<std::string>& acked) {
  runtime_node node(rocksdb_args(db));
  for (const auto& n : acked) {
    auto r = node.get("/pipelines/p/jobs/j/builds/" + n);
    CHECK_MESSAGE(r.status == 200, "build ", n, " lost: ", r.body);
  }
  auto next = node.trigger("p", "j")["number"].get<std::string>();
  for (const auto& n : acked) CHECK_MESSAGE(std::stoi(next) > std::stoi(n), next, " reuses ", n);
}

/// ... and the slow build that ended while the disk was full is recorded as it ended.
void check_slow_recorded(const std::string& db) {
  runtime_node node(rocksdb_args(db));
  auto slow = node.build("p", "slow", "1");
  CHECK_MESSAGE(slow["status"] == "succeeded", slow.dump());
  CHECK(step_logs(slow, "t").find("slept") != std::string::npos);
}

// ---- store damage

/// A store with `count` finished builds of p/j whose records are still in the write-ahead log
/// only (the node is killed: nothing was flushed to table files). With `flushed`, the node is
/// started once more and stopped cleanly, so they are in a table file instead.
std::string store_with_builds(const temp_dir& dir, int count, bool flushed = false) {
  auto db = dir.file("db");
  {
    runtime_node node(rocksdb_args(db));
    // output makes each record large: the log spans several 32 KiB blocks
    node.set_pipeline("p", replace_all(quick_job, "echo built",
                                       "for i in $(seq 1 40); do echo line-$i-of-some-output; "
                                       "done"));
    for (int i = 0; i < count; ++i) node.trigger("p", "j");
    node.wait_builds("p", "j", static_cast<std::size_t>(count), 60s);
    node.server().process().stop(SIGKILL);
  }
  if (flushed) {
    runtime_node node(rocksdb_args(db));
    node.server().process().stop(SIGTERM);
  }
  return db;
}

/// Every file of the store with its size and content.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    out[e.path().filename().string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

/// The store's file with `extension` and the highest number (the newest log or table file).
fs::path newest(const std::string& dir, const std::string& extension) {
  fs::path best;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == extension && (best.empty() || e.path() > best)) best = e.path();
  REQUIRE_MESSAGE(!best.empty(), "no ", extension, " file in ", dir);
  return best;
}

void flip_bytes(const fs::path& file, std::uintmax_t offset, std::size_t n) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(n, '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(n));
  for (auto& c : bytes) c = static_cast<char>(~c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(n));
}

/// Starts a node on `db` and expects it to refuse: exit code 1 and its output.
command_result refuse_to_start(const std::string& db) {
  return run_command({node_binary(), "--role", "server", "--port", "0", "--jwt-secret",
                      "test-secret", "--db-system", "rocksdb", "--db-path", db},
                     30s);
}

}  // namespace

TEST_SUITE("store_faults") {
  TEST_CASE("a full disk: new work gets 503 store_unavailable, reads go on, recovery by itself") {
    tmpfs_mount disk("24m");
    auto db = disk.path() + "/db";
    std::set<std::string> acked;
    {
      runtime_node node(rocksdb_args(db));
      node.set_pipeline(
          "p", std::string(quick_job) + replace_all(replace_all(quick_job, "\"j\"", "\"slow\""),
                                                    "echo built", "sleep 2; echo slept"));
      for (int i = 0; i < 3; ++i) acked.insert(node.trigger("p", "j")["number"].get<std::string>());
      node.wait_builds("p", "j", 3);
      node.trigger("p", "slow");
      node.wait_started("p", "slow", "1");

      disk.fill("filler");
      auto refused = trigger_until_refused(node, acked);
      check_unavailable(node, refused);
      CHECK(node.server().process().output().find("event=store.unavailable") != std::string::npos);
      // a build that was running finishes meanwhile; its end is written after the recovery
      CHECK(node.wait_build("p", "slow", "1")["status"] == "succeeded");

      fs::remove(disk.path() + "/filler");
      check_recovers(node, acked);
      node.wait_builds("p", "j", acked.size(), 30s);
      CHECK(node.healthy());
      node.server().process().stop(SIGTERM);
    }
    check_all_kept(db, acked);
    check_slow_recorded(db);
  }

  TEST_CASE("a file system turned read-only: new work gets 503 store_unavailable, reads go on") {
    ext4_mount disk;
    auto db = disk.path() + "/db";
    std::set<std::string> acked;
    runtime_node node(rocksdb_args(db));
    node.set_pipeline("p", quick_job);
    for (int i = 0; i < 2; ++i) acked.insert(node.trigger("p", "j")["number"].get<std::string>());
    node.wait_builds("p", "j", 2);
    disk.fail();
    auto refused = trigger_until_refused(node, acked);
    check_unavailable(node, refused);
    CHECK(node.server().process().output().find("Read-only file system") != std::string::npos);
    // ext4 keeps it read-only until it is unmounted: the node stays up and keeps serving reads
    for (const auto& n : acked) CHECK(node.get("/pipelines/p/jobs/j/builds/" + n).status == 200);
    CHECK(node.server().process().stop(SIGTERM) == 0);
  }

  TEST_CASE("flipped bytes in the write-ahead log: refused, the file named, the store unchanged") {
    temp_dir dir;
    auto db = store_with_builds(dir, 40);
    auto wal = newest(db, ".log");
    flip_bytes(wal, fs::file_size(wal) / 2, 16);
    auto before = snapshot(db);
    auto r = refuse_to_start(db);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find(wal.filename().string()) != std::string::npos, r.output);
    CHECK(r.output.find("--recover-store") != std::string::npos);
    CHECK_MESSAGE(snapshot(db) == before, "the refused start changed the store");

    // --recover-store: starts from what can be read, says what it kept; numbers go on after 40
    auto args = rocksdb_args(db);
    args.push_back("--recover-store");
    {
      runtime_node node(args);
      auto out = node.server().process().output();
      std::smatch m;
      REQUIRE_MESSAGE(std::regex_search(out, m, std::regex("event=store.recovered [^\n]*")), out);
      CHECK(m.str().find("before=") != std::string::npos);
      CHECK(m.str().find("after=\"pipelines=1 builds=") != std::string::npos);
      CHECK(m.str().find("highest_numbers=\"p/j#40\"") != std::string::npos);
      auto next = node.trigger("p", "j")["number"].get<std::string>();
      CHECK_MESSAGE(std::stoi(next) > 40, "build number ", next, " given again");
      node.server().process().stop(SIGTERM);
    }
    // the recovered store is sound: a plain start takes it
    runtime_node again(rocksdb_args(db));
    CHECK(again.healthy());
  }

  TEST_CASE("a truncated write-ahead log: refused, the store unchanged") {
    temp_dir dir;
    auto db = store_with_builds(dir, 20);
    auto wal = newest(db, ".log");
    fs::resize_file(wal, fs::file_size(wal) - 100);
    auto before = snapshot(db);
    auto r = refuse_to_start(db);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find("damaged") != std::string::npos, r.output);
    CHECK_MESSAGE(snapshot(db) == before, "the refused start changed the store");
  }

  TEST_CASE("a deleted write-ahead log: refused, the file named, the store unchanged") {
    temp_dir dir;
    auto db = store_with_builds(dir, 10);
    auto wal = newest(db, ".log");
    for (const auto& e : fs::directory_iterator(db))
      if (e.path().extension() == ".log") fs::remove(e.path());
    auto before = snapshot(db);
    auto r = refuse_to_start(db);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find(wal.filename().string() + " (and any newer one) is missing") !=
                      std::string::npos,
                  r.output);
    CHECK_MESSAGE(snapshot(db) == before, "the refused start changed the store");
  }

  TEST_CASE("a damaged table file: refused, the file named, the store unchanged") {
    temp_dir dir;
    auto db = store_with_builds(dir, 20, true);
    auto sst = newest(db, ".sst");
    flip_bytes(sst, fs::file_size(sst) / 3, 16);
    auto before = snapshot(db);
    auto r = refuse_to_start(db);
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find(sst.filename().string()) != std::string::npos, r.output);
    CHECK_MESSAGE(snapshot(db) == before, "the refused start changed the store");

    // --recover-store rebuilds the table files from what is readable and reports it
    auto args = rocksdb_args(db);
    args.push_back("--recover-store");
    runtime_node node(args);
    auto out = node.server().process().output();
    CHECK_MESSAGE(out.find("event=store.recovered") != std::string::npos, out);
    CHECK(out.find("repaired_tables=true") != std::string::npos);
    CHECK(node.healthy());
  }
}
