// Resource checks and what they trigger, driven over HTTP like a user would (issue #3; reference
// §2.1, §5.3 and "Behaviours asserted by PikoCI's own integration tests" items 1-4, 16). The
// resource's check prints a file of the test's temporary directory, so the test decides when a
// new version appears; checks run only when the test asks (check_interval is one hour).
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// A resource type whose check counts its runs in `checks`, fails with the content of `fail`
/// when that file exists, and otherwise prints the content of `check`; its pull echoes the
/// version it got.
const char* const file_type = R"(
resource_type "filever" {
  check "shell" {
    cmd = <<-EOT
      echo check >> @DIR@/checks
      if [ -e @DIR@/fail ]; then cat @DIR@/fail; exit 1; fi
      cat @DIR@/check 2>/dev/null || echo '[]'
    EOT
  }
  pull "shell" {
    cmd = "echo pulled version_ref=$version_ref"
  }
}

resource "filever" "src" {
  check_interval = "@every 1h"
}
)";

std::string pipeline(const temp_dir& dir, const std::string& jobs) {
  return replace_all(std::string(file_type) + jobs, "@DIR@", dir.path());
}

/// A job that gets `src` with `trigger = true` (and `extra`, e.g. a `passed` line) and runs one
/// shell task.
std::string filever_job(const std::string& job, const std::string& task, const std::string& cmd,
                        const std::string& extra = "") {
  return "job \"" + job + "\" {\n  get \"filever\" \"src\" {\n    trigger = true\n" +
         (extra.empty() ? "" : "    " + extra + "\n") + "  }\n  task \"" + task +
         "\" {\n    run \"shell\" {\n      cmd = \"" + cmd + "\"\n    }\n  }\n}\n";
}

/// The check prints exactly these versions next time.
void next_check_prints(const temp_dir& dir, const std::string& json_array) {
  dir.write("check", json_array + "\n");
}

/// Asks for a check of `rc` and waits until the check command has run; then gives the node a
/// moment to record what it printed.
void check_now(runtime_node& node, const temp_dir& dir, const std::string& pipeline,
               const std::string& rc = "src") {
  std::size_t before = dir.lines("checks").size();
  node.check(pipeline, rc);
  REQUIRE_MESSAGE(eventually([&] { return dir.lines("checks").size() > before; }, 10s),
                  "the check of ", rc, " did not run\n", node.tail());
  std::this_thread::sleep_for(300ms);
}

/// For negative assertions: time for anything wrongly triggered to show up.
void settle() {
  std::this_thread::sleep_for(700ms);
}

std::string ref_of_input(const json& build, std::size_t i = 0) {
  if (!build["inputs"].is_array() || build["inputs"].size() <= i) return "<no input>";
  return build["inputs"][i]["version"].value("ref", "<no ref>");
}

}  // namespace

TEST_SUITE("integration.runtime.trigger") {
  TEST_CASE("runtime: a check creates one version and one build; a re-check creates nothing") {
    runtime_node node;
    temp_dir dir;
    next_check_prints(dir, R"([{"ref":"abc123"}])");
    auto created = node.set_pipeline("p", pipeline(dir, R"(
)" + filever_job("build", "show", R"(echo ref=$GET_SRC_REF)")));
    CHECK(created.status == 201);

    auto res = node.resource("p", "filever.src");
    REQUIRE_MESSAGE(res.is_object(), node.get("/pipelines/p/resources").body);
    CHECK(res["type"] == "filever");
    CHECK(res["name"] == "src");
    CHECK(res["check_interval"] == "@every 1h");
    CHECK(res["pinned_version_id"].is_null());

    // the check route answers 202 with the resource
    std::size_t checks_before = dir.lines("checks").size();
    auto accepted = node.post("/pipelines/p/resources/filever.src/check");
    REQUIRE(accepted.status == 202);
    CHECK(accepted.json()["resource"]["canonical"] == "filever.src");
    REQUIRE(eventually([&] { return dir.lines("checks").size() > checks_before; }, 10s));

    auto builds = node.wait_builds("p", "build", 1);
    settle();
    auto versions = node.versions("p", "src");
    REQUIRE(versions.size() == 1);
    CHECK(versions[0]["version"] == json{{"ref", "abc123"}});
    REQUIRE(versions[0]["id"].is_number_integer());
    auto v1 = versions[0]["id"].get<std::int64_t>();
    builds = node.builds("p", "build");
    REQUIRE(builds.size() == 1);

    auto b = node.build("p", "build", "1");
    CHECK(b["number"] == "1");
    CHECK(b["job"] == "build");
    CHECK(b["pipeline"] == "p");
    CHECK(b["status"] == "succeeded");
    CHECK(b["trigger"]["type"] == "resource");
    CHECK(b["trigger"]["resource"] == "filever.src");
    CHECK(b["trigger"]["version_id"] == v1);
    REQUIRE(b["inputs"].size() == 1);
    CHECK(b["inputs"][0]["name"] == "src");
    CHECK(b["inputs"][0]["resource"] == "filever.src");
    CHECK(b["inputs"][0]["version_id"] == v1);
    CHECK(b["inputs"][0]["version"] == json{{"ref", "abc123"}});
    CHECK(names_of(b["steps"]) == "src,show");
    CHECK(b["steps"][0]["type"] == "get");
    CHECK(b["steps"][1]["type"] == "task");
    CHECK(step_logs(b, "src").find("pulled version_ref=abc123") != std::string::npos);
    CHECK(step_logs(b, "show").find("ref=abc123") != std::string::npos);
    res = node.resource("p", "filever.src");
    CHECK(res["last_check_at"].is_string());
    CHECK(res["check_error"].is_null());

    // the same output again: no duplicate version, no build
    check_now(node, dir, "p");
    settle();
    CHECK(node.versions("p", "src").size() == 1);
    CHECK(node.builds("p", "build").size() == 1);

    // a new version: one more build, on it
    next_check_prints(dir, R"([{"ref":"def456"}])");
    check_now(node, dir, "p");
    builds = node.wait_builds("p", "build", 2);
    versions = node.versions("p", "src");
    REQUIRE(versions.size() == 2);
    CHECK(versions[0]["version"] == json{{"ref", "def456"}});
    CHECK(versions[1]["version"] == json{{"ref", "abc123"}});
    CHECK(versions[0]["id"].get<std::int64_t>() > versions[1]["id"].get<std::int64_t>());
    auto b2 = node.build("p", "build", "2");
    CHECK(b2["status"] == "succeeded");
    CHECK(b2["trigger"]["version_id"] == versions[0]["id"]);
    CHECK(ref_of_input(b2) == "def456");
    CHECK(step_logs(b2, "show").find("ref=def456") != std::string::npos);
  }

  TEST_CASE("runtime: a check printing several versions records them oldest first") {
    runtime_node node;
    temp_dir dir;
    // the check also records the latest version it was given ($${...} is a literal ${...})
    node.set_pipeline(
        "multi",
        replace_all(
            R"(
resource_type "filever" {
  check "shell" {
    cmd = <<-EOT
      echo "latest=$${version_ref:-none}" >> @DIR@/checks
      cat @DIR@/check
    EOT
  }
  pull "shell" {
    cmd = "echo pulled $version_ref $version_meta_branch $version_n $version_tags_0"
  }
}

resource "filever" "src" {
  check_interval = "@every 1h"
}

)" + filever_job(
                "build", "show",
                R"(echo ref=$GET_SRC_REF branch=$GET_SRC_META_BRANCH n=$GET_SRC_N tag=$GET_SRC_TAGS_1)"),
            "@DIR@", dir.path()));
    next_check_prints(dir, R"([{"ref":"a1"},{"ref":"b2"}])");
    check_now(node, dir, "multi");
    auto versions = node.wait_versions("multi", "src", 2);
    REQUIRE(versions.size() == 2);
    CHECK(versions[0]["version"]["ref"] == "b2");
    CHECK(versions[1]["version"]["ref"] == "a1");
    CHECK(versions[0]["id"].get<std::int64_t>() > versions[1]["id"].get<std::int64_t>());
    // every version created triggers
    auto builds = node.wait_builds("multi", "build", 2);
    std::vector<std::string> refs;
    for (const auto& b : builds) refs.push_back(ref_of_input(b));
    std::sort(refs.begin(), refs.end());
    CHECK(joined(refs) == "a1,b2");

    // the next check gets the latest version in version_*
    next_check_prints(dir, R"([{"ref":"b2"}])");
    check_now(node, dir, "multi");
    auto seen = dir.lines("checks");
    REQUIRE(!seen.empty());
    CHECK(seen.back() == "latest=b2");
    CHECK(seen.front() == "latest=none");
    settle();
    CHECK(node.builds("multi", "build").size() == 2);

    // nested versions flatten into GET_* (numbers stringified, arrays indexed)
    next_check_prints(dir, R"([{"ref":"c3","meta":{"branch":"main"},"n":7,"tags":["x","y"]}])");
    check_now(node, dir, "multi");
    node.wait_builds("multi", "build", 3);
    auto b3 = node.build("multi", "build", "3");
    CHECK(b3["status"] == "succeeded");
    CHECK(b3["inputs"][0]["version"] ==
          json::parse(R"({"ref":"c3","meta":{"branch":"main"},"n":7,"tags":["x","y"]})"));
    CHECK_MESSAGE(step_logs(b3, "show").find("ref=c3 branch=main n=7 tag=y") != std::string::npos,
                  step_logs(b3, "show"));
    CHECK_MESSAGE(step_logs(b3, "src").find("pulled c3 main 7 x") != std::string::npos,
                  step_logs(b3, "src"));
  }

  TEST_CASE("runtime: a get whose type has no pull still exports GET_*") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("nopull", replace_all(R"(
resource_type "bare" {
  check "shell" {
    cmd = "echo check >> @DIR@/checks; cat @DIR@/check"
  }
}

resource "bare" "src" {
  check_interval = "@every 1h"
}

job "build" {
  get "bare" "src" {
    trigger = true
  }
  task "show" {
    run "shell" {
      cmd = "echo ref=$GET_SRC_REF"
    }
  }
}
)",
                                            "@DIR@", dir.path()));
    next_check_prints(dir, R"([{"ref":"abc123"}])");
    check_now(node, dir, "nopull");
    node.wait_builds("nopull", "build", 1);
    auto b = node.build("nopull", "build", "1");
    CHECK(b["status"] == "succeeded");
    CHECK(names_of(b["steps"]) == "src,show");
    CHECK(ref_of_input(b) == "abc123");
    CHECK_MESSAGE(step_logs(b, "show").find("ref=abc123") != std::string::npos,
                  step_logs(b, "show"));
  }

  TEST_CASE("runtime: a webhook asks for a check without a user token") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("hook", pipeline(dir, R"(
job "build" {
  get "filever" "src" {
    trigger = true
  }
}
)"));
    auto res = node.resource("hook", "filever.src");
    REQUIRE(res.is_object());
    REQUIRE_MESSAGE(res["webhook_token"].is_string(), res.dump());
    std::string token = res["webhook_token"];
    CHECK(!token.empty());

    next_check_prints(dir, R"([{"ref":"abc123"}])");
    std::size_t before = dir.lines("checks").size();
    auto r = node.call("POST", "/webhooks/" + token, "", "");
    REQUIRE_MESSAGE(r.status == 202, r.body);
    CHECK(r.json()["resource"] == "filever.src");
    CHECK(eventually([&] { return dir.lines("checks").size() > before; }, 10s));
    auto builds = node.wait_builds("hook", "build", 1);
    CHECK(ref_of_input(builds[0]) == "abc123");

    auto unknown = node.call("POST", "/webhooks/no-such-token", "", "");
    CHECK(unknown.status == 404);
    CHECK(unknown.json()["error"]["code"] == "not_found");
    CHECK(node.healthy());
  }

  TEST_CASE("runtime: a failing check keeps its output in check_error until a good check") {
    runtime_node node;
    temp_dir dir;
    next_check_prints(dir, R"([{"ref":"abc123"}])");
    node.set_pipeline("p", pipeline(dir, R"(
job "build" {
  get "filever" "src" {
    trigger = true
  }
}
)"));
    check_now(node, dir, "p");
    node.wait_builds("p", "build", 1);

    dir.write("fail", "boom: cannot reach the repository\n");
    check_now(node, dir, "p");
    json res;
    CHECK_MESSAGE(eventually(
                      [&] {
                        res = node.resource("p", "filever.src");
                        return res.is_object() && res["check_error"].is_string();
                      },
                      5s),
                  res.dump());
    CHECK(res["check_error"].get<std::string>().find("boom: cannot reach the repository") !=
          std::string::npos);
    settle();
    CHECK(node.versions("p", "src").size() == 1);
    CHECK(node.builds("p", "build").size() == 1);

    // output that is not a JSON array of objects fails the check too
    dir.remove("fail");
    next_check_prints(dir, "this is not json");
    check_now(node, dir, "p");
    CHECK_MESSAGE(eventually(
                      [&] {
                        res = node.resource("p", "filever.src");
                        return res.is_object() && res["check_error"].is_string() &&
                               res["check_error"].get<std::string>().find("this is not json") !=
                                   std::string::npos;
                      },
                      5s),
                  res.dump());

    // a good check clears it
    next_check_prints(dir, R"([{"ref":"abc123"}])");
    check_now(node, dir, "p");
    CHECK_MESSAGE(eventually(
                      [&] {
                        res = node.resource("p", "filever.src");
                        return res.is_object() && res.contains("check_error") &&
                               res["check_error"].is_null();
                      },
                      5s),
                  res.dump());
    settle();
    CHECK(node.versions("p", "src").size() == 1);
    CHECK(node.builds("p", "build").size() == 1);
  }

  TEST_CASE("runtime: passed fan-in runs deploy once per version that went through both jobs") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline(
        "fan", pipeline(dir, R"(
)" + filever_job("unit", "unit", R"(echo unit on $GET_SRC_REF)") +
                                 R"(
)" + filever_job("lint", "lint", R"(echo lint on $GET_SRC_REF; test \"$GET_SRC_REF\" != bad)") +
                                 R"(
)" +
                                 filever_job("deploy", "ship", R"(echo deploying $GET_SRC_REF)",
                                             R"(passed  = ["unit", "lint"])")));

    // nothing passed yet: a manual trigger has no version to use
    auto early = node.post("/pipelines/fan/jobs/deploy/trigger");
    CHECK(early.status == 409);
    CHECK(early.json()["error"]["code"] == "conflict");
    CHECK(node.builds("fan", "deploy").size() == 0);

    // v1 goes through unit and lint, then deploy
    next_check_prints(dir, R"([{"ref":"v1"}])");
    check_now(node, dir, "fan");
    node.wait_builds("fan", "unit", 1);
    node.wait_builds("fan", "lint", 1);
    auto deploys = node.wait_builds("fan", "deploy", 1);
    auto d1 = node.build("fan", "deploy", "1");
    CHECK(d1["status"] == "succeeded");
    CHECK(d1["trigger"]["type"] == "passed");
    CHECK(d1["trigger"]["resource"] == "filever.src");
    CHECK(ref_of_input(d1) == "v1");
    CHECK(step_logs(d1, "ship").find("deploying v1") != std::string::npos);

    // v2 too
    next_check_prints(dir, R"([{"ref":"v2"}])");
    check_now(node, dir, "fan");
    node.wait_builds("fan", "unit", 2);
    node.wait_builds("fan", "lint", 2);
    deploys = node.wait_builds("fan", "deploy", 2);
    auto d2 = node.build("fan", "deploy", "2");
    CHECK(d2["status"] == "succeeded");
    CHECK(ref_of_input(d2) == "v2");
    CHECK(step_logs(d2, "ship").find("deploying v2") != std::string::npos);

    // "bad" passes unit but fails lint: no deploy for it
    next_check_prints(dir, R"([{"ref":"bad"}])");
    check_now(node, dir, "fan");
    auto units = node.wait_builds("fan", "unit", 3);
    auto lints = node.wait_builds("fan", "lint", 3);
    CHECK(node.build("fan", "unit", "3")["status"] == "succeeded");
    auto l3 = node.build("fan", "lint", "3");
    CHECK(l3["status"] == "failed");
    CHECK(ref_of_input(l3) == "bad");
    settle();
    deploys = node.builds("fan", "deploy");
    CHECK(numbers_of(deploys) == "2,1");

    // every version went through deploy at most once
    auto versions = node.versions("fan", "src");
    REQUIRE(versions.size() == 3);
    for (const auto& d : deploys) CHECK(d["status"] == "succeeded");

    // a manual trigger picks the highest version that passed both: v2, not "bad"
    auto manual = node.trigger("fan", "deploy");
    CHECK(manual["number"] == "3");
    CHECK(manual["trigger"]["type"] == "manual");
    CHECK(manual["trigger"]["user"] == "admin");  // who triggered it
    auto d3 = node.wait_build("fan", "deploy", "3");
    CHECK(d3["status"] == "succeeded");
    CHECK(ref_of_input(d3) == "v2");
    CHECK(step_logs(d3, "ship").find("deploying v2") != std::string::npos);
    CHECK(step_logs(d3, "src").find("pulled version_ref=v2") != std::string::npos);
  }

  TEST_CASE("runtime: three jobs on one trigger resource get one build each") {
    runtime_node node;
    temp_dir dir;
    std::string jobs;
    for (const char* j : {"alpha", "beta", "gamma"})
      jobs += std::string("job \"") + j + R"(" {
  get "filever" "src" {
    trigger = true
  }
  task "hello" {
    run "shell" {
      cmd = "echo $BUILD_JOB_NAME got $GET_SRC_REF"
    }
  }
}
)";
    node.set_pipeline("three", pipeline(dir, jobs));
    next_check_prints(dir, R"([{"ref":"abc123"}])");
    check_now(node, dir, "three");
    for (const char* j : {"alpha", "beta", "gamma"}) node.wait_builds("three", j, 1);
    settle();
    for (const char* j : {"alpha", "beta", "gamma"}) {
      CAPTURE(j);
      auto builds = node.builds("three", j);
      REQUIRE(builds.size() == 1);
      CHECK(builds[0]["number"] == "1");
      CHECK(builds[0]["status"] == "succeeded");
      auto b = node.build("three", j, "1");
      CHECK(step_logs(b, "hello").find(std::string(j) + " got abc123") != std::string::npos);
    }
    CHECK(node.versions("three", "src").size() == 1);
  }

  TEST_CASE("runtime: triggering an older version builds it, not the latest") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("tv", pipeline(dir, R"(
)" + filever_job("build", "show", R"(echo building ref=$GET_SRC_REF)") +
                                              R"(
job "audit" {
  get "filever" "src" {
  }
}

job "downstream" {
  get "filever" "src" {
    passed = ["build"]
  }
}
)"));
    next_check_prints(dir, R"([{"ref":"abc123"}])");
    check_now(node, dir, "tv");
    node.wait_builds("tv", "build", 1);
    next_check_prints(dir, R"([{"ref":"zzz999"}])");
    check_now(node, dir, "tv");
    node.wait_builds("tv", "build", 2);
    auto versions = node.versions("tv", "src");
    REQUIRE(versions.size() == 2);
    REQUIRE(versions[1]["version"]["ref"] == "abc123");
    auto v1 = versions[1]["id"].get<std::int64_t>();
    // `audit` has no trigger: checks gave it nothing
    CHECK(node.builds("tv", "audit").size() == 0);

    auto r = node.post("/pipelines/tv/resources/src/versions/" + std::to_string(v1) + "/trigger");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    auto created = r.json()["builds"];
    REQUIRE(created.is_array());
    // every job getting src without passed, trigger or not
    std::vector<std::string> jobs;
    for (const auto& b : created) jobs.push_back(b.value("job", "?"));
    std::sort(jobs.begin(), jobs.end());
    CHECK(joined(jobs) == "audit,build");

    auto b3 = node.wait_build("tv", "build", "3");
    CHECK(b3["status"] == "succeeded");
    CHECK(b3["trigger"]["type"] == "version");
    CHECK(b3["trigger"]["user"] == "admin");
    REQUIRE(b3["inputs"].size() == 1);
    CHECK(b3["inputs"][0]["version_id"] == v1);
    CHECK(ref_of_input(b3) == "abc123");
    CHECK(step_logs(b3, "src").find("pulled version_ref=abc123") != std::string::npos);
    CHECK(step_logs(b3, "show").find("building ref=abc123") != std::string::npos);
    CHECK(all_logs(b3).find("zzz999") == std::string::npos);
    auto a1 = node.wait_build("tv", "audit", "1");
    CHECK(a1["status"] == "succeeded");
    CHECK(ref_of_input(a1) == "abc123");

    // unknown version
    auto missing = node.post("/pipelines/tv/resources/src/versions/999999/trigger");
    CHECK(missing.status == 404);
    CHECK(missing.json()["error"]["code"] == "not_found");
  }

  TEST_CASE("runtime: a pinned resource triggers and builds only its pinned version") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("pin", pipeline(dir, R"(
)" + filever_job("build", "show", R"(echo building ref=$GET_SRC_REF)")));
    next_check_prints(dir, R"([{"ref":"v1"}])");
    check_now(node, dir, "pin");
    node.wait_builds("pin", "build", 1);
    next_check_prints(dir, R"([{"ref":"v2"}])");
    check_now(node, dir, "pin");
    node.wait_builds("pin", "build", 2);
    auto versions = node.versions("pin", "src");
    REQUIRE(versions.size() == 2);
    auto v1 = versions[1]["id"].get<std::int64_t>();

    auto pinned = node.post("/pipelines/pin/resources/src/pin", json{{"version_id", v1}}.dump());
    REQUIRE_MESSAGE(pinned.status == 200, pinned.body);
    CHECK(pinned.json()["resource"]["pinned_version_id"] == v1);
    CHECK(node.resource("pin", "filever.src")["pinned_version_id"] == v1);

    // checks go on recording versions, but a pinned resource does not trigger other versions
    next_check_prints(dir, R"([{"ref":"v3"}])");
    check_now(node, dir, "pin");
    CHECK(node.wait_versions("pin", "src", 3)[0]["version"]["ref"] == "v3");
    settle();
    CHECK(node.builds("pin", "build").size() == 2);

    // a manual trigger uses the pin
    CHECK(node.trigger("pin", "build")["number"] == "3");
    auto b3 = node.wait_build("pin", "build", "3");
    CHECK(b3["status"] == "succeeded");
    CHECK(ref_of_input(b3) == "v1");
    CHECK(step_logs(b3, "show").find("building ref=v1") != std::string::npos);

    auto unpinned = node.post("/pipelines/pin/resources/src/unpin");
    REQUIRE_MESSAGE(unpinned.status == 200, unpinned.body);
    CHECK(unpinned.json()["resource"]["pinned_version_id"].is_null());
    auto res = node.resource("pin", "filever.src");
    CHECK(res.contains("pinned_version_id"));
    CHECK(res["pinned_version_id"].is_null());

    // unpinned: the latest again
    CHECK(node.trigger("pin", "build")["number"] == "4");
    auto b4 = node.wait_build("pin", "build", "4");
    CHECK(ref_of_input(b4) == "v3");

    // pinning an unknown version, or with a wrong body
    auto unknown = node.post("/pipelines/pin/resources/src/pin", R"({"version_id":999999})");
    CHECK(unknown.status == 404);
    CHECK(unknown.json()["error"]["code"] == "not_found");
    auto wrong = node.post("/pipelines/pin/resources/src/pin", R"({"version_id":"one"})");
    CHECK(wrong.status == 400);
    CHECK(wrong.json()["error"]["code"] == "bad_request");
    CHECK(node.resource("pin", "filever.src")["pinned_version_id"].is_null());
  }

  TEST_CASE("runtime: a paused job gets no build for versions found while it was paused") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("pz", pipeline(dir, R"(
job "build" {
  get "filever" "src" {
    trigger = true
  }
}
)"));
    next_check_prints(dir, R"([{"ref":"v1"}])");
    check_now(node, dir, "pz");
    node.wait_builds("pz", "build", 1);

    auto paused = node.post("/pipelines/pz/jobs/build/pause");
    REQUIRE_MESSAGE(paused.status == 200, paused.body);
    CHECK(paused.json()["job"]["paused"] == true);
    next_check_prints(dir, R"([{"ref":"v2"}])");
    check_now(node, dir, "pz");
    node.wait_versions("pz", "src", 2);
    settle();
    CHECK(node.builds("pz", "build").size() == 1);

    // unpausing does not replay v2; the next version triggers
    auto unpaused = node.post("/pipelines/pz/jobs/build/unpause");
    REQUIRE(unpaused.status == 200);
    CHECK(unpaused.json()["job"]["paused"] == false);
    settle();
    CHECK(node.builds("pz", "build").size() == 1);
    next_check_prints(dir, R"([{"ref":"v3"}])");
    check_now(node, dir, "pz");
    auto builds = node.wait_builds("pz", "build", 2);
    CHECK(numbers_of(builds) == "2,1");
    CHECK(ref_of_input(node.build("pz", "build", "2")) == "v3");

    // the same for a paused pipeline
    REQUIRE(node.post("/pipelines/pz/pause").status == 200);
    next_check_prints(dir, R"([{"ref":"v4"}])");
    check_now(node, dir, "pz");
    node.wait_versions("pz", "src", 4);
    settle();
    CHECK(node.builds("pz", "build").size() == 2);
    REQUIRE(node.post("/pipelines/pz/unpause").status == 200);
    settle();
    CHECK(node.builds("pz", "build").size() == 2);
    next_check_prints(dir, R"([{"ref":"v5"}])");
    check_now(node, dir, "pz");
    builds = node.wait_builds("pz", "build", 3);
    CHECK(numbers_of(builds) == "3,2,1");
    CHECK(ref_of_input(node.build("pz", "build", "3")) == "v5");
  }
}
