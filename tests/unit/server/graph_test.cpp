// The pipeline graph the web UI draws (GET /pipelines/{p}/graph) and the inputs of a job, made
// from a loaded pipeline and the jobs' summaries.
#include <doctest/doctest.h>

#include "actors/server/graph.hpp"
#include "config/pipeline/load.hpp"
#include "tests/unit/server/plan_fixture.hpp"

using namespace pikoci;
using nlohmann::json;
using pikoci::test::load;

namespace {

const char* pipeline_hcl = R"(
resource_type "t" {
  check "shell" { cmd = "echo '[]'" }
  pull "shell" { cmd = "true" }
  push "shell" { cmd = "true" }
}
resource "t" "src" {}
resource "t" "lib" {}
resource "t" "out" {}
job "build" {
  get "t" "src" { trigger = true }
  in_parallel {
    get "t" "lib" {}
    task "compile" {
      run "shell" { cmd = "true" }
    }
  }
  put "t" "out" {}
}
job "deploy" {
  input "env" {
    description = "where"
    options     = ["staging", "prod"]
  }
  input "dry_run" {
    type    = bool
    default = true
  }
  input "regions" {
    options  = ["eu", "us"]
    multiple = true
    default  = ["eu"]
  }
  get "t" "out" {
    trigger = true
    passed  = ["build"]
  }
  if "prod" {
    condition = "$INPUT_env == 'prod'"
    put "t" "src" {}
  }
  on_failure {
    put "t" "lib" {}
  }
}
)";

}  // namespace

TEST_SUITE("server.graph") {
  TEST_CASE("jobs with their gets, puts and inputs, nested and hook steps included") {
    auto cfg = load(pipeline_hcl);
    std::vector<std::optional<json>> summaries{
        json{{"name", "build"}, {"paused", true}, {"latest_build", nullptr}, {"running", 2}},
        std::nullopt};  // deploy's actor did not answer
    auto g =
        server::graph_json(cfg, "p", false, summaries, json::array({{{"canonical", "t.src"}}}));
    CHECK(g["name"] == "p");
    CHECK(g["paused"] == false);
    CHECK(g["resources"] == json::array({{{"canonical", "t.src"}}}));
    REQUIRE(g["jobs"].size() == 2);

    const auto& build = g["jobs"][0];
    CHECK(build["name"] == "build");
    CHECK(build["paused"] == true);
    CHECK(build["running"] == 2);
    CHECK(build["inputs"] == json::array());
    CHECK(build["gets"] ==
          json::parse(R"([{"resource":"t.src","name":"src","passed":[],"trigger":true},
                          {"resource":"t.lib","name":"lib","passed":[],"trigger":false}])"));
    CHECK(build["puts"] == json::parse(R"([{"resource":"t.out","name":"out"}])"));

    const auto& deploy = g["jobs"][1];
    CHECK(deploy["name"] == "deploy");  // made from the definition when there is no summary
    CHECK(deploy["latest_build"].is_null());
    CHECK(deploy["running"] == 0);
    CHECK(deploy["gets"] ==
          json::parse(R"([{"resource":"t.out","name":"out","passed":["build"],"trigger":true}])"));
    // a put in an if branch and one in a job hook
    CHECK(deploy["puts"] == json::parse(R"([{"resource":"t.src","name":"src"},
                                            {"resource":"t.lib","name":"lib"}])"));
    CHECK(deploy["inputs"] == json::parse(R"([
      {"name":"env","type":"string","options":["staging","prod"],"default":null,
       "required":true,"multiple":false,"description":"where"},
      {"name":"dry_run","type":"bool","options":null,"default":true,
       "required":false,"multiple":false,"description":null},
      {"name":"regions","type":"string","options":["eu","us"],"default":["eu"],
       "required":false,"multiple":true,"description":null}])"));
  }

  TEST_CASE("for_each instances are jobs of their own; passed names the instances") {
    auto cfg = load(R"(
resource_type "t" {
  check "shell" { cmd = "echo '[]'" }
  pull "shell" { cmd = "true" }
}
resource "t" "src" {}
job "test" {
  for_each = toset(["a", "b"])
  get "t" "src" { trigger = true }
}
job "ship" {
  get "t" "src" { passed = ["test"] }
}
)");
    auto g = server::graph_json(cfg, "p", true, {}, json::array());
    CHECK(g["paused"] == true);
    REQUIRE(g["jobs"].size() == 3);
    CHECK(g["jobs"][0]["name"] == "test--a");
    CHECK(g["jobs"][2]["gets"][0]["passed"] == json::array({"test--a", "test--b"}));
  }
}
