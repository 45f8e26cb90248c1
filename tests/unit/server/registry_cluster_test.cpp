// The registry in cluster mode on CAF's deterministic scheduler: an operation on a pipeline runs
// only while the pipeline's partition is active on this node, waits while it is restoring or
// moving (until it is active, no longer ours, or `move_wait` passed) and is refused `not_owner`
// otherwise; users and team secrets are partition G = P; set, pause and delete write the
// pipeline's catalog entry in the same batch; GET /pipelines lists the catalog. The test clock
// only moves when `pass` moves it; the store writer's I/O thread is the only thing outside the
// test scheduler, so `settle()` polls until it is quiet.
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
#include "persistence/partitioning.hpp"

using namespace pikoci;
using nlohmann::json;
using domain::cluster::partition_state;

namespace {

using scripted_dispatcher = proto::dispatcher_actor::extend_with<proto::build_forgetter_actor>;

scripted_dispatcher::behavior_type quiet_worker(scripted_dispatcher::pointer) {
  return {
      [](proto::run_build_atom, proto::build_work&) {},
      [](proto::run_check_atom, proto::check_work&) {},
      [](proto::cancel_atom, proto::build_key, const std::string&) {},
      [](proto::adopt_atom, proto::build_work&, const std::string&) {},
      [](proto::recorded_atom, proto::build_key) {},
      [](proto::workers_atom) { return json{{"workers", json::array()}}; },
      [](proto::shutdown_atom) { return 0; },
      [](proto::forget_atom, const std::string&) { return domain::done(json::object()); },
      [](proto::forget_atom, const std::vector<std::int64_t>&) {},
  };
}

constexpr int P = 4;

/// One server node on the deterministic scheduler over a memory store; `cluster` false: single
/// mode (no partition is looked at).
struct node {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<persistence::store> db = persistence::open_memory_store();
  std::shared_ptr<domain::cluster::partition_table> table =
      std::make_shared<domain::cluster::partition_table>();
  std::shared_ptr<domain::cluster::catalog> catalog = std::make_shared<domain::cluster::catalog>();
  std::shared_ptr<auth::user_store> users = std::make_shared<auth::user_store>("admin-password");
  proto::registry_actor registry;

  explicit node(bool cluster = true, std::chrono::milliseconds move_wait = std::chrono::seconds(10)) {
    spdlog::set_level(spdlog::level::warn);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sys->await_actors_before_shutdown(false);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto dispatcher = caf::actor_cast<proto::dispatcher_actor>(sys->spawn(quiet_worker));
    server::queue_limits limits{10, 100, proto::embedded_pool(10)};
    limits.cluster = cluster;
    server::context ctx;
    ctx.queue = server::spawn_execution_queue(*sys, limits, dispatcher);
    ctx.dispatcher = dispatcher;
    ctx.db = db;
    ctx.store = server::spawn_store_writer(*sys, db);
    ctx.users = users;
    if (cluster) {
      ctx.partition_count = P;
      ctx.partitions = table;
      ctx.catalog = catalog;
      ctx.move_wait = move_wait;
    }
    registry = server::spawn_registry(*sys, ctx);
    settle();
  }

  /// Runs until nothing is left to do, the store writer's thread and pipeline loads included.
  void settle() {
    for (int idle = 0, i = 0; idle < 20 && i < 5000; ++i) {
      idle = sched->run() == 0 ? idle + 1 : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  /// The test clock moves by `d`, a timer tick (25 ms) at a time.
  void pass(std::chrono::milliseconds d) {
    for (auto t = std::chrono::milliseconds(0); t < d; t += std::chrono::milliseconds(25)) {
      sched->advance_time(std::chrono::milliseconds(25));
      settle();
    }
  }

  /// Sends `op` to the registry; the reply lands in the result once it comes.
  template <class Op>
  std::shared_ptr<std::optional<domain::reply>> send(Op op) {
    auto out = std::make_shared<std::optional<domain::reply>>();
    sys->spawn([out, op, reg = registry](caf::event_based_actor* self) {
      self->request(reg, caf::infinite, op)
          .then([out](domain::reply& r) { *out = std::move(r); },
                [out](caf::error& e) {
                  *out = domain::fail(domain::errc::internal, caf::to_string(e));
                });
    });
    settle();
    return out;
  }

  /// Sends `op` and waits (bounded) for its reply.
  template <class Op>
  domain::reply ask(Op op) {
    auto out = send(std::move(op));
    for (int i = 0; i < 5000 && !out->has_value(); ++i) settle();
    REQUIRE_MESSAGE(out->has_value(), "no reply");
    return std::move(**out);
  }

  template <class Op>
  json ok(Op op, int status = 200) {
    auto resp = http::response_of(ask(std::move(op)));
    REQUIRE_MESSAGE(resp.status == status, resp.body.dump());
    return resp.body;
  }

  std::optional<std::string> stored(const std::string& key) {
    settle();
    return db->get(key);
  }
};

const std::string two_jobs = R"hcl(
job "build" {
  task "t" {
    run "exec" { path = "/bin/true" }
  }
}
job "test" {
  task "t" {
    run "exec" { path = "/bin/true" }
  }
}
)hcl";

/// The `nth` pipeline name ("p0", "p1", ...) whose partition (of P) is `k`.
std::string name_in(int k, int nth = 0) {
  for (int i = 0;; ++i) {
    auto name = "p" + std::to_string(i);
    if (persistence::partition_of(name, P) == k && nth-- == 0) return name;
  }
}

void check_not_owner(const domain::reply& r, int k, const std::string& message) {
  REQUIRE(r.failed());
  CHECK(r.code() == domain::errc::not_owner);
  CHECK(r.failure->details.value("partition", -1) == k);
  CHECK(r.failure->message == message);
}

}  // namespace

TEST_SUITE("server registry cluster") {
  TEST_CASE("single mode: nothing is gated and no catalog entry is written") {
    node n(false);  // every partition idle in the table: not looked at
    n.ok(proto::set_pipeline{"p0", two_jobs, json::object()}, 201);
    n.ok(proto::get_pipeline{"p0"});
    n.ok(proto::pause_pipeline{"p0", true});
    auto list = n.ok(proto::list_pipelines{})["pipelines"];
    REQUIRE(list.size() == 1);
    CHECK(list[0]["name"] == "p0");
    CHECK(list[0]["paused"] == true);
    CHECK_FALSE(list[0].contains("partition"));
    CHECK_FALSE(n.stored(persistence::keys::catalog("p0")));
    CHECK(n.catalog->size() == 0);
    n.ok(proto::delete_pipeline{"p0"}, 204);
  }

  TEST_CASE("a partition this node does not own: not_owner at once, with the partition") {
    node n;
    auto p = name_in(1);
    n.table->set(0, partition_state::active);  // another partition is ours: does not matter
    auto msg = "pipeline \"" + p + "\" is owned by another node";
    check_not_owner(n.ask(proto::get_pipeline{p}), 1, msg);
    check_not_owner(n.ask(proto::set_pipeline{p, two_jobs, json::object()}), 1, msg);
    check_not_owner(n.ask(proto::trigger_job{p, "build", {}, {}, ""}), 1, msg);
    check_not_owner(n.ask(proto::delete_pipeline{p}), 1, msg);
    check_not_owner(n.ask(proto::list_builds{p, "build", {}, 0}), 1, msg);
    for (auto s : {partition_state::lost, partition_state::fenced}) {
      n.table->set(1, s);
      check_not_owner(n.ask(proto::get_pipeline{p}), 1, msg);
    }
    // the edge turns it into a forward; were it to reach a client, a 503 with Retry-After
    auto resp = http::response_of(n.ask(proto::get_pipeline{p}));
    CHECK(resp.status == 503);
    CHECK(resp.body["partition"] == 1);
  }

  TEST_CASE("an active partition: its pipelines are set, read and deleted as in single mode") {
    node n;
    auto p = name_in(2);
    n.table->set(2, partition_state::active);
    n.ok(proto::set_pipeline{p, two_jobs, json::object()}, 201);
    n.ok(proto::get_pipeline{p});
    // past the gate: the secret store itself answers (this node has no --secret-key)
    n.ok(proto::set_secret{p, "token", "x"}, 409);
  }

  TEST_CASE("a restoring partition: operations wait, then run in arrival order once active") {
    node n;
    auto p = name_in(3);
    n.table->set(3, partition_state::active);
    n.ok(proto::set_pipeline{p, two_jobs, json::object()}, 201);
    n.table->set(3, partition_state::restoring);
    auto pause = n.send(proto::pause_pipeline{p, true});
    auto get = n.send(proto::get_pipeline{p});
    auto fresh = n.send(proto::set_pipeline{name_in(3, 1), two_jobs, json::object()});
    n.pass(std::chrono::milliseconds(200));
    CHECK_FALSE(pause->has_value());
    CHECK_FALSE(get->has_value());
    CHECK_FALSE(fresh->has_value());
    n.table->set(3, partition_state::active);
    n.pass(std::chrono::milliseconds(50));
    for (int i = 0; i < 5000 && !(get->has_value() && pause->has_value()); ++i) n.settle();
    REQUIRE(pause->has_value());
    REQUIRE(get->has_value());
    CHECK(http::response_of(**pause).status == 200);
    // the GET came after the pause: it sees the pipeline paused
    REQUIRE(http::response_of(**get).status == 200);
    CHECK((**get).value["pipeline"]["paused"] == true);
    // a new pipeline of a partition that was not active waited like the others
    for (int i = 0; i < 5000 && !fresh->has_value(); ++i) n.settle();
    REQUIRE(fresh->has_value());
    CHECK(http::response_of(**fresh).status == 201);
  }

  TEST_CASE("a moving partition: 503 partition_moving once move_wait passed") {
    node n(true, std::chrono::milliseconds(200));
    auto p = name_in(0);
    n.table->set(0, partition_state::active);
    n.ok(proto::set_pipeline{p, two_jobs, json::object()}, 201);
    n.table->set(0, partition_state::moving);
    auto get = n.send(proto::get_pipeline{p});
    n.pass(std::chrono::milliseconds(100));
    CHECK_FALSE(get->has_value());
    n.pass(std::chrono::milliseconds(150));
    REQUIRE(get->has_value());
    REQUIRE((**get).failed());
    CHECK((**get).code() == domain::errc::partition_moving);
    CHECK((**get).failure->details.value("partition", -1) == 0);
    auto resp = http::response_of(**get);
    CHECK(resp.status == 503);
    CHECK(std::find(resp.headers.begin(), resp.headers.end(),
                    std::pair<std::string, std::string>{"Retry-After", "1"}) != resp.headers.end());
  }

  TEST_CASE("at most 10,000 operations wait on a node; more are answered 503 at once") {
    node n;
    auto p = name_in(2);
    n.table->set(2, partition_state::restoring);
    auto answered = std::make_shared<int>(0);
    for (int i = 0; i < 10000; ++i)
      n.sys->spawn([answered, p, reg = n.registry](caf::event_based_actor* self) {
        self->request(reg, caf::infinite, proto::get_pipeline{p})
            .then([answered](domain::reply&) { ++*answered; });
      });
    n.settle();
    CHECK(*answered == 0);
    auto over = n.ask(proto::get_pipeline{p});
    REQUIRE(over.failed());
    CHECK(over.code() == domain::errc::partition_moving);
    CHECK(over.failure->details.value("partition", -1) == 2);
    n.table->set(2, partition_state::idle);
    n.pass(std::chrono::milliseconds(25));
    CHECK(*answered == 10000);
  }

  TEST_CASE("a partition that goes idle while operations wait: they are answered not_owner") {
    node n;
    auto p = name_in(1);
    n.table->set(1, partition_state::restoring);
    auto get = n.send(proto::get_pipeline{p});
    n.pass(std::chrono::milliseconds(50));
    CHECK_FALSE(get->has_value());
    n.table->set(1, partition_state::idle);
    n.pass(std::chrono::milliseconds(50));
    REQUIRE(get->has_value());
    check_not_owner(**get, 1, "pipeline \"" + p + "\" is owned by another node");
  }

  TEST_CASE("users and team secrets are partition G = P") {
    node n;
    for (int k = 0; k < P; ++k) n.table->set(k, partition_state::active);
    auto hash = auth::user_store::hash_password("a-long-password");
    REQUIRE(hash);
    const std::string msg = "users and team secrets are owned by another node";
    check_not_owner(n.ask(proto::create_user{"ann", domain::role::read, *hash}), P, msg);
    check_not_owner(n.ask(proto::update_user{"ann", domain::role::write, std::nullopt}), P, msg);
    check_not_owner(n.ask(proto::delete_user{"ann"}), P, msg);
    check_not_owner(n.ask(proto::set_secret{"", "token", "x"}), P, msg);
    check_not_owner(n.ask(proto::delete_secret{"", "token"}), P, msg);
    // reads stay local (replicated to every node)
    n.ok(proto::list_users{});
    n.ok(proto::list_secrets{""});

    n.table->set(P, partition_state::active);
    n.ok(proto::create_user{"ann", domain::role::read, *hash}, 201);
    CHECK(n.stored(persistence::keys::user("ann")));
    n.ok(proto::delete_user{"ann"}, 204);
  }

  TEST_CASE("set, pause and delete write the catalog entry; GET /pipelines lists the catalog") {
    node n;
    auto p = name_in(2);
    n.table->set(2, partition_state::active);
    n.ok(proto::set_pipeline{p, two_jobs, json::object()}, 201);
    auto text = n.stored(persistence::keys::catalog(p));
    REQUIRE(text);
    auto decoded = domain::cluster::decode_summary(*text);
    REQUIRE(std::holds_alternative<domain::cluster::pipeline_summary>(decoded));
    auto s = std::get<domain::cluster::pipeline_summary>(decoded);
    CHECK(s.partition == 2);
    CHECK_FALSE(s.paused);
    CHECK(s.jobs == std::vector<std::string>{"build", "test"});
    CHECK_FALSE(s.created_at.empty());
    // this node's copy has it at once (before its record comes back from the global topic)
    REQUIRE(n.catalog->get(p));
    CHECK(*n.catalog->get(p) == s);

    n.ok(proto::pause_pipeline{p, true});
    decoded = domain::cluster::decode_summary(*n.stored(persistence::keys::catalog(p)));
    REQUIRE(std::holds_alternative<domain::cluster::pipeline_summary>(decoded));
    CHECK(std::get<domain::cluster::pipeline_summary>(decoded).paused);
    CHECK(n.catalog->get(p)->paused);

    // another node's pipeline, known from the global topic
    domain::cluster::pipeline_summary other;
    other.partition = 1;
    other.jobs = {"deploy"};
    other.created_at = other.updated_at = "2026-01-01T00:00:00Z";
    n.catalog->apply(name_in(1), other);
    auto list = n.ok(proto::list_pipelines{})["pipelines"];
    REQUIRE(list.size() == 2);
    std::map<std::string, json> by_name;
    for (const auto& x : list) by_name[x["name"].get<std::string>()] = x;
    REQUIRE(by_name.count(p) == 1);
    CHECK(by_name[p]["paused"] == true);
    CHECK(by_name[p]["jobs"] == json::array({"build", "test"}));
    CHECK(by_name[p]["partition"] == 2);
    REQUIRE(by_name.count(name_in(1)) == 1);
    CHECK(by_name[name_in(1)]["jobs"] == json::array({"deploy"}));
    CHECK(by_name[name_in(1)]["partition"] == 1);
    CHECK(by_name[name_in(1)]["created_at"] == "2026-01-01T00:00:00Z");

    n.ok(proto::delete_pipeline{p}, 204);
    CHECK_FALSE(n.stored(persistence::keys::catalog(p)));
    CHECK_FALSE(n.catalog->get(p));
    CHECK(n.ok(proto::list_pipelines{})["pipelines"].size() == 1);
  }

  TEST_CASE("a handoff leaves nothing: held operations answered not_owner, the name gone") {
    node n;
    auto p = name_in(3);
    n.table->set(3, partition_state::active);
    n.ok(proto::set_pipeline{p, two_jobs, json::object()}, 201);
    n.table->set(3, partition_state::moving);
    auto get = n.send(proto::get_pipeline{p});
    n.pass(std::chrono::milliseconds(50));
    CHECK_FALSE(get->has_value());
    auto out = std::make_shared<std::optional<int>>();
    n.sys->spawn([out, reg = n.registry, p](caf::event_based_actor* self) {
      self->request(reg, caf::infinite, proto::handoff_atom::value, std::vector<std::string>{p})
          .then([out](int x) { *out = x; });
    });
    for (int i = 0; i < 5000 && !(out->has_value() && get->has_value()); ++i) n.settle();
    REQUIRE(out->has_value());
    CHECK(**out == 1);
    REQUIRE(get->has_value());
    check_not_owner(**get, 3, "pipeline \"" + p + "\" is owned by another node");
    // were the partition to come back active here, the pipeline is not here any more
    n.table->set(3, partition_state::active);
    auto gone = n.ask(proto::get_pipeline{p});
    REQUIRE(gone.failed());
    CHECK(gone.code() == domain::errc::not_found);
  }
}
