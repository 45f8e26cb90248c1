// The cluster writer on CAF's deterministic scheduler, with a scripted changelog sink and lane
// jobs that run only when the test says so: every interleaving of writes, commits and answers
// below is exact.
#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/server/cluster_writer.hpp"
#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"

using namespace pikoci;
using domain::cluster::partition_state;
using server::commit_outcome;
namespace keys = persistence::keys;

namespace {

constexpr int P = 4;

/// The memory store, remembering each write's keys and whether it was synced.
class recording_store final : public persistence::store {
 public:
  struct write_call {
    std::vector<std::string> keys;
    bool sync = true;
  };
  std::vector<write_call> calls;

  const char* kind() const override { return "recording"; }
  void write(const persistence::batch& ops, bool sync) override {
    std::lock_guard<std::mutex> l(mu_);  // lanes write from threads of their own
    inner_->write(ops, sync);
    write_call c;
    c.sync = sync;
    for (const auto& op : ops) c.keys.push_back(op.key);
    calls.push_back(std::move(c));
  }
  void scan(std::string_view prefix,
            const std::function<void(std::string_view, std::string_view)>& fn) const override {
    std::lock_guard<std::mutex> l(mu_);
    inner_->scan(prefix, fn);
  }
  std::optional<std::string> get(std::string_view key) const override {
    std::lock_guard<std::mutex> l(mu_);
    return inner_->get(key);
  }
  void export_to(const std::filesystem::path&) const override {}

 private:
  mutable std::mutex mu_;
  std::unique_ptr<persistence::store> inner_ = persistence::open_memory_store();
};

/// A changelog sink that answers as scripted (ok when nothing is scripted) and counts offsets.
class scripted_sink final : public server::changelog_sink {
 public:
  std::vector<server::changelog_commit> commits;  // every commit asked for
  std::deque<commit_outcome> script;              // the next answers, of commit and resume
  int resumes = 0;

  server::commit_result commit(const server::changelog_commit& c) override {
    std::lock_guard<std::mutex> l(mu_);  // lanes commit from threads of their own
    commits.push_back(c);
    return answer(c.partition, c.changelog.size());
  }
  server::commit_result resume(int k) override {
    std::lock_guard<std::mutex> l(mu_);
    ++resumes;
    return answer(k, commits.back().changelog.size());
  }

 private:
  server::commit_result answer(int k, std::size_t records) {
    auto o = commit_outcome::ok;
    if (!script.empty()) {
      o = script.front();
      script.pop_front();
    }
    server::commit_result r;
    r.status = o;
    if (o != commit_outcome::ok) return r;
    r.changelog_offset = records ? (next_[k] += static_cast<std::int64_t>(records)) - 1 : -1;
    return r;
  }
  std::mutex mu_;
  std::map<int, std::int64_t> next_;
};

/// Runs lane jobs only when asked.
class manual_runner final : public server::lane_runner {
 public:
  std::deque<std::pair<int, std::function<void()>>> jobs;
  void post(int lane, std::function<void()> job) override {
    jobs.emplace_back(lane, std::move(job));
  }
  bool has(int lane) const {
    for (const auto& j : jobs)
      if (j.first == lane) return true;
    return false;
  }
  /// Runs the oldest job of `lane`; false when it has none.
  bool run(int lane) {
    for (auto it = jobs.begin(); it != jobs.end(); ++it) {
      if (it->first != lane) continue;
      auto job = std::move(it->second);
      jobs.erase(it);
      job();
      return true;
    }
    return false;
  }
};

/// A pipeline name in partition `k` of P.
std::string pipeline_in(int k) {
  for (int i = 0;; ++i) {
    auto name = "p" + std::to_string(i);
    if (persistence::partition_of(name, P) == k) return name;
  }
}

persistence::write_op set(std::string key, std::string value) {
  return {std::move(key), std::move(value), false};
}

using answer = std::shared_ptr<std::optional<bool>>;

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<recording_store> store = std::make_shared<recording_store>();
  std::shared_ptr<scripted_sink> sink = std::make_shared<scripted_sink>();
  std::shared_ptr<manual_runner> runner = std::make_shared<manual_runner>();
  std::shared_ptr<domain::cluster::partition_table> table =
      std::make_shared<domain::cluster::partition_table>();
  std::vector<int> fenced;  // what on_fenced heard
  server::cluster_writer_actor writer;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sys->await_actors_before_shutdown(false);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    for (int k = 0; k <= P; ++k) table->set(k, partition_state::active);
    server::cluster_writer_options o;
    o.store = store;
    o.sink = sink;
    o.partitions = table;
    o.partition_count = P;
    o.on_fenced = [this](int k) { fenced.push_back(k); };
    o.retry_interval = std::chrono::milliseconds(10);
    o.runner = runner;
    writer = server::spawn_cluster_writer(*sys, std::move(o));
    run();
  }
  ~fixture() { caf::anon_send_exit(writer, caf::exit_reason::user_shutdown); }

  void run() { sched->run(); }
  /// Runs the oldest job of lane `k` and what it reports.
  void commit(int k) {
    REQUIRE(runner->run(k));
    run();
  }
  /// Runs every lane job (and those they lead to) until none is left.
  void settle() {
    while (!runner->jobs.empty()) commit(runner->jobs.front().first);
  }

  answer write(persistence::batch ops) {
    auto out = std::make_shared<std::optional<bool>>();
    proto::store_writer_actor w = writer;  // what the server's actors hold
    sys->spawn([out, w, ops](caf::event_based_actor* self) mutable {
      self->request(w, caf::infinite, proto::write_atom::value, std::move(ops))
          .then([out](bool ok) { *out = ok; }, [out](caf::error&) { *out = false; });
    });
    run();
    return out;
  }
  void put(persistence::batch ops) {
    caf::anon_send(writer, proto::put_atom::value, std::move(ops));
    run();
  }
  answer drain(int k) {
    auto out = std::make_shared<std::optional<bool>>();
    sys->spawn([out, w = writer, k](caf::event_based_actor* self) {
      self->request(w, caf::infinite, proto::drain_atom::value, k).then([out](bool ok) {
        *out = ok;
      });
    });
    run();
    return out;
  }
  std::optional<std::string> stored(const std::string& key) const { return store->get(key); }
};

std::vector<std::string> keys_of(const std::vector<persistence::changelog::record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.key);
  return out;
}

}  // namespace

TEST_SUITE("server.cluster_writer") {
  TEST_CASE("a pipeline's batch: one transaction, then one unsynced local write with its offset") {
    fixture f;
    auto a = pipeline_in(1);
    auto w = f.write({set(keys::pipeline(a), "doc"), set(keys::catalog(a), "summary"),
                      set(keys::secret(a, "token"), "sealed")});
    CHECK_FALSE(w->has_value());  // nothing is answered before the changelog holds it
    CHECK(f.store->calls.empty());
    f.commit(1);
    REQUIRE(f.sink->commits.size() == 1);
    const auto& c = f.sink->commits[0];
    CHECK(c.partition == 1);
    CHECK(keys_of(c.changelog) == std::vector<std::string>{keys::pipeline(a)});
    CHECK(keys_of(c.global) ==
          std::vector<std::string>{keys::catalog(a), keys::secret(a, "token")});
    REQUIRE(*w == true);
    REQUIRE(f.store->calls.size() == 1);
    CHECK_FALSE(f.store->calls[0].sync);
    CHECK(f.store->calls[0].keys.size() == 5);  // the 3 ops, the offset and its time
    CHECK(f.stored(keys::pipeline(a)) == "doc");
    CHECK(f.stored(keys::catalog(a)) == "summary");
    CHECK(f.stored(keys::changelog_offset(1)) == "0");
    CHECK(f.stored(keys::changelog_at(1)).has_value());

    // the next batch's offset follows; G's writes (users) commit on lane P, without an offset
    f.write({set(keys::build(a, "j", 1), "b1"), set(keys::build(a, "j", 2), "b2")});
    f.commit(1);
    CHECK(f.stored(keys::changelog_offset(1)) == "2");
    auto u = f.write({set(keys::user("ann"), "{}")});
    f.commit(P);
    CHECK(*u == true);
    CHECK(f.sink->commits.back().partition == P);
    CHECK(keys_of(f.sink->commits.back().global) == std::vector<std::string>{keys::user("ann")});
    CHECK_FALSE(f.stored(keys::changelog_offset(P)).has_value());
  }

  TEST_CASE("a write across two partitions is true only when both parts committed") {
    fixture f;
    auto a = pipeline_in(0), b = pipeline_in(2);
    auto w = f.write({set(keys::pipeline(a), "A"), set(keys::pipeline(b), "B")});
    f.commit(0);
    CHECK_FALSE(w->has_value());
    f.commit(2);
    CHECK(*w == true);

    f.sink->script = {commit_outcome::ok, commit_outcome::abort};
    auto v = f.write({set(keys::pipeline(a), "A2"), set(keys::pipeline(b), "B2")});
    f.commit(0);
    f.commit(2);
    CHECK(*v == false);
    CHECK(f.stored(keys::pipeline(a)) == "A2");  // not atomic across partitions
    CHECK(f.stored(keys::pipeline(b)) == "B");
  }

  TEST_CASE("a partition that is not active here refuses at once; put-ops are dropped") {
    fixture f;
    auto a = pipeline_in(3), b = pipeline_in(0);
    for (auto s : {partition_state::moving, partition_state::restoring, partition_state::idle,
                   partition_state::lost, partition_state::fenced}) {
      f.table->set(3, s);
      auto w = f.write({set(keys::pipeline(a), "x")});
      CHECK(*w == false);
      // a write with one part there is refused whole
      auto both = f.write({set(keys::pipeline(b), "y"), set(keys::pipeline(a), "x")});
      CHECK(*both == false);
      f.put({set(keys::build(a, "j", 1), "progress")});
    }
    CHECK(f.runner->jobs.empty());
    CHECK(f.sink->commits.empty());
    CHECK(f.store->calls.empty());
    // a key of no known route is refused too (a bug, logged)
    auto odd = f.write({set("nonsense", "1")});
    CHECK(*odd == false);
    CHECK(f.runner->jobs.empty());
  }

  TEST_CASE("fenced: false, k is fenced, the manager is told, what gathered is refused") {
    fixture f;
    auto a = pipeline_in(2);
    f.sink->script = {commit_outcome::fenced};
    auto first = f.write({set(keys::pipeline(a), "1")});
    auto gathered = f.write({set(keys::build(a, "j", 1), "2")});
    f.put({set(keys::build(a, "j", 2), "3")});
    f.commit(2);
    CHECK(*first == false);
    CHECK(*gathered == false);
    CHECK(f.table->get(2) == partition_state::fenced);
    CHECK(f.fenced == std::vector<int>{2});
    CHECK(f.sink->commits.size() == 1);
    CHECK(f.runner->jobs.empty());
    CHECK(f.store->calls.empty());
    auto later = f.write({set(keys::pipeline(a), "4")});
    CHECK(*later == false);
    // other partitions go on
    auto b = pipeline_in(1);
    auto other = f.write({set(keys::pipeline(b), "5")});
    f.settle();
    CHECK(*other == true);
  }

  TEST_CASE("group commit: many puts make few transactions, in order per partition") {
    fixture f;
    auto a = pipeline_in(1), b = pipeline_in(3);
    f.put({set(keys::build(a, "j", 1), "0")});  // in flight
    for (int i = 1; i <= 20; ++i) {
      f.put({set(keys::build(a, "j", 1), std::to_string(i))});
      f.put({set(keys::build(b, "j", 7), std::to_string(i))});
    }
    auto w = f.write({set(keys::pipeline(a), "last")});
    f.settle();
    CHECK(*w == true);
    std::vector<std::string> values_a;
    int commits_a = 0, commits_b = 0;
    for (const auto& c : f.sink->commits) {
      (c.partition == 1 ? commits_a : commits_b)++;
      if (c.partition != 1) continue;
      for (const auto& r : c.changelog)
        if (r.key == keys::build(a, "j", 1)) values_a.push_back(*r.value);
    }
    CHECK(commits_a == 2);  // the first alone, then everything that gathered meanwhile
    CHECK(commits_b == 2);
    REQUIRE(values_a.size() == 21);
    for (int i = 0; i <= 20; ++i) CHECK(values_a[i] == std::to_string(i));
    CHECK(f.stored(keys::build(a, "j", 1)) == "20");
    CHECK(f.stored(keys::build(b, "j", 7)) == "20");
  }

  TEST_CASE("abort: false to the waiter, put-ops kept and committed after the retry tick") {
    fixture f;
    auto a = pipeline_in(0);
    f.sink->script = {commit_outcome::ok, commit_outcome::abort};
    f.put({set(keys::build(a, "j", 1), "0")});  // in flight
    f.put({set(keys::build(a, "j", 1), "progress")});
    auto w = f.write({set(keys::pipeline(a), "doc")});
    f.put({set(keys::build(a, "j", 2), "other")});
    f.commit(0);  // the first batch commits; the next one (the rest) is aborted
    f.commit(0);
    CHECK(*w == false);
    CHECK_FALSE(f.runner->has(0));  // waits for the retry tick
    f.sched->trigger_timeouts();
    f.run();
    f.commit(0);
    CHECK(f.sink->commits.size() == 3);
    CHECK(keys_of(f.sink->commits.back().changelog) ==
          std::vector<std::string>{keys::build(a, "j", 1), keys::build(a, "j", 2)});
    CHECK(f.stored(keys::build(a, "j", 1)) == "progress");
    CHECK(f.stored(keys::build(a, "j", 2)) == "other");
    CHECK_FALSE(f.stored(keys::pipeline(a)).has_value());  // its writer was told false
  }

  TEST_CASE("in doubt: the sink's resume decides, and only then the answer") {
    fixture f;
    auto a = pipeline_in(1);
    f.sink->script = {commit_outcome::retry, commit_outcome::retry, commit_outcome::ok};
    auto w = f.write({set(keys::pipeline(a), "doc")});
    f.commit(1);
    CHECK(f.sink->resumes == 2);
    CHECK(f.sink->commits.size() == 1);
    CHECK(*w == true);
    CHECK(f.stored(keys::pipeline(a)) == "doc");
  }

  TEST_CASE("node-local ops go to the store synced, never to the changelog") {
    fixture f;
    auto w = f.write({set(keys::global_offset(), "17")});
    f.commit(domain::cluster::partition_table::size);
    CHECK(*w == true);
    CHECK(f.sink->commits.empty());
    REQUIRE(f.store->calls.size() == 1);
    CHECK(f.store->calls[0].sync);
    CHECK(f.stored(keys::global_offset()) == "17");
  }

  TEST_CASE("a whole-prefix delete reaches the changelog as one tombstone per key") {
    fixture f;
    auto a = pipeline_in(2);
    f.write({set(keys::build(a, "j", 1), "1"), set(keys::build(a, "j", 2), "2")});
    f.commit(2);
    auto w = f.write({{keys::prefix({"build", a}), std::nullopt, true}});
    f.commit(2);
    CHECK(*w == true);
    const auto& c = f.sink->commits.back();
    CHECK(keys_of(c.changelog) ==
          std::vector<std::string>{keys::build(a, "j", 1), keys::build(a, "j", 2)});
    for (const auto& r : c.changelog) CHECK_FALSE(r.value.has_value());
    CHECK_FALSE(f.stored(keys::build(a, "j", 1)).has_value());
  }

  TEST_CASE("drain: answered once nothing of k is in flight or gathering") {
    fixture f;
    auto a = pipeline_in(1), b = pipeline_in(2);
    CHECK(*f.drain(1) == true);  // idle
    f.put({set(keys::build(a, "j", 1), "1")});
    f.put({set(keys::build(a, "j", 1), "2")});  // gathering
    f.put({set(keys::build(b, "j", 1), "1")});
    f.table->set(1, partition_state::moving);  // a handoff: what was taken still commits
    auto d = f.drain(1);
    f.commit(1);
    CHECK_FALSE(d->has_value());
    f.commit(1);
    CHECK(*d == true);
    CHECK(f.stored(keys::build(a, "j", 1)) == "2");
    CHECK(f.runner->has(2));  // k=2 is not waited for
  }

  TEST_CASE("an empty write answers once everything sent before it is stored") {
    fixture f;
    auto a = pipeline_in(0);
    CHECK(*f.write({}) == true);
    f.put({set(keys::build(a, "j", 1), "1")});
    auto barrier = f.write({});
    CHECK_FALSE(barrier->has_value());
    f.commit(0);
    CHECK(*barrier == true);
  }
}

TEST_SUITE("server.cluster_writer") {
  TEST_CASE("on its own threads: a write is answered once committed and stored") {
    spdlog::set_level(spdlog::level::off);
    caf::actor_system_config cfg;
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    auto store = std::make_shared<recording_store>();
    auto sink = std::make_shared<scripted_sink>();
    auto table = std::make_shared<domain::cluster::partition_table>();
    for (int k = 0; k <= P; ++k) table->set(k, partition_state::active);
    server::cluster_writer_options o;
    o.store = store;
    o.sink = sink;
    o.partitions = table;
    o.partition_count = P;
    auto w = server::spawn_cluster_writer(sys, std::move(o));
    caf::scoped_actor self{sys};
    auto a = pipeline_in(1), b = pipeline_in(2);
    bool ok = false;
    self->request(w, std::chrono::seconds(10), proto::write_atom::value,
                  persistence::batch{set(keys::pipeline(a), "A"), set(keys::pipeline(b), "B"),
                                     set(keys::global_offset(), "3")})
        .receive([&](bool r) { ok = r; }, [&](caf::error&) { ok = false; });
    CHECK(ok);
    CHECK(store->get(keys::pipeline(a)) == "A");
    CHECK(store->get(keys::pipeline(b)) == "B");
    CHECK(store->get(keys::global_offset()) == "3");
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  }
}
