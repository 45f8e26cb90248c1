// The build executor runs real processes: step order, exports, attempts, timeouts, hooks,
// in_parallel, cancel (reference §5.4).
#include <doctest/doctest.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "tests/unit/worker/executor_fixture.hpp"

using namespace pikoci;
using namespace pikoci::worker;
using namespace pikoci::worker::testing;
using namespace std::chrono_literals;

TEST_SUITE("worker.build_executor") {
  TEST_CASE("steps run in order and pass GET_ and TASK_ exports forward") {
    fixture f;
    work::build_plan plan;
    work::step_plan get;
    get.kind = work::step_kind::get;
    get.name = "src";
    get.version = {{"ref", "v2"}, {"meta", {{"n", 3}}}};
    get.command = shell("echo pulled $version_ref");
    get.command->params["version_ref"] = "v2";
    plan.steps.push_back(get);
    plan.steps.push_back(task(
        "compute", "echo ref=$GET_SRC_REF n=$GET_SRC_META_N; echo 'answer=42' > $PIKOCI_OUTPUT"));
    plan.steps.push_back(task("report", "echo answer=$TASK_COMPUTE_ANSWER job=$BUILD_JOB_NAME"));
    auto r = f.run(plan);
    CHECK(r.st == status::succeeded);
    CHECK(f.rec.logs["src"] == "pulled v2\n");
    CHECK(f.rec.logs["compute"] == "ref=v2 n=3\n");
    CHECK(f.rec.logs["report"] == "answer=42 job=unit\n");
    CHECK(f.rec.results["compute"].exports.at("TASK_COMPUTE_ANSWER") == "42");
  }

  TEST_CASE("a get without pull is a no-op success that still exports its version") {
    fixture f;
    work::build_plan plan;
    work::step_plan get;
    get.kind = work::step_kind::get;
    get.name = "src";
    get.version = {{"ref", "abc123"}};
    plan.steps.push_back(get);
    plan.steps.push_back(task("show", "echo ref=$GET_SRC_REF"));
    CHECK(f.run(plan).st == status::succeeded);
    CHECK(f.rec.logs["show"] == "ref=abc123\n");
  }

  TEST_CASE("the first failing step stops the plan with Go's exit text in log and reason") {
    fixture f;
    work::build_plan plan;
    plan.steps.push_back(task("ok", "echo fine"));
    plan.steps.push_back(task("broken", "echo about to fail; exit 1"));
    plan.steps.push_back(task("never", "echo no"));
    auto r = f.run(plan);
    CHECK(r.st == status::failed);
    CHECK(r.reason == "step \"broken\" failed: exit status 1");
    CHECK(f.rec.logs["broken"] == "about to fail\n\nexit status 1");
    CHECK_FALSE(f.rec.started("never"));
  }

  TEST_CASE("attempts retry in the same workdir with markers, hooks run once at the end") {
    fixture f;
    work::build_plan plan;
    auto t = task("flaky",
                  "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; "
                  "echo try $n; [ $n -ge 3 ]");
    t.attempts = 3;
    t.hooks.push_back(hook(work::hook_kind::on_success, "flaky:on_success", "echo hooked"));
    plan.steps.push_back(t);
    auto r = f.run(plan);
    CHECK(r.st == status::succeeded);
    const auto& log = f.rec.logs["flaky"];
    CHECK(log.find("try 1\n\nexit status 1\n--- attempt 2/3 ---\ntry 2") != std::string::npos);
    CHECK(log.find("--- attempt 3/3 ---\ntry 3\n") != std::string::npos);
    CHECK(std::count(f.rec.events.begin(), f.rec.events.end(), "start:flaky:on_success") == 1);
  }

  TEST_CASE("a step timeout kills the step and says so in its log") {
    fixture f;
    work::build_plan plan;
    auto t = task("slow", "sleep 10");
    t.timeout = 200ms;
    plan.steps.push_back(t);
    auto start = std::chrono::steady_clock::now();
    auto r = f.run(plan);
    CHECK(r.st == status::failed);
    CHECK(f.rec.logs["slow"] == "\nstep timed out after 200ms");
    CHECK(r.reason == "step \"slow\" failed: step timed out after 200ms");
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }

  TEST_CASE("a job timeout fails the build and runs on_cancel then ensure, not on_failure") {
    fixture f;
    work::build_plan plan;
    plan.timeout = 300ms;
    plan.steps.push_back(task("slow", "sleep 10"));
    plan.job_hooks.push_back(hook(work::hook_kind::on_failure, "on_failure", "echo failure"));
    plan.job_hooks.push_back(hook(work::hook_kind::ensure, "ensure", "echo ensure $BUILD_STATUS"));
    plan.job_hooks.push_back(hook(work::hook_kind::on_cancel, "on_cancel", "echo cancel"));
    auto r = f.run(plan);
    CHECK(r.st == status::failed);
    CHECK(r.reason == "job timed out after 300ms");
    CHECK_FALSE(f.rec.started("on_failure"));
    CHECK(f.rec.logs["on_cancel"] == "cancel\n");
    CHECK(f.rec.logs["ensure"] == "ensure failed\n");
    auto cancel_at = std::find(f.rec.events.begin(), f.rec.events.end(), "start:on_cancel");
    auto ensure_at = std::find(f.rec.events.begin(), f.rec.events.end(), "start:ensure");
    CHECK(cancel_at < ensure_at);
  }

  TEST_CASE("hooks run in the reference's order and never change the status") {
    fixture f;
    work::build_plan plan;
    auto t = task("test", "exit 2");
    t.hooks.push_back(hook(work::hook_kind::ensure, "test:ensure", "echo step-ensure"));
    t.hooks.push_back(hook(work::hook_kind::on_failure, "test:on_failure", "exit 9"));
    t.hooks.push_back(hook(work::hook_kind::on_success, "test:on_success", "echo no"));
    plan.steps.push_back(t);
    plan.job_hooks.push_back(hook(work::hook_kind::ensure, "ensure", "echo $BUILD_STATUS"));
    plan.job_hooks.push_back(hook(work::hook_kind::on_failure, "on_failure", "echo job-failure"));
    auto r = f.run(plan);
    CHECK(r.st == status::failed);
    REQUIRE(f.rec.decided);
    CHECK(f.rec.decided->st == status::failed);
    std::vector<std::string> expected{"start:test",
                                      "finish:test:failed",
                                      "start:test:on_failure",
                                      "finish:test:on_failure:failed",
                                      "start:test:ensure",
                                      "finish:test:ensure:succeeded",
                                      "start:on_failure",
                                      "finish:on_failure:succeeded",
                                      "start:ensure",
                                      "finish:ensure:succeeded"};
    CHECK(f.rec.events == expected);
    CHECK(f.rec.logs["ensure"] == "failed\n");
  }

  TEST_CASE("cancel stops the running step and runs on_cancel and ensure") {
    fixture f;
    work::build_plan plan;
    plan.steps.push_back(task("long", "sleep 30"));
    plan.steps.push_back(task("after", "echo no"));
    plan.job_hooks.push_back(hook(work::hook_kind::on_cancel, "on_cancel", "echo $BUILD_STATUS"));
    plan.job_hooks.push_back(hook(work::hook_kind::ensure, "ensure", "echo always"));
    std::thread canceller([&] {
      std::this_thread::sleep_for(200ms);
      f.cancel.cancel();
    });
    auto start = std::chrono::steady_clock::now();
    auto r = f.run(plan);
    canceller.join();
    CHECK(r.st == status::cancelled);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK_FALSE(f.rec.started("after"));
    CHECK(f.rec.logs["on_cancel"] == "cancelled\n");
    CHECK(f.rec.logs["ensure"] == "always\n");
  }

  TEST_CASE("in_parallel children overlap, see earlier exports and share theirs afterwards") {
    fixture f;
    work::build_plan plan;
    plan.steps.push_back(task("setup", "echo 'base=1' > $PIKOCI_OUTPUT"));
    work::step_plan group;
    group.kind = work::step_kind::in_parallel;
    group.name = "in_parallel";
    // each child waits (bounded) for the other to have started: only concurrency lets both pass
    group.children.push_back(task("a",
                                  "touch a.started; for i in $(seq 100); do [ -e b.started ] "
                                  "&& break; sleep 0.05; done; [ -e b.started ]; "
                                  "echo base=$TASK_SETUP_BASE; echo 'x=a' > $PIKOCI_OUTPUT"));
    group.children.push_back(task("b",
                                  "touch b.started; for i in $(seq 100); do [ -e a.started ] "
                                  "&& break; sleep 0.05; done; [ -e a.started ]; "
                                  "echo sibling=${TASK_A_X:-none}; echo 'y=b' > $PIKOCI_OUTPUT"));
    plan.steps.push_back(group);
    plan.steps.push_back(task("after", "echo $TASK_A_X$TASK_B_Y"));
    auto r = f.run(plan);
    CHECK(r.st == status::succeeded);
    CHECK(f.rec.logs["a"] == "base=1\n");
    CHECK(f.rec.logs["b"] == "sibling=none\n");
    CHECK(f.rec.logs["after"] == "ab\n");
  }

  TEST_CASE("in_parallel with limit 1 runs one child at a time") {
    fixture f;
    work::build_plan plan;
    work::step_plan group;
    group.kind = work::step_kind::in_parallel;
    group.name = "in_parallel";
    group.limit = 1;
    group.children.push_back(task("a", "touch a.running; sleep 0.3; rm a.running"));
    group.children.push_back(task("b", "[ ! -e a.running ] && echo alone"));
    plan.steps.push_back(group);
    auto r = f.run(plan);
    CHECK(r.st == status::succeeded);
    CHECK(f.rec.logs["b"] == "alone\n");
  }

  TEST_CASE("fail_fast cancels the other children and the group fails") {
    fixture f;
    work::build_plan plan;
    work::step_plan group;
    group.kind = work::step_kind::in_parallel;
    group.name = "in_parallel";
    group.fail_fast = true;
    // fails once "slow" surely runs (a child not started yet when the group is cancelled is
    // never started nor recorded)
    group.children.push_back(task("quick-fail", "sleep 0.3; exit 4"));
    group.children.push_back(task("slow", "sleep 30"));
    plan.steps.push_back(group);
    auto start = std::chrono::steady_clock::now();
    auto r = f.run(plan);
    CHECK(r.st == status::failed);
    CHECK(r.reason == "step \"quick-fail\" failed: exit status 4");
    CHECK(f.rec.results["slow"].st == status::cancelled);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }

  TEST_CASE("task inputs and outputs are checked relative to the work directory") {
    fixture f;
    work::build_plan plan;
    auto produce = task("produce", "mkdir -p out && echo hi > out/file");
    produce.outputs = {"out/file"};
    auto consume = task("consume", "cat out/file");
    consume.inputs = {"out/file"};
    plan.steps.push_back(produce);
    plan.steps.push_back(consume);
    CHECK(f.run(plan).st == status::succeeded);
    CHECK(f.rec.logs["consume"] == "hi\n");

    fixture g;
    work::build_plan missing_input;
    auto needs = task("needs", "echo never");
    needs.inputs = {"nothing-here"};
    missing_input.steps.push_back(needs);
    auto r = g.run(missing_input);
    CHECK(r.st == status::failed);
    CHECK(g.rec.logs["needs"] == "input \"nothing-here\" does not exist\n");

    fixture h;
    work::build_plan missing_output;
    auto lazy = task("lazy", "true");
    lazy.outputs = {"result.txt"};
    missing_output.steps.push_back(lazy);
    CHECK(h.run(missing_output).reason ==
          "step \"lazy\" failed: task finished but output \"result.txt\" was not produced");
  }

  TEST_CASE("the exec runner splices args verbatim and an empty path is a no-op") {
    fixture f;
    work::build_plan plan;
    work::step_plan t;
    t.kind = work::step_kind::task;
    t.name = "exec";
    t.command = work::command_spec{{"$path", {"$args"}}, {{"path", "echo"}}, {"a", "$HOME", ""}, ""};
    plan.steps.push_back(t);
    work::step_plan noop;
    noop.kind = work::step_kind::put;
    noop.name = "noop";
    noop.command = work::command_spec{{"$path", {"$args"}}, {}, {}, ""};
    plan.steps.push_back(noop);
    auto r = f.run(plan);
    CHECK(r.st == status::succeeded);
    CHECK(f.rec.logs["exec"] == "a $HOME \n");
    CHECK(f.rec.logs.count("noop") == 0);
  }

  TEST_CASE("versions printed by a put are recorded") {
    fixture f;
    work::build_plan plan;
    work::step_plan put;
    put.kind = work::step_kind::put;
    put.name = "artifact";
    put.command = shell("echo pushing; echo '[{\"sha\":\"abc\"}]'");
    plan.steps.push_back(put);
    CHECK(f.run(plan).st == status::succeeded);
    REQUIRE(f.rec.results["artifact"].versions.size() == 1);
    CHECK(f.rec.results["artifact"].versions[0]["sha"] == "abc");
  }

  TEST_CASE("every step shares one fresh work directory, removed at the end") {
    fixture f;
    work::build_plan plan;
    plan.steps.push_back(task("one", "echo $WORKDIR; pwd; touch shared"));
    plan.steps.push_back(task("two", "[ -e shared ] && echo seen"));
    CHECK(f.run(plan).st == status::succeeded);
    auto log = f.rec.logs["one"];
    auto dir = log.substr(0, log.find('\n'));
    CHECK(log == dir + "\n" + dir + "\n");
    CHECK(f.rec.logs["two"] == "seen\n");
    CHECK_FALSE(std::filesystem::exists(dir));
  }
}
