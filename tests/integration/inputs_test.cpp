// Typed trigger inputs end to end (docs/pipeline-language.md "Inputs"): a value the declaration
// does not allow is refused with 400 by the API and the client, and nothing is created; allowed
// values and defaults reach the task as $INPUT_<name>, for manual and automatic builds.
#include <doctest/doctest.h>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

const char* const deploy = R"(
resource "cron" "tick" {
  check_interval = "@every 1h"
}

job "deploy" {
  input "env" {
    options = ["staging", "prod"]
  }
  input "dry_run" {
    type    = bool
    default = true
  }
  input "replicas" {
    type    = number
    default = 2
  }
  input "regions" {
    options  = ["eu", "us", "ap"]
    multiple = true
    default  = ["eu"]
  }
  task "show" {
    run "shell" {
      cmd = "echo env=$INPUT_env dry_run=$INPUT_dry_run replicas=$INPUT_replicas regions=$INPUT_regions"
    }
  }
}

job "nightly" {
  get "cron" "tick" {
    trigger = true
  }
  input "level" {
    options = ["quick", "full"]
    default = "quick"
  }
  task "show" {
    run "shell" {
      cmd = "echo level=$INPUT_level"
    }
  }
}
)";

}  // namespace

TEST_SUITE("integration.inputs") {
  TEST_CASE("inputs: bad values get 400 naming the input and nothing is created") {
    runtime_node node;
    node.set_pipeline("p", deploy);
    auto refused = [&](const std::string& body, const std::string& message) {
      auto r = node.post("/pipelines/p/jobs/deploy/trigger", body);
      CHECK_MESSAGE(r.status == 400, r.body);
      CHECK_MESSAGE(r.body.find(message) != std::string::npos, r.body);
    };
    refused(R"({"inputs":{"env":"nonsense"}})",
            R"(input \"env\": \"nonsense\" is not allowed; allowed: one of \"staging\", \"prod\")");
    refused(R"({"inputs":{"env":"prod","dry_run":"maybe"}})",
            R"(input \"dry_run\": \"maybe\" is not allowed; allowed: true or false)");
    refused(R"({"inputs":{"env":"prod","replicas":"three"}})", R"(input \"replicas\")");
    refused(R"({"inputs":{"env":"prod","regions":["eu","mars"]}})", R"(\"mars\" is not allowed)");
    refused(R"({"inputs":{}})", R"(input \"env\" is required)");
    refused(R"({"inputs":{"env":"prod","colour":"red"}})", R"(has no input \"colour\")");
    CHECK(node.builds("p", "deploy").empty());

    // the client says the same and exits 1; still nothing
    std::vector<std::string> client{node_binary(),       "client",  "--url",
                                    node.server().url(), "--token", node.token()};
    auto args = client;
    args.insert(args.end(), {"jobs", "trigger", "p", "deploy", "--input", "env=nonsense"});
    auto c = run_command(args, 20s);
    CHECK(c.exit_code == 1);
    CHECK_MESSAGE(c.output.find("input \"env\": \"nonsense\" is not allowed") != std::string::npos,
                  c.output);
    CHECK(node.builds("p", "deploy").empty());

    // the first build that is created is #1: no number was used by the refusals
    args = client;
    args.insert(args.end(),
                {"jobs", "trigger", "p", "deploy", "--input", "env=prod", "--input",
                 "dry_run=false", "--input", "regions=us, ap", "--input", "replicas=-1.5"});
    auto ok = run_command(args, 20s);
    REQUIRE_MESSAGE(ok.exit_code == 0, ok.output);
    auto b = node.wait_build("p", "deploy", "1");
    CHECK(step_logs(b, "show").find("env=prod dry_run=false replicas=-1.5 regions=us,ap") !=
          std::string::npos);
    auto r = node.post("/pipelines/p/jobs/deploy/trigger",
                       R"({"inputs":{"env":"staging","regions":["us","eu"],"dry_run":true}})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(r.json()["build"]["number"] == "2");
    CHECK(step_logs(node.wait_build("p", "deploy", "2"), "show")
              .find("env=staging dry_run=true replicas=2 regions=us,eu") != std::string::npos);
  }

  TEST_CASE("inputs: declared defaults reach automatically triggered builds") {
    runtime_node node;
    node.set_pipeline("p", deploy);
    node.check_and_wait("p", "cron.tick");
    auto builds = node.wait_builds("p", "nightly", 1, 30s);
    auto b = node.build("p", "nightly", builds[0]["number"].get<std::string>());
    CHECK(b["status"] == "succeeded");
    CHECK(step_logs(b, "show").find("level=quick") != std::string::npos);
  }

  TEST_CASE(
      "inputs: a default its declaration does not allow is refused at PUT with its position") {
    runtime_node node;
    auto r = node.put("/pipelines/bad", config_body(R"(job "j" {
  input "env" {
    options = ["staging", "prod"]
    default = "dev"
  }
  task "t" {
    run "shell" {
      cmd = "true"
    }
  }
}
)"));
    CHECK(r.status == 422);
    auto diags = r.json()["diagnostics"];
    REQUIRE_MESSAGE(diags.size() == 1, r.body);
    CHECK(diags[0]["line"] == 4);
    CHECK(diags[0]["column"] == 15);
    CHECK(diags[0]["message"].get<std::string>().find("\"dev\" is not allowed") !=
          std::string::npos);
  }
}
