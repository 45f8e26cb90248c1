// Build records: numbering, JSON shape of SPEC §3.2, and worker events applied to them.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "actors/model/build.hpp"
#include "actors/worker/build_executor.hpp"

using namespace pikoci;
using namespace pikoci::model;
using namespace std::chrono_literals;

namespace {

/// Applies executor events to a record, as the build runner does.
struct record_sink : worker::build_sink {
  build_record& rec;
  std::mutex mu;
  explicit record_sink(build_record& r) : rec(r) {}
  void step_started(const work::step_ref& s) override {
    std::lock_guard<std::mutex> l(mu);
    rec.step_started(s, std::chrono::system_clock::now());
  }
  void log(const work::step_ref& s, std::string_view c) override {
    std::lock_guard<std::mutex> l(mu);
    rec.step_log(s, c);
  }
  void step_finished(const work::step_ref& s, const work::step_result& r) override {
    std::lock_guard<std::mutex> l(mu);
    rec.step_finished(s, r.st, std::chrono::system_clock::now());
  }
};

work::step_plan task(const std::string& name, const std::string& script) {
  work::step_plan s;
  s.name = name;
  s.command = work::command_spec{{"/bin/sh", {"-ec", "$cmd"}}, {{"cmd", script}}, {}, ""};
  return s;
}

}  // namespace

TEST_SUITE("model.build") {
  TEST_CASE("builds are numbered per job and retries number under their parent") {
    build_numbering n;
    CHECK(n.next() == "1");
    CHECK(n.next() == "2");
    CHECK(n.next_retry("2") == "2.1");
    CHECK(n.next_retry("2.1") == "2.2");
    CHECK(n.next_retry("1") == "1.1");
    CHECK(n.next() == "3");
    build_numbering restored;
    restored.observe("7");
    restored.observe("4.3");
    CHECK(restored.next() == "8");
    CHECK(restored.next_retry("4") == "4.4");
  }

  TEST_CASE("statuses have their SPEC names and terminal set") {
    CHECK(std::string(to_string(build_status::warning)) == "warning");
    CHECK(parse_build_status("cancelled") == build_status::cancelled);
    CHECK_FALSE(parse_build_status("running"));
    CHECK_FALSE(is_terminal(build_status::pending));
    CHECK_FALSE(is_terminal(build_status::started));
    CHECK(is_terminal(build_status::skipped));
  }

  TEST_CASE("times are RFC 3339 UTC with milliseconds") {
    time_point t{std::chrono::milliseconds(1795860000123)};
    CHECK(format_time(t) == "2026-11-28T10:00:00.123Z");
    // and back, exactly, across leap years and month ends
    CHECK(parse_time("2026-11-28T10:00:00.123Z") == t);
    for (std::int64_t ms : {0LL, 951782400000LL, 1709164800999LL, 4102444799999LL}) {
      time_point x{std::chrono::milliseconds(ms)};
      CHECK(parse_time(format_time(x)) == x);
    }
    for (const char* bad : {"", "2026-11-28T10:00:00Z", "2026-13-01T00:00:00.000Z",
                            "2026-11-28 10:00:00.123Z", "2026-11-28T10:00:00.12xZ"})
      CHECK_THROWS_AS(parse_time(bad), std::invalid_argument);
  }

  TEST_CASE("a build record survives its stored form") {
    build_record b;
    b.id = 9;
    b.pipeline = "p";
    b.job = "j";
    b.number = "2.1";
    b.status = build_status::failed;
    b.reason = "step \"t\" failed";
    b.trigger = {{"type", "retry"}, {"build", "2"}};
    b.concurrency_group = "deploy-prod";
    b.created_at = time_point{std::chrono::milliseconds(1795860000123)};
    b.started_at = b.created_at + std::chrono::milliseconds(5);
    b.finished_at = b.created_at + std::chrono::milliseconds(900);
    b.inputs.push_back({"src", "git.src", 4, {{"ref", "abc"}}});
    b.input_values = {{"env", "prod"}};
    b.queue_seq = 77;
    b.dispatched = true;
    step_record par;
    par.id = "s1";
    par.type = "in_parallel";
    par.name = "in_parallel";
    step_record child;
    child.id = "s2";
    child.type = "task";
    child.name = "t";
    child.logs.append("line 1\n");
    par.steps.push_back(child);
    b.steps.push_back(par);
    auto back = build_record::from_record(b.to_record());
    CHECK(back.to_record() == b.to_record());
    CHECK(back.to_json(true) == b.to_json(true));
    CHECK(back.steps.empty());  // the steps line stays text until the steps change
    back.step_log({"s2", "task", "t", "s1", false}, "line 2\n");
    CHECK(back.steps.at(0).steps.at(0).logs.str() == "line 1\nline 2\n");
    CHECK_THROWS(build_record::from_record(R"({"id": 1})"));
    CHECK_THROWS(build_record::from_record("{\"id\": 1}\n{}"));
    // a damaged steps line shows no steps instead of failing
    auto record = b.to_record();
    auto damaged = build_record::from_record(record.substr(0, record.find('\n') + 1) + "{");
    CHECK(damaged.to_json(true).at("steps").empty());
  }

  TEST_CASE("executor events fill steps, nested in_parallel children and job hooks") {
    build_record rec;
    rec.id = 17;
    rec.pipeline = "p";
    rec.job = "unit";
    rec.number = "3";
    rec.trigger = {{"type", "manual"}};
    work::build_plan plan;
    plan.steps.push_back(task("compile", "echo compiled"));
    work::step_plan group;
    group.kind = work::step_kind::in_parallel;
    group.name = "in_parallel";
    group.children.push_back(task("a", "echo a"));
    group.children.push_back(task("b", "exit 1"));
    plan.steps.push_back(group);
    work::hook_plan h;
    h.kind = work::hook_kind::on_failure;
    h.name = "on_failure";
    h.command = work::command_spec{{"/bin/echo", {"$args"}}, {}, {"notified"}, ""};
    plan.job_hooks.push_back(h);
    worker::executor_options opts;
    opts.work_root =
        std::filesystem::temp_directory_path() / ("pikoci-rec-" + std::to_string(getpid()));
    record_sink sink(rec);
    worker::build_cancel cancel;
    auto result = worker::execute_build(plan, opts, sink, cancel);
    std::filesystem::remove_all(opts.work_root);
    CHECK(result.st == work::status::failed);

    auto j = rec.to_json(true);
    CHECK(j["id"] == 17);
    CHECK(j["number"] == "3");
    CHECK(j["trigger"]["type"] == "manual");
    REQUIRE(j["steps"].size() == 2);
    CHECK(j["steps"][0]["type"] == "task");
    CHECK(j["steps"][0]["name"] == "compile");
    CHECK(j["steps"][0]["status"] == "succeeded");
    CHECK(j["steps"][0]["logs"] == "compiled\n");
    CHECK(j["steps"][0]["started_at"].is_string());
    CHECK(j["steps"][1]["type"] == "in_parallel");
    CHECK(j["steps"][1]["status"] == "failed");
    REQUIRE(j["steps"][1]["steps"].size() == 2);
    REQUIRE(j["hooks"].size() == 1);
    CHECK(j["hooks"][0]["type"] == "hook");
    CHECK(j["hooks"][0]["name"] == "on_failure");
    CHECK(j["hooks"][0]["logs"] == "notified\n");

    auto summary = rec.to_json(false);
    CHECK_FALSE(summary.contains("steps"));
    CHECK(summary["reason"].is_null());
    CHECK(summary["duration_ms"].is_null());
  }
}

TEST_CASE("build record: live events replay steps, nested steps and job hooks in order") {
  build_record b;
  auto t0 = std::chrono::system_clock::time_point{} + 1000h;
  work::step_ref group{"s1", "in_parallel", "in_parallel", "", false};
  work::step_ref child{"s2", "task", "unit", "s1", false};
  work::step_ref hook{"h1", "hook", "ensure", "", true};
  b.step_started(group, t0);
  b.step_started(child, t0);
  b.step_log(child, "one\n");
  b.step_log(child, "two\n");
  CHECK(b.step_finished(child, work::status::succeeded, t0 + 5ms) != nullptr);
  b.step_finished(group, work::status::succeeded, t0 + 6ms);
  b.step_started(hook, t0 + 7ms);
  CHECK(b.step_finished({"nope", "task", "x", "", false}, work::status::failed, t0) == nullptr);

  auto e = b.step_event(child);
  CHECK(e["id"] == "s2");
  CHECK(e["parent"] == "s1");
  CHECK(e["status"] == "succeeded");
  CHECK(e["finished_at"] == format_time(t0 + 5ms));
  CHECK_FALSE(e.contains("logs"));
  CHECK(b.step_event({"nope", "task", "x", "", false}).is_null());

  std::vector<std::string> seen;
  b.replay([&](const char* type, nlohmann::json data, const std::string&) {
    seen.push_back(std::string(type) + ":" + data.value("id", data.value("step", "")) + ":" +
                   data.value("chunk", data.value("parent", "")));
  });
  CHECK(seen ==
        std::vector<std::string>{"step:s1:", "step:s2:s1", "log:s2:one\ntwo\n", "step:h1:"});

  // a restored record replays from its stored steps line without being changed first
  auto restored = build_record::from_record(b.to_record());
  std::size_t n = 0;
  restored.replay([&](const char*, nlohmann::json, const std::string&) { ++n; });
  CHECK(n == seen.size());
}
