// Moving a pipeline between nodes on CAF's deterministic scheduler: the queue's hold while a
// partition is restored, the handoff that cancels and writes nothing, the gain that adopts the
// running build and queues the pending ones in their order, and cluster queue places. Two
// "nodes" are two actor systems over one store; the store writer's I/O thread is the only thing
// outside the test scheduler, so `settle()` polls until it is quiet.
#include <doctest/doctest.h>

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <chrono>
#include <thread>

#include "actors/protocols/registry.hpp"
#include "actors/server/execution_queue.hpp"
#include "actors/server/registry.hpp"
#include "actors/server/store_writer.hpp"
#include "http/errors.hpp"
#include "persistence/keys.hpp"
#include "persistence/snapshot.hpp"

using namespace pikoci;
using nlohmann::json;

namespace {

/// What the scripted remote worker side was asked to do.
struct worker_log {
  std::vector<proto::build_work> builds;
  std::vector<proto::build_work> adopted;
  std::vector<std::int64_t> cancels;
  std::vector<std::int64_t> forgotten;
};

using scripted_dispatcher = proto::dispatcher_actor::extend_with<proto::build_forgetter_actor>;

scripted_dispatcher::behavior_type scripted_worker(scripted_dispatcher::pointer,
                                                   std::shared_ptr<worker_log> log) {
  return {
      [log](proto::run_build_atom, proto::build_work& w) {
        caf::anon_send(w.owner, proto::accepted_atom::value, w.key, std::string("w1"));
        log->builds.push_back(std::move(w));
      },
      [](proto::run_check_atom, proto::check_work&) {},
      [log](proto::cancel_atom, proto::build_key k, const std::string&) {
        log->cancels.push_back(k.id);
      },
      [log](proto::adopt_atom, proto::build_work& w, const std::string&) {
        log->adopted.push_back(std::move(w));
      },
      [](proto::recorded_atom, proto::build_key) {},
      [](proto::workers_atom) { return json{{"workers", json::array()}}; },
      [](proto::shutdown_atom) { return 0; },
      [](proto::forget_atom, const std::string&) { return domain::done(json::object()); },
      [log](proto::forget_atom, const std::vector<std::int64_t>& ids) {
        log->forgotten.insert(log->forgotten.end(), ids.begin(), ids.end());
      },
  };
}

/// One server node on the deterministic scheduler, with remote workers, over `db`.
struct node {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<worker_log> worker = std::make_shared<worker_log>();
  proto::registry_actor registry;
  proto::execution_queue_actor queue;

  explicit node(std::shared_ptr<persistence::store> db, bool cluster = true) {
    spdlog::set_level(spdlog::level::warn);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sys->await_actors_before_shutdown(false);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto dispatcher =
        caf::actor_cast<proto::dispatcher_actor>(sys->spawn(scripted_worker, worker));
    server::queue_limits limits{10, 100, proto::embedded_pool(10)};
    limits.cluster = cluster;
    queue = server::spawn_execution_queue(*sys, limits, dispatcher);
    server::context ctx;
    ctx.queue = queue;
    ctx.dispatcher = dispatcher;
    ctx.remote_workers = true;
    ctx.db = db;
    ctx.store = server::spawn_store_writer(*sys, db);
    registry = server::spawn_registry(*sys, ctx);
    settle();
  }

  /// Runs until nothing is left to do, the store writer's thread included.
  void settle() {
    for (int idle = 0, i = 0; idle < 20 && i < 5000; ++i) {
      idle = sched->run() == 0 ? idle + 1 : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  /// Asks `to` through a probe actor; the answer once everything settled.
  template <class Reply, class To, class... Ts>
  Reply ask(To to, Ts... msg) {
    auto out = std::make_shared<std::optional<Reply>>();
    sys->spawn([out, to, msg...](caf::event_based_actor* self) {
      self->request(to, caf::infinite, msg...).then([out](Reply& r) { *out = std::move(r); });
    });
    for (int i = 0; i < 10000 && !out->has_value(); ++i) {
      settle();
      if (!out->has_value()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE_MESSAGE(out->has_value(), "no reply");
    return std::move(**out);
  }

  template <class Op>
  json ok(Op r, int status = 200) {
    auto resp = http::response_of(ask<domain::reply>(registry, std::move(r)));
    REQUIRE_MESSAGE(resp.status == status, resp.body.dump());
    return resp.body;
  }

  std::int64_t trigger(const std::string& job) {
    return ok(proto::trigger_job{"p", job, {}, {}}, 201)["build"]["id"].get<std::int64_t>();
  }

  /// The pending builds' ids and blocked_by, in queue order, as "id:why,...".
  std::string pending() {
    std::string out;
    for (const auto& p : ok(proto::get_queue{})["pending"])
      out += (out.empty() ? "" : ",") + std::to_string(p["build"]["id"].get<std::int64_t>()) +
             ":" + p["blocked_by"].get<std::string>();
    return out;
  }

  std::vector<std::int64_t> started() {
    std::vector<std::int64_t> out;
    for (const auto& s : ok(proto::get_queue{})["started"])
      out.push_back(s["id"].get<std::int64_t>());
    return out;
  }

  /// The worker reports the end of `w`, as a remote worker does.
  void finish(const proto::build_work& w) {
    work::build_result r{work::status::succeeded, ""};
    caf::anon_send(w.owner, proto::decided_atom::value, w.key, r);
    caf::anon_send(w.owner, proto::build_done_atom::value, w.key, r);
    caf::anon_send(w.slots, proto::release_atom::value, w.key.id);
    settle();
  }
};

const std::string serial_pipeline = R"hcl(
job "a" {
  task "t" {
    run "exec" { path = "/bin/true" }
  }
}
)hcl";

/// Every key and value of the store, to compare before and after.
std::map<std::string, std::string> contents(const persistence::store& db) {
  std::map<std::string, std::string> out;
  db.scan("", [&](std::string_view k, std::string_view v) { out.emplace(k, v); });
  return out;
}

}  // namespace

TEST_SUITE("server handoff") {
  TEST_CASE("a held pipeline's builds wait as restoring; the release dispatches them") {
    std::shared_ptr<persistence::store> db = persistence::open_memory_store();
    node n(db);
    n.ok(proto::set_pipeline{"p", serial_pipeline, json::object()}, 201);
    caf::anon_send(n.queue, proto::hold_atom::value, std::vector<std::string>{"p"}, true);
    auto id = n.trigger("a");
    CHECK(n.worker->builds.empty());
    caf::anon_send(n.queue, proto::hold_atom::value, std::vector<std::string>{"p"}, false);
    n.settle();
    REQUIRE(n.worker->builds.size() == 1);
    CHECK(n.worker->builds[0].key.id == id);
  }

  TEST_CASE("cluster mode: a new build's place is at least the wall clock in microseconds") {
    std::shared_ptr<persistence::store> db = persistence::open_memory_store();
    node n(db);
    n.ok(proto::set_pipeline{"p", serial_pipeline, json::object()}, 201);
    auto before = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    n.trigger("a");
    n.trigger("a");
    std::vector<std::uint64_t> seqs;
    auto prefix = persistence::keys::join({"build", "p", "a"});
    for (const auto& [key, text] : contents(*db))
      if (key.rfind(prefix, 0) == 0) {
        auto rec = json::parse(text.substr(0, text.find('\n')));
        seqs.push_back(rec.at("queue_seq").get<std::uint64_t>());
      }
    REQUIRE(seqs.size() == 2);
    for (auto s : seqs) CHECK(s >= static_cast<std::uint64_t>(before));
    CHECK(seqs[0] != seqs[1]);
  }

  TEST_CASE("handoff writes and cancels nothing; another node gains the same builds back") {
    std::shared_ptr<persistence::store> db = persistence::open_memory_store();
    std::int64_t running = 0, second = 0, third = 0;
    std::map<std::string, std::string> before;
    {
      node a(db);
      a.ok(proto::set_pipeline{"p", serial_pipeline, json::object()}, 201);
      a.ok(proto::set_concurrency{"p", "serial", "", false});
      running = a.trigger("a");
      second = a.trigger("a");
      third = a.trigger("a");
      REQUIRE(a.worker->builds.size() == 1);
      before = contents(*db);

      CHECK(a.ask<int>(a.registry, proto::handoff_atom::value, std::vector<std::string>{"p"}) ==
            1);
      CHECK(contents(*db) == before);  // nothing written
      CHECK(a.worker->cancels.empty());
      CHECK(a.worker->forgotten == std::vector<std::int64_t>{running});
      auto queue = a.ok(proto::get_queue{});
      CHECK(queue["started"].empty());
      CHECK(queue["pending"].empty());
      auto gone = a.ask<domain::reply>(a.registry, proto::get_pipeline{"p"});
      REQUIRE(gone.failed());
      CHECK(gone.code() == domain::errc::not_found);
      // a second handoff of a pipeline no longer here is a no-op
      CHECK(a.ask<int>(a.registry, proto::handoff_atom::value, std::vector<std::string>{"p"}) ==
            0);
    }

    node b(db);
    auto stored = persistence::load_pipelines(*db);
    REQUIRE(stored.size() == 1);
    CHECK(b.ask<int>(b.registry, proto::gain_atom::value, std::move(stored)) == 1);
    // the running build is adopted, not sent out again; the pending ones keep their order
    REQUIRE(b.worker->adopted.size() == 1);
    CHECK(b.worker->adopted[0].key.id == running);
    CHECK(b.worker->builds.empty());
    CHECK(contents(*db) == before);  // a gain writes nothing either

    b.finish(b.worker->adopted[0]);
    REQUIRE(b.worker->builds.size() == 1);
    CHECK(b.worker->builds[0].key.id == second);
    b.finish(b.worker->builds[0]);
    REQUIRE(b.worker->builds.size() == 2);
    CHECK(b.worker->builds[1].key.id == third);
    auto builds = b.ok(proto::list_builds{"p", "a", {}, 0})["builds"];
    CHECK(builds.size() == 3);
  }
}
