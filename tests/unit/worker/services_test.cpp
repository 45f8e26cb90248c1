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

#include "actors/worker/build_executor.hpp"

using namespace pikoci;
using namespace pikoci::worker;
using namespace std::chrono_literals;

namespace {

struct events : build_sink {
  std::mutex mu;
  std::vector<std::string> seen;  // "start:<name>", "finish:<name>:<status>"
  std::map<std::string, std::string> logs;
  void step_started(const step_ref& s) override {
    std::lock_guard<std::mutex> l(mu);
    CHECK(s.type == (s.name.find(':') != std::string::npos ? "service" : "task"));
    seen.push_back("start:" + s.name);
  }
  void log(const step_ref& s, std::string_view chunk) override {
    std::lock_guard<std::mutex> l(mu);
    logs[s.name].append(chunk);
  }
  void step_finished(const step_ref& s, const step_result& r) override {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back("finish:" + s.name + ":" + to_string(r.st));
  }
  bool saw(const std::string& e) {
    std::lock_guard<std::mutex> l(mu);
    return std::find(seen.begin(), seen.end(), e) != seen.end();
  }
  std::size_t index(const std::string& e) {
    std::lock_guard<std::mutex> l(mu);
    return static_cast<std::size_t>(std::find(seen.begin(), seen.end(), e) - seen.begin());
  }
};

work::command_spec sh(const std::string& script) {
  return {{"$shell", {"-ec", "$cmd"}}, {{"shell", "/bin/sh"}, {"cmd", script}}, {}};
}

work::service_plan service(const std::string& name, const std::string& start,
                           std::optional<std::string> ready, const std::string& stop) {
  work::service_plan s;
  s.name = name;
  s.start = sh(start);
  if (ready) s.ready = sh(*ready);
  s.stop = sh(stop);
  s.interval = 50ms;
  s.timeout = 5s;
  return s;
}

work::step_plan task(const std::string& name, const std::string& script) {
  work::step_plan s;
  s.kind = work::step_kind::task;
  s.name = name;
  s.command = sh(script);
  return s;
}

struct fixture {
  std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("pikoci-services-test-" + std::to_string(getpid()));
  executor_options opts;
  events ev;
  build_cancel cancel;
  fixture() {
    std::filesystem::create_directories(root);
    opts.work_root = root;
    opts.worker_env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    opts.grace = 500ms;
  }
  ~fixture() { std::filesystem::remove_all(root); }
  build_result run(work::build_plan plan) {
    plan.build_id = 3;
    plan.env = {{"BUILD_NUMBER", "4"}, {"BUILD_JOB_NAME", "test"}, {"BUILD_PIPELINE_NAME", "p"}};
    return execute_build(plan, opts, ev, cancel);
  }
};

}  // namespace

TEST_SUITE("worker.services") {
  TEST_CASE("starts in order, ready checks, then the steps, then stop; the task sees the service") {
    fixture f;
    work::build_plan plan;
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
    CHECK(f.ev.logs["db:start"] == "started p/test/4 v=15\n");
    CHECK(f.ev.logs["use"] == "up\n");
    CHECK(f.ev.logs["db:stop"] == "stopping\n");
    CHECK(f.ev.index("start:db:start") < f.ev.index("start:cache:start"));
    CHECK(f.ev.index("finish:cache:start:succeeded") < f.ev.index("start:db:ready"));
    CHECK(f.ev.index("finish:db:ready:succeeded") < f.ev.index("start:use"));
    CHECK(f.ev.index("finish:use:succeeded") < f.ev.index("start:db:stop"));
    CHECK(f.ev.index("start:db:stop") < f.ev.index("start:cache:stop"));
    CHECK_FALSE(f.ev.saw("start:cache:ready"));  // no ready_check, no step
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
    CHECK(f.ev.saw("finish:b:start:failed"));
    CHECK(f.ev.logs["b:start"] == "b\n\nexit status 3");
    CHECK_FALSE(f.ev.saw("start:c:start"));
    CHECK_FALSE(f.ev.saw("start:never"));
    CHECK(f.ev.saw("finish:a:stop:succeeded"));
    CHECK_FALSE(f.ev.saw("start:b:stop"));
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
    CHECK(f.ev.saw("finish:svc:ready:failed"));
    CHECK_FALSE(f.ev.saw("start:never"));
    CHECK(f.ev.saw("finish:svc:stop:succeeded"));
    CHECK(f.ev.logs["svc:ready"].find("not yet\n") == 0);  // polled more than once
    CHECK(f.ev.logs["svc:ready"].find("not yet\nnot yet\n") != std::string::npos);
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
    std::istringstream in(f.ev.logs["spans"]);
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
    CHECK(f.ev.saw("finish:svc:ready:cancelled"));
    CHECK_FALSE(f.ev.saw("start:never"));
    CHECK(f.ev.logs["svc:stop"] == "stopped\n");
  }

  TEST_CASE("a failing stop is recorded and never changes the build's status") {
    fixture f;
    work::build_plan plan;
    plan.services.push_back(service("svc", "true", std::nullopt, "echo oops; exit 2"));
    plan.steps.push_back(task("t", "true"));
    auto r = f.run(plan);
    CHECK(r.st == status::succeeded);
    CHECK(f.ev.saw("finish:svc:stop:failed"));
    CHECK(f.ev.logs["svc:stop"] == "oops\n\nexit status 2");
  }

  TEST_CASE("a failing task still stops the services") {
    fixture f;
    work::build_plan plan;
    plan.services.push_back(service("svc", "true", std::nullopt, "echo stopped"));
    plan.steps.push_back(task("t", "exit 1"));
    CHECK(f.run(plan).st == status::failed);
    CHECK(f.ev.logs["svc:stop"] == "stopped\n");
  }
}
