// The server actors on CAF's deterministic scheduler: registry, pipelines, jobs, checkers and the
// execution queue with a scripted worker in place of the embedded one. Messages run only when the
// test says so (`run()`), timers fire only on `fire_timers()`, and the worker's events are sent
// by the test, so every interleaving below is exact.
#include <doctest/doctest.h>

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <chrono>
#include <random>
#include <thread>

#include "actors/protocols/registry.hpp"
#include "actors/server/execution_queue.hpp"
#include "actors/server/registry.hpp"
#include "http/errors.hpp"

using namespace pikoci;
using nlohmann::json;

namespace {

/// What the scripted worker was asked to do.
struct worker_log {
  std::vector<proto::build_work> builds;
  std::vector<proto::check_work> checks;
  std::vector<proto::build_key> cancels;
  bool accept = true;  // accepts every build when it is dispatched, as a worker with a slot does
};

proto::dispatcher_actor::behavior_type scripted_worker(proto::dispatcher_actor::pointer,
                                                       std::shared_ptr<worker_log> log) {
  return {
      [log](proto::run_build_atom, proto::build_work& w) {
        if (log->accept)
          caf::anon_send(w.owner, proto::accepted_atom::value, w.key, std::string("scripted"));
        log->builds.push_back(std::move(w));
      },
      [log](proto::run_check_atom, proto::check_work& w) { log->checks.push_back(std::move(w)); },
      [log](proto::cancel_atom, proto::build_key k, const std::string&) {
        log->cancels.push_back(k);
      },
      [](proto::adopt_atom, proto::build_work&, const std::string&) {},
      [](proto::recorded_atom, proto::build_key) {},
      [](proto::workers_atom) {
        return json{{"workers", json::array()}};
      },
      [](proto::shutdown_atom) { return 0; },
      [](proto::forget_atom, const std::string& name) {
        return domain::fail(domain::errc::not_found, "worker \"" + name + "\" not found");
      },
  };
}

struct node_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<worker_log> worker = std::make_shared<worker_log>();
  proto::registry_actor registry;
  proto::execution_queue_actor queue;

  explicit node_fixture(int max_in_flight = 10, int max_queue_size = 100) {
    spdlog::set_level(spdlog::level::warn);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sys->await_actors_before_shutdown(false);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto dispatcher = sys->spawn(scripted_worker, worker);
    queue = server::spawn_execution_queue(
        *sys, {max_in_flight, max_queue_size, proto::embedded_pool(max_in_flight)}, dispatcher);
    server::context ctx;
    ctx.queue = queue;
    ctx.dispatcher = dispatcher;
    registry = server::spawn_registry(*sys, ctx);
    run();
  }

  void run() { sched->run(); }
  void fire_timers() {
    sched->trigger_timeouts();
    run();
  }

  /// Asks the registry through a probe actor (scheduled like every other actor, so the whole
  /// exchange happens inside `run()`); the reply as the HTTP edge would answer it.
  template <class Op>
  http::response call(Op r) {
    auto out = std::make_shared<std::optional<domain::reply>>();
    sys->spawn([out, r, reg = registry](caf::event_based_actor* self) {
      self->request(reg, caf::infinite, r)
          .then(
              [out](domain::reply& resp) { *out = std::move(resp); },
              [out](caf::error& e) { *out = domain::fail(domain::errc::internal, caf::to_string(e)); });
    });
    run();
    // Pipeline text is loaded on a detached thread of its own (outside the test scheduler):
    // its answer may come a little later.
    for (int i = 0; i < 10000 && !out->has_value(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      run();
    }
    REQUIRE_MESSAGE(out->has_value(), "no reply");
    return http::response_of(**out);
  }

  /// The queue's SPEC §6.4 metrics text.
  std::string metrics() {
    auto out = std::make_shared<std::string>();
    sys->spawn([out, q = queue](caf::event_based_actor* self) {
      self->request(q, caf::infinite, proto::metrics_atom::value).then([out](std::string& text) {
        *out = std::move(text);
      });
    });
    run();
    return *out;
  }

  template <class Op>
  json ok(Op r, int status = 200) {
    auto resp = call(std::move(r));
    REQUIRE_MESSAGE(resp.status == status, resp.body.dump());
    return resp.body;
  }

  void set(const std::string& name, const std::string& hcl, int status = 201) {
    ok(proto::set_pipeline{name, hcl, json::object()}, status);
  }

  /// The pending check of `canonical` (the oldest one not yet answered).
  proto::check_work take_check(const std::string& canonical) {
    for (auto it = worker->checks.begin(); it != worker->checks.end(); ++it) {
      if (it->resource != canonical) continue;
      auto w = std::move(*it);
      worker->checks.erase(it);
      return w;
    }
    FAIL("no check of " << canonical << " was dispatched");
    return {};
  }

  /// Answers the pending check of `canonical` with `versions`.
  void check_finds(const std::string& canonical, std::vector<json> versions) {
    auto w = take_check(canonical);
    work::check_result r;
    r.versions = std::move(versions);
    caf::anon_send(w.owner, proto::check_done_atom::value, w.sequence, r);
    run();
  }

  /// The dispatched build of `job` (the oldest one not yet finished).
  proto::build_work take_build(const std::string& job) {
    for (auto it = worker->builds.begin(); it != worker->builds.end(); ++it) {
      if (it->plan->job != job) continue;
      auto w = std::move(*it);
      worker->builds.erase(it);
      return w;
    }
    FAIL("no build of " << job << " was dispatched");
    return {};
  }

  bool dispatched(const std::string& job) const {
    for (const auto& w : worker->builds)
      if (w.plan->job == job) return true;
    return false;
  }

  void start(const proto::build_work& w) {
    caf::anon_send(w.owner, proto::accepted_atom::value, w.key, std::string("scripted"));
    run();
  }

  /// Runs the dispatched build of `job` to `st` the way a worker reports it.
  proto::build_work finish(const std::string& job, work::status st = work::status::succeeded) {
    auto w = take_build(job);
    start(w);
    work::build_result r{st, st == work::status::succeeded ? "" : "step \"x\" failed"};
    caf::anon_send(w.owner, proto::decided_atom::value, w.key, r);
    caf::anon_send(w.owner, proto::build_done_atom::value, w.key, r);
    caf::anon_send(w.slots, proto::release_atom::value, w.key.id);
    run();
    return w;
  }

  json builds(const std::string& pipeline, const std::string& job) {
    return ok(proto::list_builds{pipeline, job, {}, 0})["builds"];
  }
};

/// A resource type whose check the scripted worker answers; gets read `GET_SRC_REF`.
const std::string source_type = R"hcl(
resource_type "src" {
  check "exec" {
    path = "/bin/true"
  }
}
resource "src" "code" {
  check_interval = "@every 1h"
}
)hcl";

std::string job_on_code(const std::string& name, const std::string& extra = "") {
  return "job \"" + name + "\" {\n  get \"src\" \"code\" {\n    trigger = true\n" + extra +
         "  }\n  task \"t\" {\n    run \"exec\" { path = \"/bin/true\" }\n  }\n}\n";
}

std::int64_t input_version(const json& build) {
  return build["inputs"].at(0)["version_id"].get<std::int64_t>();
}

}  // namespace

TEST_SUITE("server actors") {
  TEST_CASE("a new version triggers each job that gets it, once; a duplicate triggers nothing") {
    node_fixture n;
    n.set("p", source_type + job_on_code("a") + job_on_code("b"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    CHECK(n.dispatched("a"));
    CHECK(n.dispatched("b"));
    n.finish("a");
    n.finish("b");
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {{{"ref", "v1"}}});
    CHECK(n.builds("p", "a").size() == 1);
    CHECK(n.builds("p", "b").size() == 1);
    auto versions = n.ok(proto::list_versions{"p", "code", 0})["versions"];
    CHECK(versions.size() == 1);
  }

  TEST_CASE("passed: fan-in runs on versions both upstream jobs passed, once per version") {
    node_fixture n;
    n.set("p", source_type + job_on_code("unit") + job_on_code("lint") +
                   job_on_code("deploy", "    passed = [\"unit\", \"lint\"]\n"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    n.finish("unit");
    CHECK_FALSE(n.dispatched("deploy"));  // lint has not passed v1 yet
    n.finish("lint");
    auto deploy = n.builds("p", "deploy");
    REQUIRE(deploy.size() == 1);
    auto v1 = input_version(deploy[0]);
    CHECK(deploy[0]["trigger"]["type"] == "passed");
    n.finish("deploy");

    // v2: lint fails, so deploy never sees v2
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {{{"ref", "v2"}}});
    n.finish("unit");
    n.finish("lint", work::status::failed);
    CHECK(n.builds("p", "deploy").size() == 1);

    // a manual trigger takes the highest version that passed both: v1, not the latest v2
    auto manual = n.ok(proto::trigger_job{"p", "deploy", {}, {}}, 201)["build"];
    CHECK(input_version(manual) == v1);
    CHECK(manual["number"] == "2");
  }

  TEST_CASE("a job added by a re-set does not replay older versions (baseline)") {
    node_fixture n;
    n.set("p", source_type + job_on_code("unit"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    n.finish("unit");
    n.set("p",
          source_type + job_on_code("unit") + job_on_code("deploy", "    passed = [\"unit\"]\n"),
          200);
    // unit passes v1 again (a manual run): deploy's baseline is after v1, so nothing runs
    n.ok(proto::trigger_job{"p", "unit", {}, {}}, 201);
    n.finish("unit");
    CHECK_FALSE(n.dispatched("deploy"));
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {{{"ref", "v2"}}});
    n.finish("unit");
    CHECK(n.dispatched("deploy"));
  }

  TEST_CASE("numbering and retries: n.k under the parent, with the parent's versions") {
    node_fixture n;
    n.set("p", source_type + job_on_code("a"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    n.finish("a", work::status::failed);
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {{{"ref", "v2"}}});
    n.finish("a");
    auto r1 = n.ok(proto::retry_build{"p", "a", "1"}, 201)["build"];
    CHECK(r1["number"] == "1.1");
    CHECK(r1["trigger"]["type"] == "retry");
    CHECK(input_version(r1) == input_version(n.builds("p", "a").back()));  // build 1's version
    // a pending or started build cannot be retried
    CHECK(n.call(proto::retry_build{"p", "a", "1.1"}).status == 409);
    n.finish("a");
    CHECK(n.ok(proto::retry_build{"p", "a", "1.1"}, 201)["build"]["number"] == "1.2");
    n.finish("a");
    CHECK(n.ok(proto::trigger_job{"p", "a", {}, {}}, 201)["build"]["number"] == "3");
    CHECK(n.call(proto::retry_build{"p", "a", "9"}).status == 404);
  }

  TEST_CASE("approval gate: a waiting build holds no slot; distinct approvals admit it") {
    node_fixture n(/*max_in_flight*/ 1);
    n.set("p", source_type + job_on_code("a") +
                   "job \"gate2\" {\n  approve \"x\" { approvals = 2 }\n"
                   "  task \"t\" {\n    run \"exec\" { path = \"/bin/true\" }\n  }\n}\n");
    auto b = n.ok(proto::trigger_job{"p", "gate2", {}, {}}, 201)["build"];
    CHECK(b["status"] == "waiting_for_approval");
    CHECK(b["approvals_required"] == 2);
    // the only slot goes to a build of another job
    n.check_finds("src.code", {{{"ref", "v1"}}});
    CHECK(n.dispatched("a"));
    CHECK_FALSE(n.dispatched("gate2"));
    CHECK(n.call(proto::mark_warning{"p", "gate2", "1", "alice"}).status == 409);
    auto one = n.ok(proto::decide_build{"p", "gate2", "1", "alice", true, ""})["build"];
    CHECK(one["status"] == "waiting_for_approval");
    n.ok(proto::decide_build{"p", "gate2", "1", "alice", true, "again"});
    CHECK(n.ok(proto::get_build{"p", "gate2", "1", 0})["build"]["approvals"].size() == 1);
    auto two = n.ok(proto::decide_build{"p", "gate2", "1", "bob", true, ""})["build"];
    CHECK(two["status"] == "pending");
    CHECK_FALSE(n.dispatched("gate2"));  // behind build a, for the one slot
    n.finish("a");
    n.finish("gate2", work::status::failed);
    auto failed = n.ok(proto::get_build{"p", "gate2", "1", 0})["build"];
    CHECK(failed["status"] == "failed");
    CHECK(n.call(proto::decide_build{"p", "gate2", "1", "carol", true, ""}).status == 409);
    // marked as warning: once, and only a failed build
    auto marked = n.ok(proto::mark_warning{"p", "gate2", "1", "carol"})["build"];
    CHECK(marked["status"] == "warning");
    CHECK(marked["reason"] == "marked as warning by carol (step \"x\" failed)");
    CHECK(n.call(proto::mark_warning{"p", "gate2", "1", "carol"}).status == 409);
    // its retry passed the gate already
    CHECK(n.ok(proto::retry_build{"p", "gate2", "1"}, 201)["build"]["status"] == "pending");
    CHECK(n.dispatched("gate2"));
  }

  TEST_CASE("approval gate: passed makes no second build while one waits; rejection, cancel") {
    node_fixture n;
    n.set("p", source_type + job_on_code("up") +
                   "job \"down\" {\n  approve \"x\" {}\n  get \"src\" \"code\" {\n"
                   "    trigger = true\n    passed = [\"up\"]\n  }\n  task \"t\" {\n"
                   "    run \"exec\" { path = \"/bin/true\" }\n  }\n}\n");
    n.check_finds("src.code", {{{"ref", "v1"}}});
    n.finish("up");
    auto down = n.builds("p", "down");
    REQUIRE(down.size() == 1);
    CHECK(down[0]["status"] == "waiting_for_approval");
    CHECK(down[0]["trigger"]["type"] == "passed");
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {{{"ref", "v2"}}});
    n.finish("up");
    CHECK(n.builds("p", "down").size() == 1);  // v2 waits for the waiting build
    auto rejected = n.ok(proto::decide_build{"p", "down", "1", "alice", false, "no"})["build"];
    CHECK(rejected["status"] == "failed");
    CHECK(rejected["reason"] == "rejected by alice: no");
    CHECK_FALSE(n.dispatched("down"));
    auto later = n.ok(proto::trigger_job{"p", "down", {}, {}}, 201)["build"];
    CHECK(later["status"] == "waiting_for_approval");
    auto number = later["number"].get<std::string>();
    auto cancelled = n.ok(proto::cancel_build{"p", "down", number, "bob"})["build"];
    CHECK(cancelled["status"] == "cancelled");
    CHECK(n.call(proto::decide_build{"p", "down", number, "bob", true, ""}).status == 409);
    CHECK_FALSE(n.dispatched("down"));
  }

  TEST_CASE("cancel: a pending build never starts, a started one is cancelled on the worker") {
    node_fixture n(/*max_in_flight*/ 1);
    n.set("p", source_type + job_on_code("a"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    auto second = n.ok(proto::trigger_job{"p", "a", {}, {}}, 201)["build"];
    CHECK(second["status"] == "pending");
    auto cancelled = n.ok(proto::cancel_build{"p", "a", "2", "alice"})["build"];
    CHECK(cancelled["status"] == "cancelled");
    CHECK(cancelled["reason"] == "cancelled by alice");
    n.finish("a");  // build 1 frees the only slot
    CHECK_FALSE(n.dispatched("a"));
    CHECK(n.call(proto::cancel_build{"p", "a", "2", "alice"}).status == 409);

    n.ok(proto::trigger_job{"p", "a", {}, {}}, 201);
    auto w = n.take_build("a");
    n.start(w);
    CHECK(n.ok(proto::cancel_build{"p", "a", "3", "bob"})["build"]["status"] == "cancelled");
    REQUIRE(n.worker->cancels.size() == 1);
    CHECK(n.worker->cancels[0].id == w.key.id);
  }

  TEST_CASE("stopping: nothing more is dispatched; a build the worker declined is pending again") {
    node_fixture n(/*max_in_flight*/ 1);
    n.worker->accept = false;  // the worker declines what it is sent while it stops
    n.set("p", source_type + job_on_code("a"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    CHECK(n.ok(proto::trigger_job{"p", "a", {}, {}}, 201)["build"]["status"] == "pending");
    // SIGTERM: the queue stops first
    auto pending = std::make_shared<int>(-1);
    n.sys->spawn([pending, q = n.queue](caf::event_based_actor* self) {
      self->request(q, caf::infinite, proto::shutdown_atom::value).then([pending](int k) {
        *pending = k;
      });
    });
    n.run();
    CHECK(*pending == 1);
    // build 1 was handed out just before; the stopping worker declines it: nothing ran
    auto w = n.take_build("a");
    work::build_result declined{work::status::errored, "worker stopping"};
    declined.declined = true;
    caf::anon_send(w.owner, proto::build_done_atom::value, w.key, declined);
    caf::anon_send(w.slots, proto::release_atom::value, w.key.id);
    n.run();
    auto builds = n.builds("p", "a");
    REQUIRE(builds.size() == 2);
    for (const auto& b : builds) CHECK_MESSAGE(b["status"] == "pending", b.dump());
    CHECK_FALSE(n.dispatched("a"));  // the freed slot is not used
    CHECK(n.call(proto::trigger_job{"p", "a", {}, {}}).status == 503);
  }

  TEST_CASE("pause: triggers of a paused job are refused; versions found while paused skip it") {
    node_fixture n;
    n.set("p", source_type + job_on_code("a"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    n.finish("a");
    n.ok(proto::pause_job{"p", "a", true});
    CHECK(n.call(proto::trigger_job{"p", "a", {}, {}}).status == 409);
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {{{"ref", "v2"}}});
    CHECK_FALSE(n.dispatched("a"));
    n.ok(proto::pause_job{"p", "a", false});
    n.ok(proto::pause_pipeline{"p", true});
    auto jobs = n.ok(proto::list_jobs{"p"})["jobs"];
    CHECK(jobs[0]["paused"] == true);
    CHECK(n.call(proto::trigger_job{"p", "a", {}, {}}).status == 409);
    n.ok(proto::pause_pipeline{"p", false});
    CHECK(n.ok(proto::trigger_job{"p", "a", {}, {}}, 201)["build"]["number"] == "2");
  }

  TEST_CASE("re-set reconciles: kept jobs keep their builds, removed ones go") {
    node_fixture n;
    n.set("p", source_type + job_on_code("a"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    n.finish("a");
    n.set("p", source_type + job_on_code("a") + job_on_code("b"), 200);
    CHECK(n.builds("p", "a").size() == 1);
    CHECK(n.ok(proto::get_job{"p", "b"})["job"]["name"] == "b");
    // versions survive too: b can be triggered with v1 at once
    CHECK(n.ok(proto::trigger_job{"p", "b", {}, {}}, 201)["build"]["number"] == "1");
    n.set("p", source_type + job_on_code("b"), 200);
    CHECK(n.call(proto::list_builds{"p", "a", {}, 0}).status == 404);
    CHECK(n.ok(proto::get_pipeline{"p"})["pipeline"]["jobs"].size() == 1);
  }

  TEST_CASE("the check schedule: due at creation, then at every interval; one at a time") {
    node_fixture n;
    n.set("p", source_type + job_on_code("a"));
    auto first = n.take_check("src.code");  // due once at creation
    // while a check is in flight, the timer and a manual request do not start a second one
    n.fire_timers();
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    CHECK(n.worker->checks.empty());
    caf::anon_send(first.owner, proto::check_done_atom::value, first.sequence,
                   work::check_result{});
    n.run();
    // ... the manual request runs right after it
    n.check_finds("src.code", {});
    CHECK(n.worker->checks.empty());
    // and the next interval starts the next one
    n.fire_timers();
    CHECK(n.worker->checks.size() == 1);
    auto state = n.ok(proto::list_resources{"p"})["resources"][0];
    CHECK(state["last_check_at"].is_string());
    CHECK(state["next_check_at"].is_string());
  }

  TEST_CASE("pin: triggers and manual builds use the pinned version; unpin goes back to latest") {
    node_fixture n;
    n.set("p", source_type + job_on_code("a"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    n.finish("a");
    auto v1 = input_version(n.builds("p", "a")[0]);
    auto pinned = n.ok(proto::pin_resource{"p", "src.code", v1})["resource"];
    CHECK(pinned["pinned_version_id"] == v1);
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {{{"ref", "v2"}}});
    CHECK_FALSE(n.dispatched("a"));  // v2 is not the pin
    CHECK(input_version(n.ok(proto::trigger_job{"p", "a", {}, {}}, 201)["build"]) == v1);
    n.finish("a");
    CHECK(n.ok(proto::pin_resource{"p", "src.code", std::nullopt})["resource"]["pinned_version_id"]
              .is_null());
    CHECK(input_version(n.ok(proto::trigger_job{"p", "a", {}, {}}, 201)["build"]) > v1);
    CHECK(n.call(proto::pin_resource{"p", "src.code", 999}).status == 404);
  }

  TEST_CASE("the queue: FIFO within the global cap; a full queue rejects and creates nothing") {
    node_fixture n(/*max_in_flight*/ 1, /*max_queue_size*/ 1);
    n.set("p", source_type + job_on_code("a") + job_on_code("b"));
    CHECK(n.call(proto::trigger_job{"p", "a", {}, {}}).status == 409);  // no version yet
    n.check_finds("src.code", {{{"ref", "v1"}}});
    // a runs, b waits
    CHECK(n.dispatched("a"));
    CHECK_FALSE(n.dispatched("b"));
    auto queue = n.ok(proto::get_queue{});
    CHECK(queue["in_flight"] == 1);
    REQUIRE(queue["pending"].size() == 1);
    CHECK(queue["pending"][0]["blocked_by"] == "max_in_flight");
    auto full = n.call(proto::trigger_job{"p", "a", {}, {}});
    CHECK(full.status == 503);
    CHECK(full.body["error"]["code"] == "queue_full");
    CHECK(full.headers.size() == 1);
    CHECK(n.builds("p", "a").size() == 1);  // nothing created
    n.finish("a");
    CHECK(n.dispatched("b"));
    // the number the rejected trigger would have used is still free
    CHECK(n.ok(proto::trigger_job{"p", "a", {}, {}}, 201)["build"]["number"] == "2");
  }
}

namespace {

/// Jobs with an `env` input and no gets, so triggers need no versions.
std::string input_job(const std::string& name, const std::string& extra = "") {
  return "job \"" + name + "\" {\n" + extra +
         "  input \"env\" {\n    type = string\n    default = \"dev\"\n  }\n  task \"t\" {\n"
         "    run \"exec\" { path = \"/bin/true\" }\n  }\n}\n";
}

json trigger(node_fixture& n, const std::string& job, const std::string& env = "dev") {
  return n.ok(proto::trigger_job{"p", job, {{"env", env}}, {}}, 201)["build"];
}

/// The blocked_by of every pending build, in queue order, joined with ",".
std::string blocked(node_fixture& n) {
  std::string out;
  auto queue = n.ok(proto::get_queue{});
  for (const auto& p : queue["pending"])
    out += (out.empty() ? "" : ",") + p["blocked_by"].get<std::string>();
  return out;
}

}  // namespace

TEST_SUITE("server actors: concurrency rules") {
  TEST_CASE("invalid rules are refused with 400 and change nothing") {
    node_fixture n;
    n.set("p", input_job("a"));
    CHECK(n.call(proto::set_concurrency{"p", "parallel", "", false}).status == 400);
    CHECK(n.call(proto::set_concurrency{"p", "group", "", false}).status == 400);
    CHECK(n.call(proto::set_concurrency{"p", "serial", "{{.Job}}", false}).status == 400);
    CHECK(n.call(proto::set_concurrency{"p", "serial", "", true}).status == 400);
    auto bad = n.call(proto::set_concurrency{"p", "group", "{{if .Job}}", false});
    CHECK(bad.status == 400);
    CHECK(bad.body["error"]["message"] ==
          "template: group:1: unexpected EOF: missing {{end}} for {{if}}");
    CHECK(n.ok(proto::get_pipeline{"p"})["pipeline"]["concurrency"]["mode"] == "");
    n.ok(proto::set_concurrency{"p", "group", "{{.Job}}", true});
    auto c = n.ok(proto::get_pipeline{"p"})["pipeline"]["concurrency"];
    CHECK(c == json{{"mode", "group"}, {"group_template", "{{.Job}}"}, {"cancel_running", true}});
  }

  TEST_CASE("serial: one build of the pipeline at a time, the rest wait in order") {
    node_fixture n;
    n.set("p", input_job("a") + input_job("b"));
    n.ok(proto::set_concurrency{"p", "serial", "", false});
    trigger(n, "a");
    trigger(n, "b");
    trigger(n, "a");
    CHECK(n.worker->builds.size() == 1);
    CHECK(blocked(n) == "serial,serial");
    n.finish("a");
    CHECK(n.dispatched("b"));
    CHECK_FALSE(n.dispatched("a"));
    n.finish("b");
    CHECK(n.dispatched("a"));
  }

  TEST_CASE("group: same key serializes, other keys run; no head-of-line blocking") {
    node_fixture n;
    n.set("p", input_job("deploy"));
    n.ok(proto::set_concurrency{"p", "group", "deploy-{{index .Inputs \"env\"}}", false});
    auto first = trigger(n, "deploy", "prod");
    CHECK(first["concurrency_group"] == "deploy-prod");
    trigger(n, "deploy", "prod");
    trigger(n, "deploy", "staging");  // behind a waiting build, still starts
    CHECK(n.worker->builds.size() == 2);
    CHECK(blocked(n) == "group:deploy-prod");
    // the build of the busy group states why it waits
    auto pending = n.ok(proto::get_build{"p", "deploy", "2", 0})["build"];
    CHECK(pending["status"] == "pending");
    CHECK(pending["blocked_by"] == "group:deploy-prod");
    CHECK_FALSE(n.ok(proto::get_build{"p", "deploy", "1", 0})["build"].contains("blocked_by"));
    n.finish("deploy");  // build 1 (prod) ends: build 2 takes the group
    CHECK(n.worker->builds.size() == 2);
    CHECK(n.worker->builds[1].plan->number == "2");
  }

  TEST_CASE("--max-queue-size 0 disables queuing: a build starts at once or is refused") {
    node_fixture n(/*max_in_flight*/ 1, /*max_queue_size*/ 0);
    n.set("p", input_job("a"));
    CHECK(trigger(n, "a")["number"] == "1");
    auto refused = n.call(proto::trigger_job{"p", "a", {}, {}});
    CHECK(refused.status == 503);
    CHECK(refused.body["error"]["code"] == "queue_full");
    CHECK(n.metrics().find("pikoci_queue_rejected_total 1\n") != std::string::npos);
    n.finish("a");
    CHECK(trigger(n, "a")["number"] == "2");
  }

  TEST_CASE("a template that renders empty records a failed build") {
    node_fixture n;
    n.set("p", input_job("deploy"));
    n.ok(proto::set_concurrency{"p", "group", "{{.Webhook.Branch}}", false});
    auto b = trigger(n, "deploy");
    CHECK(b["status"] == "failed");
    CHECK(b["reason"] == "concurrency group: the template rendered an empty key");
    CHECK(n.worker->builds.empty());
  }

  TEST_CASE("cancel_running: running peers are cancelled, queued peers skipped") {
    node_fixture n;
    n.set("p", input_job("deploy"));
    n.ok(proto::set_concurrency{"p", "group", "{{.Job}}", true});
    trigger(n, "deploy");
    auto running = n.take_build("deploy");
    n.start(running);
    auto newer = trigger(n, "deploy");  // supersedes build 1
    auto id = newer["id"].get<std::int64_t>();
    auto one = n.ok(proto::get_build{"p", "deploy", "1", 0})["build"];
    CHECK(one["status"] == "cancelled");
    CHECK(one["reason"] == "superseded by build " + std::to_string(id));
    REQUIRE(n.worker->cancels.size() == 1);
    CHECK(n.worker->cancels[0].id == running.key.id);
    // build 2 waits for build 1's processes to end; a third supersedes it while it is queued
    auto third = trigger(n, "deploy");
    auto two = n.ok(proto::get_build{"p", "deploy", "2", 0})["build"];
    CHECK(two["status"] == "skipped");
    CHECK(two["reason"] == "superseded by build " + std::to_string(third["id"].get<int>()));
  }

  TEST_CASE("skip-if-running: a trigger while the pipeline runs is recorded as skipped") {
    node_fixture n;
    n.set("p", input_job("a") + input_job("b"));
    n.ok(proto::set_concurrency{"p", "skip-if-running", "", false});
    CHECK(trigger(n, "a")["status"] == "pending");
    auto skipped = trigger(n, "b");
    CHECK(skipped["status"] == "skipped");
    CHECK(skipped["reason"] == "skipped: pipeline already running");
    n.finish("a");
    CHECK(trigger(n, "b")["status"] == "pending");
    auto m = n.metrics();
    CHECK(m.find("pikoci_builds_skipped_total{reason=\"skip_if_running\"} 1\n") !=
          std::string::npos);
    CHECK(m.find("pikoci_builds_in_flight 1\n") != std::string::npos);
    CHECK(m.find("pikoci_trigger_to_start_seconds_count 2\n") != std::string::npos);
    CHECK(m.find("pikoci_trigger_to_start_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
  }

  TEST_CASE("job concurrency and serial groups") {
    node_fixture n;
    n.set("p", input_job("a", "  concurrency = 2\n") +
                   input_job("b", "  serial_groups = [\"db\"]\n") +
                   input_job("c", "  serial_groups = [\"db\"]\n"));
    for (int i = 0; i < 3; ++i) trigger(n, "a");
    trigger(n, "b");
    trigger(n, "c");
    CHECK(blocked(n) == "job_concurrency,serial_group:db");
    n.finish("a");
    CHECK(blocked(n) == "serial_group:db");
    n.finish("b");
    CHECK(blocked(n) == "");
    CHECK(n.dispatched("c"));
  }

  TEST_CASE("a resource trigger the full queue refused is retried at the next check") {
    node_fixture n(/*max_in_flight*/ 1, /*max_queue_size*/ 1);
    n.set("p", source_type + job_on_code("a") + job_on_code("b") + job_on_code("c"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    // a runs, b waits, c was refused
    CHECK(n.builds("p", "c").empty());
    n.finish("a");
    CHECK(n.builds("p", "c").empty());  // a finished build is no check
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {});  // nothing new, but the refused trigger runs now
    auto c = n.builds("p", "c");
    REQUIRE(c.size() == 1);
    CHECK(c[0]["trigger"]["type"] == "resource");
    CHECK(input_version(c[0]) == 1);
    // once only
    n.finish("b");
    n.ok(proto::check_resource{"p", "src.code"}, 202);
    n.check_finds("src.code", {});
    CHECK(n.builds("p", "c").size() == 1);
  }

  TEST_CASE("a passed trigger the full queue refused is retried when a build leaves the queue") {
    node_fixture n(/*max_in_flight*/ 1, /*max_queue_size*/ 1);
    n.set("p", source_type + job_on_code("a") + job_on_code("b") +
                   job_on_code("d", "    passed = [\"a\"]\n"));
    n.check_finds("src.code", {{{"ref", "v1"}}});
    // a passes while b fills the queue: d is refused, then created once b starts
    n.finish("a");
    auto d = n.builds("p", "d");
    REQUIRE(d.size() == 1);
    CHECK(d[0]["trigger"]["type"] == "passed");
    CHECK(d[0]["status"] == "pending");
    n.finish("b");
    n.finish("d");
    CHECK(n.builds("p", "d").size() == 1);
  }

  TEST_CASE("randomized: caps, groups, job limits and FIFO hold under random traffic") {
    node_fixture n(/*max_in_flight*/ 4, /*max_queue_size*/ 100000);
    std::string hcl;
    for (int j = 0; j < 6; ++j)
      hcl += input_job("j" + std::to_string(j),
                       (j % 2 == 0 ? "  concurrency = 1\n" : "") +
                           std::string(j >= 4 ? "  serial_groups = [\"sg\"]\n" : ""));
    n.set("p", hcl);
    n.ok(proto::set_concurrency{"p", "group", "{{index .Inputs \"env\"}}", false});
    std::mt19937 rng(7);
    auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<unsigned>(k)); };
    struct started_info {
      std::string job, group;
    };
    std::map<std::int64_t, started_info> running;      // by build id
    std::map<std::string, std::int64_t> last_started;  // group → highest id started
    std::map<std::int64_t, std::string> group_of;
    int triggered = 0, violations = 0;
    auto observe = [&] {
      // every build the worker got since the last look is running now
      for (auto& w : n.worker->builds) {
        if (running.count(w.key.id) != 0) continue;
        const auto& g = group_of.at(w.key.id);
        if (last_started.count(g) != 0 && last_started[g] > w.key.id) ++violations;  // FIFO
        last_started[g] = std::max(last_started[g], w.key.id);
        running[w.key.id] = {w.plan->job, g};
      }
      std::map<std::string, int> per_group, per_job;
      int sg = 0;
      for (const auto& [id, r] : running) {
        violations += ++per_group[r.group] > 1;
        int limit = (r.job == "j0" || r.job == "j2" || r.job == "j4") ? 1 : 1000;
        violations += ++per_job[r.job] > limit;
        sg += r.job == "j4" || r.job == "j5";
      }
      violations += running.size() > 4;
      violations += sg > 1;
    };
    while (triggered < 1000 || !running.empty()) {
      int action = pick(10);
      if (triggered < 1000 && action < 5) {
        auto job = "j" + std::to_string(pick(6));
        auto env = "g" + std::to_string(pick(10));
        auto b = trigger(n, job, env);
        group_of[b["id"].get<std::int64_t>()] = env;
        ++triggered;
      } else if (!running.empty() && action < 9) {
        auto it = std::next(running.begin(), pick(static_cast<int>(running.size())));
        auto id = it->first;
        running.erase(it);
        auto w = std::find_if(n.worker->builds.begin(), n.worker->builds.end(),
                              [&](const proto::build_work& x) { return x.key.id == id; });
        auto key = w->key;
        auto owner = w->owner;
        auto slots = w->slots;
        n.worker->builds.erase(w);
        caf::anon_send(owner, proto::accepted_atom::value, key, std::string("scripted"));
        caf::anon_send(owner, proto::build_done_atom::value, key, work::build_result{});
        caf::anon_send(slots, proto::release_atom::value, key.id);
        n.run();
      } else if (triggered > 0) {
        // cancel a random build (pending ones leave the queue; started ones keep their slot
        // until the worker reports them done, like a real one)
        auto id = std::next(group_of.begin(), pick(static_cast<int>(group_of.size())))->first;
        (void)n.call(proto::cancel_build{"p", "", "", "test", id});
      }
      observe();
    }
    CHECK(triggered == 1000);
    CHECK(violations == 0);
    CHECK(n.ok(proto::get_queue{})["queued"] == 0);
  }
}

TEST_SUITE("server actors: why builds wait for workers") {
  TEST_CASE("no worker, then tags no worker holds: the build and the queue say the same") {
    node_fixture n;
    n.set("p", input_job("gpu", "  tags = [\"gpu\"]\n") + input_job("any"));
    caf::anon_send(n.queue, proto::slots_atom::value, proto::worker_pool{});
    n.run();
    trigger(n, "gpu");
    trigger(n, "any");
    CHECK(n.worker->builds.empty());
    CHECK(blocked(n) == "no worker,no worker");
    auto queue = n.ok(proto::get_queue{});
    CHECK(queue["in_flight"] == 0);
    // a worker without the tag: the untagged build starts, the tagged one still waits
    caf::anon_send(n.queue, proto::slots_atom::value,
                   proto::worker_pool{{"w1", {"linux"}, false, true, false, 2}});
    n.run();
    CHECK(n.dispatched("any"));
    CHECK_FALSE(n.dispatched("gpu"));
    CHECK(blocked(n) == "no worker with tags [gpu]");
    auto b = n.ok(proto::get_build{"p", "gpu", "1", 0})["build"];
    CHECK(b["status"] == "pending");
    CHECK(b["blocked_by"] == "no worker with tags [gpu]");
    CHECK(n.ok(proto::get_stats{})["blocked_by"]["no worker with tags [gpu]"] == 1);
  }

  TEST_CASE("max_in_flight only at the cap; busy workers and checks-only workers say so") {
    node_fixture n(/*max_in_flight*/ 3);
    n.set("p", input_job("a"));
    caf::anon_send(n.queue, proto::slots_atom::value,
                   proto::worker_pool{{"c", {}, false, false, false, 4}});
    n.run();
    trigger(n, "a");
    CHECK(blocked(n) == "no worker for queue jobs");
    caf::anon_send(n.queue, proto::slots_atom::value,
                   proto::worker_pool{{"w", {}, false, true, false, 1}});
    n.run();
    trigger(n, "a");
    CHECK(blocked(n) == "workers busy");
    caf::anon_send(n.queue, proto::slots_atom::value,
                   proto::worker_pool{{"w", {}, false, true, false, 5}});
    n.run();
    trigger(n, "a");
    trigger(n, "a");
    CHECK(n.worker->builds.size() == 3);
    CHECK(blocked(n) == "max_in_flight");
  }

  TEST_CASE("a dispatched build is pending, not started, until a worker accepts it") {
    node_fixture n;
    n.worker->accept = false;
    n.set("p", input_job("a"));
    trigger(n, "a");
    REQUIRE(n.dispatched("a"));
    auto queue = n.ok(proto::get_queue{});
    CHECK(queue["started"].empty());
    REQUIRE(queue["pending"].size() == 1);
    CHECK(queue["pending"][0]["blocked_by"] == "dispatched, not accepted yet");
    auto b = n.ok(proto::get_build{"p", "a", "1", 0})["build"];
    CHECK(b["status"] == "pending");
    CHECK(b["blocked_by"] == "dispatched, not accepted yet");
    n.start(n.worker->builds[0]);
    queue = n.ok(proto::get_queue{});
    CHECK(queue["started"].size() == 1);
    CHECK(queue["pending"].empty());
  }

  TEST_CASE("a build sent out again keeps the earlier attempt's output under its marker") {
    node_fixture n;
    n.set("p", input_job("a"));
    trigger(n, "a");
    auto w = n.worker->builds.at(0);
    work::step_ref step{"s1", "task", "t", "", false};
    caf::anon_send(w.owner, proto::step_start_atom::value, w.key, step);
    caf::anon_send(w.owner, proto::step_log_atom::value, w.key, step, std::string("first\n"));
    proto::build_key again{w.key.id, 2};
    caf::anon_send(w.owner, proto::redispatch_atom::value, again,
                   std::string("worker scripted lost: stopped sending heartbeats"));
    // a late event of attempt 1 is ignored
    caf::anon_send(w.owner, proto::step_log_atom::value, w.key, step, std::string("late\n"));
    caf::anon_send(w.owner, proto::accepted_atom::value, again, std::string("w2"));
    caf::anon_send(w.owner, proto::step_start_atom::value, again, step);
    caf::anon_send(w.owner, proto::step_log_atom::value, again, step, std::string("second\n"));
    n.run();
    auto b = n.ok(proto::get_build{"p", "a", "1", 0})["build"];
    CHECK(b["attempt"] == 2);
    CHECK(b["worker"] == "w2");
    CHECK(b["status"] == "started");
    REQUIRE(b["attempts"].size() == 1);
    CHECK(b["attempts"][0]["marker"] == "--- attempt 1 (worker scripted) ---");
    CHECK(b["attempts"][0]["steps"][0]["logs"] == "first\n");
    CHECK(b["attempt_marker"] ==
          "--- attempt 2 (worker scripted lost: stopped sending heartbeats) ---");
    CHECK(b["steps"][0]["logs"] == "second\n");
  }
}
