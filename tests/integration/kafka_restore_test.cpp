// The restore of a cluster partition (node/cluster_restore.hpp) against the real broker of the
// tests: a fresh store restored from the changelog a sink wrote equals the writer's store; a
// restore fences the old owner, whose later commits no restore ever sees, while its last commit
// before the fence is kept; a store started from a checkpoint replays only the tail; a position
// outside the log or too old wipes the partition's copy first. The time to restore 100,000
// records, in full and from a checkpoint at 90,000, is printed (not asserted).
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/kafka/admin.hpp"
#include "node/cluster_restore.hpp"
#include "node/cluster_sink.hpp"
#include "node/cluster_topics.hpp"
#include "persistence/changelog.hpp"
#include "persistence/checkpoints.hpp"
#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"
#include "persistence/store.hpp"
#include "tests/support/kafka_broker.hpp"

using namespace pikoci;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace changelog = persistence::changelog;
namespace keys = persistence::keys;

namespace {

constexpr int P = 2;
constexpr int K = 1;

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

/// A cluster of its own: topics under a unique prefix, restore options for member `m`.
struct cluster {
  std::string prefix = unique_name("restore");
  node::cluster_topics topics = node::cluster_topics::of(prefix, "c1");

  cluster() {
    kafka::admin a(test::kafka_broker::shared().bootstrap());
    auto err = node::ensure_cluster_topics(a, topics, P, 30s);
    INFO(err);
    REQUIRE(err.empty());
  }

  node::restore_options options(const std::string& member) const {
    node::restore_options o;
    o.brokers = test::kafka_broker::shared().bootstrap();
    o.prefix = prefix;
    o.cluster = "c1";
    o.partitions = P;
    o.member = member;
    return o;
  }

  /// Restores K into `s`, which must succeed.
  node::restore_result restore(persistence::store& s, const std::string& member,
                               node::restore_options o = {}) const {
    if (o.brokers.empty()) o = options(member);
    auto r = node::restore_partition(s, K, o);
    INFO(r.error);
    REQUIRE(r.ok());
    REQUIRE(r.sink);
    return r;
  }
};

/// The name of the `i`-th pipeline of partition K.
std::string pipeline(int i) {
  for (int n = 0;; ++n) {
    auto name = "p" + std::to_string(i) + "-" + std::to_string(n);
    if (persistence::partition_of(name, P) == K) return name;
  }
}

/// What the cluster writer does with one batch: the records into the sink's transaction, then
/// the ops with their offset into the owner's store.
kafka::txn_result write(node::kafka_changelog_sink& sink, persistence::store& s,
                        persistence::batch ops) {
  auto r = sink.commit(changelog::expand(ops, s), {}, {});
  if (!r.ok()) return r;
  auto offsets = changelog::offset_ops(K, sink.changelog_offset(r));
  ops.insert(ops.end(), offsets.begin(), offsets.end());
  s.write(ops, false);
  return r;
}

void write_ok(node::kafka_changelog_sink& sink, persistence::store& s, persistence::batch ops) {
  auto r = write(sink, s, std::move(ops));
  INFO(r.error);
  REQUIRE(r.ok());
}

/// Every record of the store but the node-local and epoch bookkeeping under meta/.
std::map<std::string, std::string> contents(const persistence::store& s) {
  std::map<std::string, std::string> out;
  const auto meta = keys::prefix({"meta"});
  s.scan("", [&](std::string_view k, std::string_view v) {
    if (k.substr(0, meta.size()) != meta) out.emplace(k, v);
  });
  return out;
}

std::int64_t epoch_in(const persistence::store& s) {
  auto v = s.get(keys::epoch(K));
  return v ? std::stoll(*v) : 0;
}

/// A scratch directory removed at the end of the test.
struct scratch {
  fs::path dir = fs::temp_directory_path() / unique_name("pikoci-restore");
  scratch() { fs::create_directories(dir); }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

/// `n` small build records of partition K, as batches of `per_batch`, written through `sink`.
void write_builds(node::kafka_changelog_sink& sink, persistence::store& s, int first, int n,
                  int per_batch) {
  for (int i = first; i < first + n; i += per_batch) {
    persistence::batch ops;
    for (int j = i; j < i + per_batch && j < first + n; ++j) {
      ops.push_back({keys::build(pipeline(j % 7), "job", j + 1), "{\"status\":\"succeeded\"}"});
    }
    write_ok(sink, s, std::move(ops));
  }
}

}  // namespace

TEST_SUITE("kafka.restore") {
  TEST_CASE("a fresh store restored from the changelog equals the writer's store") {
    cluster c;
    auto owner = persistence::open_memory_store();
    auto first = c.restore(*owner, "a");
    CHECK(first.epoch == 1);
    CHECK(first.stats.records == 0);
    CHECK_FALSE(first.stats.from_checkpoint);
    auto& sink = *first.sink;
    const std::string big(2 * 1024 * 1024 + 17, 'x');  // chunked on the way
    write_ok(sink, *owner,
             {{keys::pipeline(pipeline(0)), "{\"text\":\"one\"}"},
              {keys::pipeline(pipeline(1)), "{\"text\":\"two\"}"},
              {keys::build(pipeline(0), "job", 1), big},
              {keys::version(pipeline(1), 1), "v1"},
              {keys::version(pipeline(1), 2), "v2"}});
    write_ok(sink, *owner, {{keys::version(pipeline(1), 1), std::nullopt}});
    write_ok(sink, *owner,
             {{keys::prefix({"version", pipeline(1)}), std::nullopt, true},
              {keys::build(pipeline(0), "job", 1), "small now"},
              {keys::check(pipeline(0), "git:x"), "{}"}});

    auto fresh = persistence::open_memory_store();
    auto second = c.restore(*fresh, "b");
    CHECK(contents(*fresh) == contents(*owner));
    CHECK(contents(*fresh).size() == 4);
    CHECK(second.epoch == 2);
    CHECK(epoch_in(*fresh) == 2);
    CHECK(second.stats.records > 0);
    CHECK(second.stats.bytes > 2 * 1024 * 1024);
    // the old owner's sink is fenced for good
    auto late = write(sink, *owner, {{keys::pipeline(pipeline(2)), "late"}});
    CHECK(late.status == kafka::txn_result::outcome::fenced);
  }

  TEST_CASE("a zombie owner is fenced: its last commit before the fence is kept, none after") {
    cluster c;
    auto a_store = persistence::open_memory_store();
    auto a = c.restore(*a_store, "a");
    write_ok(*a.sink, *a_store, {{keys::pipeline(pipeline(0)), "before"}});

    // B's restore: A commits once more between B's bulk catch-up and its fence
    auto b_store = persistence::open_memory_store();
    auto o = c.options("b");
    o.before_fence = [&] { write_ok(*a.sink, *a_store, {{keys::pipeline(pipeline(1)), "last"}}); };
    auto b = c.restore(*b_store, "b", o);
    CHECK(b.epoch == 2);
    CHECK(b_store->get(keys::pipeline(pipeline(1))) == std::optional<std::string>("last"));

    // A, resumed, is refused; B writes on
    auto late = write(*a.sink, *a_store, {{keys::pipeline(pipeline(2)), "zombie"}});
    CHECK(late.status == kafka::txn_result::outcome::fenced);
    CHECK(a.sink->fenced());
    write_ok(*b.sink, *b_store, {{keys::pipeline(pipeline(3)), "b's"}});

    auto c_store = persistence::open_memory_store();
    auto third = c.restore(*c_store, "c");
    CHECK(third.epoch == 3);
    CHECK_FALSE(c_store->get(keys::pipeline(pipeline(2))));
    CHECK(contents(*c_store) == contents(*b_store));
  }

  TEST_CASE("a store from a checkpoint replays only the tail (100,000 records timed)") {
    cluster c;
    scratch tmp;
    constexpr int total = 100000, at = 90000;
    auto owner = persistence::open_rocksdb_store(tmp.dir / "owner");
    auto first = c.restore(*owner, "a");
    write_builds(*first.sink, *owner, 0, at, 1000);
    auto checkpoint = persistence::checkpoints::take(*owner, tmp.dir / "owner");
    write_builds(*first.sink, *owner, at, total - at, 1000);

    // the checkpoint, copied as a node's --db-path
    fs::copy(checkpoint, tmp.dir / "warm", fs::copy_options::recursive);
    auto warm = persistence::open_rocksdb_store(tmp.dir / "warm");
    auto from_checkpoint = c.restore(*warm, "b");
    CHECK(from_checkpoint.stats.from_checkpoint);
    CHECK(from_checkpoint.stats.records == total - at);
    CHECK(contents(*warm) == contents(*owner));

    auto cold = persistence::open_rocksdb_store(tmp.dir / "cold");
    auto full = c.restore(*cold, "c");
    CHECK_FALSE(full.stats.from_checkpoint);
    // every build, and the two earlier claims
    CHECK(full.stats.records == total + 2);
    CHECK(contents(*cold) == contents(*owner));
    MESSAGE("restore of " << total << " build records: full " << full.stats.duration.count()
                          << " ms (" << full.stats.bytes << " bytes), from a checkpoint at " << at
                          << ": " << from_checkpoint.stats.duration.count() << " ms");
  }

  TEST_CASE("a position outside the log or too old wipes the partition's copy first") {
    cluster c;
    auto owner = persistence::open_memory_store();
    auto a = c.restore(*owner, "a");
    write_ok(*a.sink, *owner, {{keys::pipeline(pipeline(0)), "kept"}});

    SUBCASE("past the end of the log") {
      auto stale = persistence::open_memory_store();
      persistence::batch ops{{keys::pipeline(pipeline(5)), "stale"}};
      for (auto& op : changelog::offset_ops(K, 1000000)) ops.push_back(op);
      stale->write(ops);
      auto r = c.restore(*stale, "b");
      CHECK(r.stats.wiped);
      CHECK_FALSE(stale->get(keys::pipeline(pipeline(5))));
      CHECK(contents(*stale) == contents(*owner));
    }
    SUBCASE("applied longer ago than half the delete retention") {
      auto stale = persistence::open_memory_store();
      stale->write({{keys::pipeline(pipeline(5)), "stale"},
                    {keys::changelog_offset(K), "0"},
                    {keys::changelog_at(K), "1000"}});
      auto r = c.restore(*stale, "b");
      CHECK(r.stats.wiped);
      CHECK_FALSE(r.stats.from_checkpoint);
      CHECK_FALSE(stale->get(keys::pipeline(pipeline(5))));
      CHECK(contents(*stale) == contents(*owner));
    }
    SUBCASE("a recent position inside the log is kept") {
      auto warm = persistence::open_memory_store();
      auto r = c.restore(*warm, "b");
      CHECK_FALSE(r.stats.wiped);
      warm->write({{keys::pipeline(pipeline(5)), "local"}});
      auto again = c.restore(*warm, "c");
      CHECK_FALSE(again.stats.wiped);
      CHECK(again.stats.from_checkpoint);
      CHECK(again.stats.records == 0);
      CHECK(warm->get(keys::pipeline(pipeline(5))) == std::optional<std::string>("local"));
    }
  }
}
