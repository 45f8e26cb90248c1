// Services in the build executor (seed 002, SPEC §7): starts in order, ready checks concurrently,
// then the steps, then stop for every started service whatever happened.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/unit/worker/executor_fixture.hpp"

using namespace pikoci;
using namespace pikoci::worker;
using namespace pikoci::worker::testing;
using namespace std::chrono_literals;

namespace {

work::service_plan service(const std::string& name, const std::string& start,
                           std::optional<std::string> ready, const std::string& stop) {
  work::service_plan s;
  s.name = name;
  s.start = shell(start);
  if (ready) s.ready = shell(*ready);
  s.stop = shell(stop);
  s.interval = 50ms;
  s.timeout = 5s;
  return s;
}

}  // namespace

TEST_SUITE("worker.services") {
  TEST_CASE("starts in order, ready checks, then the steps, then stop; the task sees the service") {
    fixture f;
    work::build_plan plan;
    plan.env = {{"BUILD_NUMBER", "4"}, {"BUILD_PIPELINE_NAME", "p"}};
    auto db = service("db",
                      "echo started $BUILD_PIPELINE_NAME/$BUILD_JOB_NAME/$BUILD_NUMBER "
                      "v=$param_version; echo up > $WORKDIR/db.pid",
                      "test -f $WORKDIR/db.pid", "echo stopping; rm $WORKDIR/db.pid");
    db.start.params["param_version"] = "15";
    plan.services.push_back(db);
    plan.services.push_back(service("cache", "echo cache", std::nullopt, "echo cache stop"));
    plan.steps.push_back(task("use", "cat $WORKDIR/db.pid"));
    auto r = f.run(plan);
    CHECK(r.st == status::succeeded);
    CHECK(f.rec.logs["db:start"] == "started p/unit/4 v=15\n");
    CHECK(f.rec.logs["use"] == "up\n");
    CHECK(f.rec.logs["db:stop"] == "stopping\n");
    CHECK(f.rec.index("start:db:start") < f.rec.index("start:cache:start"));
    CHECK(f.rec.index("finish:cache:start:succeeded") < f.rec.index("start:db:ready"));
    CHECK(f.rec.index("finish:db:ready:succeeded") < f.rec.index("start:use"));
    CHECK(f.rec.index("finish:use:succeeded") < f.rec.index("start:db:stop"));
    CHECK(f.rec.index("start:db:stop") < f.rec.index("start:cache:stop"));
    CHECK_FALSE(f.rec.saw("start:cache:ready"));  // no ready_check, no step
  }

  TEST_CASE("a failed start fails the build at once and stops only the ones already started") {
    fixture f;
    work::build_plan plan;
    plan.services.push_back(service("a", "echo a", std::nullopt, "echo a stopped"));
    plan.services.push_back(service("b", "echo b; exit 3", std::nullopt, "echo b stopped"));
    plan.services.push_back(service("c", "echo c", std::nullopt, "echo c stopped"));
    plan.steps.push_back(task("never", "echo ran"));
    auto r = f.run(plan);
    CHECK(r.st == status::failed);
    CHECK(r.reason == "service \"b\" failed to start: exit status 3");
    CHECK(f.rec.saw("finish:b:start:failed"));
    CHECK(f.rec.logs["b:start"] == "b\n\nexit status 3");
    CHECK_FALSE(f.rec.saw("start:c:start"));
    CHECK_FALSE(f.rec.saw("start:never"));
    CHECK(f.rec.saw("finish:a:stop:succeeded"));
    CHECK_FALSE(f.rec.saw("start:b:stop"));
  }

  TEST_CASE("a ready check that never passes fails the build; no task runs; stop still runs") {
    fixture f;
    work::build_plan plan;
    auto s = service("svc", "echo started", "echo not yet; exit 1", "echo stop");
    s.interval = 100ms;
    s.timeout = 500ms;
    plan.services.push_back(s);
    plan.steps.push_back(task("never", "echo ran"));
    auto t0 = std::chrono::steady_clock::now();
    auto r = f.run(plan);
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    CHECK(r.st == status::failed);
    CHECK(r.reason == "service \"svc\" not ready after 500ms");
    CHECK(f.rec.saw("finish:svc:ready:failed"));
    CHECK_FALSE(f.rec.saw("start:never"));
    CHECK(f.rec.saw("finish:svc:stop:succeeded"));
    CHECK(f.rec.logs["svc:ready"].find("not yet\n") == 0);  // polled more than once
    CHECK(f.rec.logs["svc:ready"].find("not yet\nnot yet\n") != std::string::npos);
  }

  TEST_CASE("ready checks of all services poll at the same time") {
    fixture f;
    work::build_plan plan;
    // each ready check records when it ran, then takes 400 ms
    for (const char* name : {"one", "two"})
      plan.services.push_back(service(name, "true",
                                      std::string("date +%s%N > $WORKDIR/") + name +
                                          ".from; sleep 0.4; date +%s%N > $WORKDIR/" + name + ".to",
                                      "true"));
    plan.steps.push_back(task("spans",
                              "cat $WORKDIR/one.from $WORKDIR/one.to $WORKDIR/two.from "
                              "$WORKDIR/two.to"));
    auto t0 = std::chrono::steady_clock::now();
    CHECK(f.run(plan).st == status::succeeded);
    CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
    std::istringstream in(f.rec.logs["spans"]);
    long long a0, a1, b0, b1;
    in >> a0 >> a1 >> b0 >> b1;
    CHECK(a0 < b1);  // the intervals overlap
    CHECK(b0 < a1);
  }

  TEST_CASE("a cancel while a ready check polls cancels the build and still stops the service") {
    fixture f;
    work::build_plan plan;
    auto s = service("svc", "echo started", "sleep 0.05; exit 1", "echo stopped");
    s.interval = 100ms;
    s.timeout = 60s;
    plan.services.push_back(s);
    plan.steps.push_back(task("never", "echo ran"));
    std::thread canceller([&] {
      std::this_thread::sleep_for(400ms);
      f.cancel.cancel();
    });
    auto t0 = std::chrono::steady_clock::now();
    auto r = f.run(plan);
    canceller.join();
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    CHECK(r.st == status::cancelled);
    CHECK(f.rec.saw("finish:svc:ready:cancelled"));
    CHECK_FALSE(f.rec.saw("start:never"));
    CHECK(f.rec.logs["svc:stop"] == "stopped\n");
  }

  TEST_CASE("a failing stop is recorded and never changes the build's status") {
    fixture f;
    work::build_plan plan;
    plan.services.push_back(service("svc", "true", std::nullopt, "echo oops; exit 2"));
    plan.steps.push_back(task("t", "true"));
    auto r = f.run(plan);
    CHECK(r.st == status::succeeded);
    CHECK(f.rec.saw("finish:svc:stop:failed"));
    CHECK(f.rec.logs["svc:stop"] == "oops\n\nexit status 2");
  }

  TEST_CASE("a job timeout still stops the services") {
    fixture f;
    work::build_plan plan;
    plan.timeout = 300ms;
    plan.services.push_back(service("svc", "true", std::nullopt, "echo stopped"));
    plan.steps.push_back(task("slow", "sleep 30"));
    auto t0 = std::chrono::steady_clock::now();
    auto r = f.run(plan);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(r.st == status::failed);
    CHECK(r.reason == "job timed out after 300ms");
    CHECK(f.rec.logs["svc:stop"] == "stopped\n");
  }

  TEST_CASE("a failing task still stops the services") {
    fixture f;
    work::build_plan plan;
    plan.services.push_back(service("svc", "true", std::nullopt, "echo stopped"));
    plan.steps.push_back(task("t", "exit 1"));
    CHECK(f.run(plan).st == status::failed);
    CHECK(f.rec.logs["svc:stop"] == "stopped\n");
  }
}
