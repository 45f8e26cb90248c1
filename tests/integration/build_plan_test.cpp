// GET /pipelines/{p}/jobs/{j}/builds/{n}/plan and `pikoci-node client builds plan`: the build's
// resolved plan, as users ask for it when they debug a pipeline (docs/api.md, docs/client.md).
#include <doctest/doctest.h>

#include <string>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;

namespace {

const char* const plan_hcl = R"(job "deploy" {
  input "target" {
    type    = string
    default = "staging"
  }
  timeout = "10m"
  task "build" {
    attempts = 3
    timeout  = "2m"
    run "exec" {
      path = "/bin/echo"
      args = ["building", "for-plan"]
    }
  }
  in_parallel {
    task "left" {
      run "shell" {
        cmd = "echo left"
      }
    }
  }
  on_failure "shell" {
    cmd = "echo failed"
  }
}
)";

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("integration.plan") {
  TEST_CASE("a build's plan shows its steps, commands, attempts, timeouts, hooks and env") {
    runtime_node n;
    n.set_pipeline("p", plan_hcl);
    auto b = n.call("POST", "/pipelines/p/jobs/deploy/trigger",
                    R"({"inputs":{"target":"prod"}})", n.token());
    REQUIRE_MESSAGE(b.status == 201, b.body);
    n.wait_build("p", "deploy", "1");

    auto r = n.get("/pipelines/p/jobs/deploy/builds/1/plan");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto plan = r.json()["plan"];
    CHECK(plan["pipeline"] == "p");
    CHECK(plan["job"] == "deploy");
    CHECK(plan["number"] == "1");
    CHECK(plan["timeout_ms"] == 600000);
    REQUIRE(plan["steps"].size() == 2);
    const auto& build = plan["steps"][0];
    CHECK(build["kind"] == "task");
    CHECK(build["name"] == "build");
    CHECK(build["attempts"] == 3);
    CHECK(build["timeout_ms"] == 120000);
    CHECK_MESSAGE(has(build["command"].dump(), "for-plan"), build.dump());
    CHECK(plan["steps"][1]["kind"] == "in_parallel");
    CHECK(plan["steps"][1]["children"][0]["name"] == "left");
    REQUIRE(plan["job_hooks"].size() == 1);
    CHECK(plan["job_hooks"][0]["kind"] == "on_failure");
    CHECK(plan["env"]["INPUT_target"] == "prod");
    CHECK(plan["env"]["BUILD_ID"] == std::to_string(b.json()["build"]["id"].get<long long>()));

    // reading needs the read role only; unknown builds, jobs and pipelines are 404
    CHECK(n.get("/pipelines/p/jobs/deploy/builds/9/plan").status == 404);
    CHECK(n.get("/pipelines/p/jobs/nope/builds/1/plan").status == 404);
    CHECK(n.get("/pipelines/nope/jobs/deploy/builds/1/plan").status == 404);
    CHECK(n.call("GET", "/pipelines/p/jobs/deploy/builds/1/plan", "", "").status == 401);
    CHECK(n.call("POST", "/pipelines/p/jobs/deploy/builds/1/plan", "", n.token()).status == 405);

    // the client shows it as text, and whole with --json
    auto text = run_command({node_binary(), "client", "--url", n.server().url(), "--token",
                             n.token(), "builds", "plan", "p", "deploy", "1"},
                            std::chrono::seconds(20));
    CHECK_MESSAGE(text.exit_code == 0, text.output);
    for (const char* w : {"p/deploy #1", "task build  timeout 120000 ms  attempts 3",
                          "for-plan", "in_parallel", "task left", "on_failure", "env INPUT_target=prod"})
      CHECK_MESSAGE(has(text.output, w), w, "\n", text.output);
    auto as_json = run_command({node_binary(), "client", "--url", n.server().url(), "--token",
                                n.token(), "--json", "builds", "plan", "p", "deploy", "1"},
                               std::chrono::seconds(20));
    CHECK(as_json.exit_code == 0);
    CHECK(nlohmann::json::parse(as_json.output, nullptr, false)["plan"] == plan);
  }
}
