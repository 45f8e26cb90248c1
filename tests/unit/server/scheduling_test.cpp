// The scheduling decisions (reference §5.3): which builds a new version triggers, when a `passed`
// get is ready, what manual triggers and triggers of a version resolve to, which refused triggers
// are retried after a check, which pending builds a pin cancels.
#include <doctest/doctest.h>

#include "actors/server/scheduling.hpp"
#include "config/pipeline/load.hpp"

using namespace pikoci;
using namespace pikoci::server;
using nlohmann::json;

namespace {

const auto now = std::chrono::system_clock::now();

// unit and lint get src on every version; deploy takes what passed both (fan-in) with the latest
// lib; tool has a get of src without trigger; pair triggers on src but needs a version of other
const char* pipeline_hcl = R"(
resource_type "t" {
  check "shell" { cmd = "echo '[]'" }
}
resource "t" "src" {}
resource "t" "lib" {}
resource "t" "other" {}
job "unit" {
  get "t" "src" { trigger = true }
}
job "lint" {
  get "t" "src" { trigger = true }
}
job "deploy" {
  get "t" "src" {
    trigger = true
    passed  = ["unit", "lint"]
  }
  get "t" "lib" {}
}
job "tool" {
  input "env" {}
  input "dry_run" { default = false }
  get "t" "src" {}
}
job "pair" {
  get "t" "src" { trigger = true }
  get "t" "other" {}
}
)";

/// A pipeline's scheduling state, with every job of the config known.
struct fixture {
  pipeline::pipeline_config cfg;
  version_store versions;
  usage_index usage;
  schedule_inputs in;
  std::int64_t next_build = 100;

  fixture() {
    auto r = pipeline::load("p.hcl", pipeline_hcl, {});
    REQUIRE_MESSAGE(r.config.has_value(), r.diags.format("p.hcl"));
    cfg = std::move(*r.config);
    in.pipeline = "p";
    in.cfg = &cfg;
    in.versions = &versions;
    in.usage = &usage;
    for (const auto& j : cfg.jobs) in.jobs[j.name] = {};
  }
  version_id add(const std::string& canonical, int n) {
    return versions.add(canonical, {{{"n", n}}}, now).at(0).id;
  }
  /// A finished build of `job` that got `src` at `v`.
  void ran(const std::string& job, version_id v, bool passed = true) {
    usage.record(next_build++, {job, false, passed, {{"src", v}}});
  }
};

std::string jobs_of(const std::vector<planned_build>& builds) {
  std::string out;
  for (const auto& b : builds) out += (out.empty() ? "" : ",") + b.job->name;
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

TEST_SUITE("server.scheduling") {
  TEST_CASE("a new version triggers the jobs that get it with trigger = true and no passed") {
    fixture f;
    auto v = f.add("t.src", 1);
    f.add("t.lib", 1);
    f.add("t.other", 1);
    auto t = version_triggers(f.in, "t.src", v);
    CHECK(jobs_of(t.builds) == "unit,lint,pair");
    CHECK(joined(t.tried) == "unit,lint,pair");
    CHECK(t.skipped.empty());
    REQUIRE(t.builds[0].inputs.size() == 1);
    CHECK(t.builds[0].inputs[0].name == "src");
    CHECK(t.builds[0].inputs[0].version_id == v);
    CHECK(t.builds[0].trigger ==
          json{{"type", "resource"}, {"resource", "t.src"}, {"version_id", v}});
    // a resource nobody triggers on
    CHECK(version_triggers(f.in, "t.lib", f.add("t.lib", 2)).builds.empty());
  }

  TEST_CASE("a version triggers no build of a job that has no version of another get") {
    fixture f;
    auto v = f.add("t.src", 1);
    auto t = version_triggers(f.in, "t.src", v);
    CHECK(jobs_of(t.builds) == "unit,lint");
    REQUIRE(t.skipped.size() == 1);
    CHECK(t.skipped[0].job == "pair");
    CHECK(t.skipped[0].reason == "no version found for resource \"t.other\"");
    CHECK(joined(t.tried) == "unit,lint,pair");
  }

  TEST_CASE("paused jobs, a paused pipeline, baselines and pins hold automatic triggers") {
    fixture f;
    f.add("t.other", 1);
    auto v1 = f.add("t.src", 1);
    auto v2 = f.add("t.src", 2);
    f.in.jobs["lint"].paused = true;
    f.in.jobs["pair"].baseline = v2;
    CHECK(jobs_of(version_triggers(f.in, "t.src", v2).builds) == "unit");
    f.in.jobs["pair"].baseline = v1;
    CHECK(jobs_of(version_triggers(f.in, "t.src", v2).builds) == "unit,pair");
    // pinned to another version: nothing; to this one: as usual
    f.in.pins["t.src"] = v1;
    CHECK(version_triggers(f.in, "t.src", v2).builds.empty());
    CHECK(jobs_of(version_triggers(f.in, "t.src", v1).builds) == "unit");
    f.in.paused = true;
    CHECK(version_triggers(f.in, "t.src", v1).builds.empty());
    CHECK(version_triggers(f.in, "t.src", v1).tried.empty());
  }

  TEST_CASE("a pin applies to the other gets of a triggered build") {
    fixture f;
    auto o1 = f.add("t.other", 1);
    f.add("t.other", 2);
    f.in.pins["t.other"] = o1;
    auto v = f.add("t.src", 1);
    auto t = version_triggers(f.in, "t.src", v);
    REQUIRE(jobs_of(t.builds) == "unit,lint,pair");
    CHECK(t.builds[2].inputs[1].version_id == o1);
  }

  TEST_CASE("a passed get with two upstream jobs is ready once both passed a version") {
    fixture f;
    f.add("t.lib", 1);
    auto v1 = f.add("t.src", 1);
    auto v2 = f.add("t.src", 2);
    const auto& deploy = *f.cfg.find_job("deploy");
    CHECK_FALSE(evaluate_passed(f.in, deploy).build);
    f.ran("unit", v1);
    CHECK_FALSE(evaluate_passed(f.in, deploy).build);
    f.ran("lint", v1);
    f.ran("unit", v2);
    f.ran("lint", v2, false);
    auto d = evaluate_passed(f.in, deploy);
    CHECK(d.considered);
    REQUIRE(d.build);
    CHECK(d.build->trigger == json{{"type", "passed"}, {"resource", "t.src"}, {"version_id", v1}});
    REQUIRE(d.build->inputs.size() == 2);
    CHECK(d.build->inputs[0].version_id == v1);
    CHECK(d.build->inputs[1].name == "lib");
    // downstream of lint: deploy only; of deploy: nobody
    auto down = evaluate_downstream(f.in, "lint");
    REQUIRE(down.size() == 1);
    CHECK(down[0].job->name == "deploy");
    CHECK(down[0].build);
    CHECK(evaluate_downstream(f.in, "deploy").empty());
  }

  TEST_CASE(
      "a passed job waits while paused, while a build of it is pending, and above baselines") {
    fixture f;
    f.add("t.lib", 1);
    auto v1 = f.add("t.src", 1);
    f.ran("unit", v1);
    f.ran("lint", v1);
    const auto& deploy = *f.cfg.find_job("deploy");
    f.in.jobs["deploy"].paused = true;
    auto paused = evaluate_passed(f.in, deploy);
    CHECK_FALSE(paused.considered);
    CHECK_FALSE(paused.build);
    f.in.jobs["deploy"].paused = false;
    f.in.jobs["deploy"].baseline = v1;
    auto old = evaluate_passed(f.in, deploy);
    CHECK(old.considered);
    CHECK_FALSE(old.build);
    f.in.jobs["deploy"].baseline = 0;
    f.usage.record(1, {"deploy", true, false, {{"src", v1}}});
    CHECK_FALSE(evaluate_passed(f.in, deploy).considered);
    f.usage.record(1, {"deploy", false, true, {{"src", v1}}});
    // each version flows through once
    auto used = evaluate_passed(f.in, deploy);
    CHECK(used.considered);
    CHECK_FALSE(used.build);
  }

  TEST_CASE("a ready passed job without a version of another get is reported, not built") {
    fixture f;
    auto v1 = f.add("t.src", 1);
    f.ran("unit", v1);
    f.ran("lint", v1);
    auto d = evaluate_passed(f.in, *f.cfg.find_job("deploy"));
    CHECK(d.considered);
    CHECK_FALSE(d.build);
    CHECK(d.no_version == "no version found for resource \"t.lib\"");
  }

  TEST_CASE("a passed job follows the pin of its resource") {
    fixture f;
    f.add("t.lib", 1);
    auto v1 = f.add("t.src", 1);
    auto v2 = f.add("t.src", 2);
    for (auto v : {v1, v2}) {
      f.ran("unit", v);
      f.ran("lint", v);
    }
    const auto& deploy = *f.cfg.find_job("deploy");
    CHECK(evaluate_passed(f.in, deploy).build->inputs[0].version_id == v2);
    f.in.pins["t.src"] = v1;
    CHECK(evaluate_passed(f.in, deploy).build->inputs[0].version_id == v1);
  }

  TEST_CASE("refused passed triggers are retried for the jobs that wait for it") {
    fixture f;
    f.add("t.lib", 1);
    auto v1 = f.add("t.src", 1);
    f.ran("unit", v1);
    f.ran("lint", v1);
    CHECK(retry_passed(f.in).empty());
    f.in.jobs["deploy"].retry_passed = true;
    auto r = retry_passed(f.in);
    REQUIRE(r.size() == 1);
    CHECK(r[0].build);
  }

  TEST_CASE("refused resource triggers are retried on the latest or pinned version") {
    fixture f;
    f.add("t.other", 1);
    f.in.jobs["unit"].retry_resources.insert("t.src");
    CHECK(retry_refused(f.in, "t.src").builds.empty());  // no version yet
    auto v1 = f.add("t.src", 1);
    auto v2 = f.add("t.src", 2);
    f.in.jobs["pair"].retry_resources.insert("t.src");
    f.in.jobs["pair"].baseline = v2;
    auto t = retry_refused(f.in, "t.src");
    CHECK(jobs_of(t.builds) == "unit");
    CHECK(t.builds[0].inputs[0].version_id == v2);
    CHECK(joined(t.tried) == "unit");
    f.in.pins["t.src"] = v1;
    CHECK(retry_refused(f.in, "t.src").builds[0].inputs[0].version_id == v1);
    f.in.jobs["unit"].paused = true;
    CHECK(retry_refused(f.in, "t.src").builds.empty());
    // a job without a triggering get of the resource is not retried
    f.in.jobs["tool"].retry_resources.insert("t.src");
    f.in.jobs["unit"].paused = false;
    CHECK(jobs_of(retry_refused(f.in, "t.src").builds) == "unit");
  }

  TEST_CASE("a manual trigger checks the job, its pause, its inputs and its versions") {
    fixture f;
    auto refused = [&](const std::string& job, std::map<std::string, std::string> values) {
      auto d = manual_trigger(f.in, job, values);
      auto* e = std::get_if<domain::error>(&d);
      REQUIRE(e != nullptr);
      return std::make_pair(e->code, e->message);
    };
    CHECK(refused("nope", {}) ==
          std::make_pair(domain::errc::not_found, std::string("job \"nope\" not found")));
    CHECK(
        refused("tool", {{"env", "x"}, {"x", "1"}}) ==
        std::make_pair(domain::errc::bad_request, std::string("job \"tool\" has no input \"x\"")));
    CHECK(refused("tool", {}) ==
          std::make_pair(domain::errc::bad_request, std::string("input \"env\" is required")));
    CHECK(refused("tool", {{"env", "x"}}) ==
          std::make_pair(domain::errc::conflict,
                         std::string("no version found for resource \"t.src\"")));
    f.add("t.src", 1);
    auto v2 = f.add("t.src", 2);
    auto ok = manual_trigger(f.in, "tool", {{"env", "x"}});
    auto* b = std::get_if<planned_build>(&ok);
    REQUIRE(b != nullptr);
    CHECK(b->trigger == json{{"type", "manual"}});
    CHECK(b->inputs[0].version_id == v2);
    // a passed get takes the highest version every upstream passed
    CHECK(refused("deploy", {}).second == "no version of \"t.src\" passed unit, lint");
    f.in.jobs["tool"].paused = true;
    CHECK(refused("tool", {{"env", "x"}}) ==
          std::make_pair(domain::errc::conflict, std::string("job \"tool\" is paused")));
    f.in.paused = true;
    CHECK(refused("unit", {}) ==
          std::make_pair(domain::errc::conflict, std::string("pipeline \"p\" is paused")));
  }

  TEST_CASE("a trigger of a version builds every job that gets the resource without passed") {
    fixture f;
    auto v1 = f.add("t.src", 1);
    f.add("t.src", 2);
    auto t = trigger_version(f.in, "t.src", v1);
    CHECK(jobs_of(t.builds) == "unit,lint,tool");
    CHECK(t.builds[2].inputs[0].version_id == v1);
    CHECK(t.builds[0].trigger ==
          json{{"type", "version"}, {"resource", "t.src"}, {"version_id", v1}});
    REQUIRE(t.refused);
    CHECK(t.refused->code == domain::errc::conflict);
    CHECK(t.refused->message == "no version found for resource \"t.other\"");
    f.add("t.other", 1);
    CHECK_FALSE(trigger_version(f.in, "t.src", v1).refused);
    CHECK(trigger_version(f.in, "t.other", 3).builds.size() == 1);
  }

  TEST_CASE("a pin cancels the pending builds that use another version of the resource") {
    fixture f;
    auto v1 = f.add("t.src", 1);
    auto v2 = f.add("t.src", 2);
    f.usage.record(1, {"unit", true, false, {{"src", v1}}});
    f.usage.record(2, {"lint", true, false, {{"src", v2}}});
    f.usage.record(3, {"unit", false, false, {{"src", v1}}});  // over: stays
    f.usage.record(4, {"gone", true, false, {{"src", v1}}});   // job left the pipeline
    auto c = cancel_unpinned(f.in, "t.src", v2);
    REQUIRE(c.size() == 1);
    CHECK(c[0].id == 1);
    CHECK(c[0].job == "unit");
    CHECK(cancel_unpinned(f.in, "t.lib", v2).empty());
  }
}
