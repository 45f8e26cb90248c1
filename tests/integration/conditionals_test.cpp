// `if` / `else_if` / `else` steps and `interruptible` jobs as a user meets them: the built
// binary on port 0, driven over HTTP and with its client and validate commands.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

// Our equivalent of PikoCI's conditional pipeline: a task detects the environment (here from an
// input), a chain picks the deploy, a later task reads the chosen branch's export. `direct`
// branches on an input and has no else.
const char* conditional_hcl = R"hcl(
job "deploy" {
  input "env" {
    default = "staging"
  }
  task "detect" {
    run "shell" {
      cmd = "echo ENV=$INPUT_env > $PIKOCI_OUTPUT"
    }
  }
  if "check-prod" {
    condition = "$TASK_DETECT_ENV == 'production'"
    task "deploy-prod" {
      run "shell" {
        cmd = "echo deploying to production; echo TARGET=prod > $PIKOCI_OUTPUT"
      }
    }
  }
  else_if "check-staging" {
    condition = "$TASK_DETECT_ENV == 'staging'"
    task "deploy-staging" {
      run "shell" {
        cmd = "echo deploying to staging; echo TARGET=staging > $PIKOCI_OUTPUT"
      }
      on_success "shell" {
        cmd = "echo staged $TASK_DEPLOY_STAGING_TARGET"
      }
    }
  }
  else {
    task "skip-deploy" {
      run "shell" {
        cmd = "echo unknown environment, skipping deploy"
      }
    }
  }
  task "report" {
    run "shell" {
      cmd = "echo target=[$TASK_DEPLOY_PROD_TARGET$TASK_DEPLOY_STAGING_TARGET]"
    }
  }
}

job "direct" {
  input "dry_run" {
    default = "false"
  }
  if "apply" {
    condition = "$INPUT_dry_run != 'true' && $BUILD_JOB_NAME == direct"
    task "apply" {
      run "shell" {
        cmd = "echo applied"
      }
    }
  }
  task "after" {
    run "shell" {
      cmd = "echo after"
    }
  }
}
)hcl";

/// POST .../trigger with `inputs`; the new build's number.
std::string trigger_with(runtime_node& node, const std::string& job, const json& inputs) {
  auto r = node.post("/pipelines/c/jobs/" + job + "/trigger", json{{"inputs", inputs}}.dump());
  REQUIRE_MESSAGE(r.status == 201, r.body, "\n", node.tail());
  return r.json()["build"]["number"].get<std::string>();
}

/// The top-level step record named `name`.
json top_step(const json& build, const std::string& name) {
  for (const auto& s : build["steps"])
    if (s["name"] == name) return s;
  FAIL("no step ", name, " in ", build.dump());
  return nullptr;
}

/// "type:name:status" of each record in `steps`, joined with ",".
std::string shape(const json& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps)
    out.push_back(s["type"].get<std::string>() + ":" + s["name"].get<std::string>() + ":" +
                  s["status"].get<std::string>());
  return joined(out);
}

std::string write_temp(const std::string& name, const std::string& content) {
  std::string path = "/tmp/pikoci-cond-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path) << content;
  return path;
}

}  // namespace

TEST_SUITE("integration.conditionals") {
  TEST_CASE("each branch of a chain runs from a task export; the others show skipped") {
    runtime_node node;
    node.set_pipeline("c", conditional_hcl);

    // else_if (the default input)
    auto staging = node.wait_build("c", "deploy", trigger_with(node, "deploy", json::object()));
    CHECK_MESSAGE(staging["status"] == "succeeded", staging.dump(2));
    // step hooks are top-level records, wherever their step is (as for in_parallel children)
    CHECK(names_of(staging["steps"]) == "detect,check-prod,deploy-staging:on_success,report");
    auto chain = top_step(staging, "check-prod");
    CHECK(chain["type"] == "if");
    CHECK(chain["status"] == "succeeded");
    CHECK(shape(chain["steps"]) ==
          "if:check-prod:skipped,else_if:check-staging:succeeded,else:else:skipped");
    CHECK(chain["steps"][0]["logs"] == "condition \"$TASK_DETECT_ENV == 'production'\" is false\n");
    CHECK(chain["steps"][1]["logs"] == "condition \"$TASK_DETECT_ENV == 'staging'\" is true\n");
    CHECK(shape(chain["steps"][1]["steps"]) == "task:deploy-staging:succeeded");
    CHECK(chain["steps"][0]["steps"] == json::array());
    CHECK(step_logs(staging, "deploy-staging:on_success") == "staged staging\n");
    // the branch's export after the chain; the skipped branch's does not exist
    CHECK(step_logs(staging, "report") == "target=[staging]\n");

    // if
    auto prod =
        node.wait_build("c", "deploy", trigger_with(node, "deploy", {{"env", "production"}}));
    CHECK(prod["status"] == "succeeded");
    chain = top_step(prod, "check-prod");
    CHECK(shape(chain["steps"]) ==
          "if:check-prod:succeeded,else_if:check-staging:skipped,else:else:skipped");
    CHECK(step_logs(prod, "deploy-prod") == "deploying to production\n");
    CHECK(step_logs(prod, "report") == "target=[prod]\n");

    // else
    auto other = node.wait_build("c", "deploy", trigger_with(node, "deploy", {{"env", "dev"}}));
    CHECK(other["status"] == "succeeded");
    chain = top_step(other, "check-prod");
    CHECK(shape(chain["steps"]) ==
          "if:check-prod:skipped,else_if:check-staging:skipped,else:else:succeeded");
    CHECK(step_logs(other, "skip-deploy") == "unknown environment, skipping deploy\n");
    CHECK(step_logs(other, "report") == "target=[]\n");
  }

  TEST_CASE("a chain driven by an input: taken, or none taken and the plan goes on") {
    runtime_node node;
    node.set_pipeline("c", conditional_hcl);
    auto taken = node.wait_build("c", "direct", trigger_with(node, "direct", json::object()));
    CHECK(taken["status"] == "succeeded");
    CHECK(shape(top_step(taken, "apply")["steps"]) == "if:apply:succeeded");
    CHECK(step_logs(taken, "after") == "after\n");

    auto none = node.wait_build("c", "direct", trigger_with(node, "direct", {{"dry_run", "true"}}));
    CHECK(none["status"] == "succeeded");
    auto chain = top_step(none, "apply");
    CHECK(chain["status"] == "succeeded");
    CHECK(shape(chain["steps"]) == "if:apply:skipped");
    CHECK(chain["logs"] == "no condition was true: nothing ran\n");
    CHECK(find_step(none["steps"], "apply")["type"] == "if");  // no task record named apply
    CHECK(step_logs(none, "after") == "after\n");
  }

  TEST_CASE("the build's plan and the job's outline show the chain") {
    runtime_node node;
    node.set_pipeline("c", conditional_hcl);
    auto number = trigger_with(node, "deploy", {{"env", "dev"}});
    node.wait_build("c", "deploy", number);
    auto r = node.get("/pipelines/c/jobs/deploy/builds/" + number + "/plan");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto step = r.json()["plan"]["steps"][1];
    CHECK(step["kind"] == "if");
    CHECK(step["name"] == "check-prod");
    REQUIRE(step["branches"].size() == 3);
    CHECK(step["branches"][0]["kind"] == "if");
    CHECK(step["branches"][0]["condition"] == "$TASK_DETECT_ENV == 'production'");
    CHECK(step["branches"][1]["label"] == "check-staging");
    CHECK(step["branches"][2]["kind"] == "else");
    CHECK(step["branches"][2]["steps"][0]["name"] == "skip-deploy");

    auto job = node.job("c", "deploy");
    auto outline = job["plan"][1];
    CHECK(outline["type"] == "if");
    CHECK(outline["name"] == "check-prod");
    REQUIRE(outline["branches"].size() == 3);
    CHECK(outline["branches"][1] ==
          json{{"type", "else_if"},
               {"name", "check-staging"},
               {"condition", "$TASK_DETECT_ENV == 'staging'"},
               {"steps", json::array({{{"type", "task"}, {"name", "deploy-staging"}}})}});
    CHECK(outline["branches"][2]["name"] == "else");
  }

  TEST_CASE("the client shows the chain of a build and of its plan") {
    runtime_node node;
    auto file = write_temp("c.hcl", conditional_hcl);
    auto client = [&](std::vector<std::string> args) {
      std::vector<std::string> argv{node_binary(),       "client",  "--url",
                                    node.server().url(), "--token", node.token()};
      argv.insert(argv.end(), args.begin(), args.end());
      auto r = run_command(argv, 20s);
      REQUIRE_MESSAGE(r.exit_code == 0, r.output);
      return r.output;
    };
    client({"pipelines", "set", "c", file});
    std::remove(file.c_str());
    client({"jobs", "trigger", "c", "deploy", "--input", "env=production"});
    node.wait_build("c", "deploy", "1");
    auto shown = client({"builds", "get", "c", "deploy", "1"});
    CHECK_MESSAGE(shown.find("  if check-prod  succeeded\n"
                             "    if check-prod  succeeded\n"
                             "      task deploy-prod  succeeded\n"
                             "    else_if check-staging  skipped\n"
                             "    else  skipped\n") != std::string::npos,
                  shown);
    auto logs = client({"builds", "logs", "c", "deploy", "1"});
    CHECK_MESSAGE(logs.find("==> if check-prod > if check-prod > task deploy-prod [succeeded]\n"
                            "deploying to production\n") != std::string::npos,
                  logs);
    auto plan = client({"builds", "plan", "c", "deploy", "1"});
    CHECK_MESSAGE(plan.find("if check-prod\n  if check-prod  when $TASK_DETECT_ENV == "
                            "'production'\n    task deploy-prod\n") != std::string::npos,
                  plan);
    CHECK(plan.find("  else\n    task skip-deploy\n") != std::string::npos);
  }

  TEST_CASE("services inside a branch and bad conditions are refused with FILE:LINE:COL") {
    const std::string bad = R"hcl(service_type "db" {
  start "exec" {
    path = "true"
  }
}
job "j" {
  if "a" {
    condition = "$X = 1"
    service "db" {}
  }
}
)hcl";
    auto file = write_temp("bad.hcl", bad);
    auto r = run_command({node_binary(), "validate", file});
    std::remove(file.c_str());
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.output.find(file + ":8:17: Invalid condition: \"$X = 1\": unexpected '=' at "
                                       "column 4 (did you mean '=='?)") != std::string::npos,
                  r.output);
    CHECK_MESSAGE(r.output.find(file + ":9:5: Invalid service block: Services are not allowed "
                                       "inside if, else_if or else blocks") != std::string::npos,
                  r.output);

    runtime_node node;
    auto put = node.put("/pipelines/bad", config_body(bad));
    CHECK(put.status == 422);
    bool refused = false;
    auto answer = put.json();
    for (const auto& d : answer["diagnostics"])
      refused = refused || (d["line"] == 9 && d["column"] == 5 &&
                            d["message"].get<std::string>().rfind("Invalid service block", 0) == 0);
    CHECK_MESSAGE(refused, put.body);
  }
}

TEST_SUITE("integration.interruptible") {
  const char* jobs_hcl = R"hcl(
job "blocker" {
  serial_groups = ["g"]
  task "hold" {
    run "shell" {
      cmd = "sleep 30"
    }
  }
}

job "deploy" {
  interruptible = true
  input "secs" {
    default = "30"
  }
  task "work" {
    run "shell" {
      cmd = "echo working; sleep $INPUT_secs"
    }
  }
}

job "queued" {
  interruptible = true
  serial_groups = ["g"]
  task "work" {
    run "shell" {
      cmd = "echo ran"
    }
  }
}

job "plain" {
  input "secs" {
    default = "30"
  }
  task "work" {
    run "shell" {
      cmd = "sleep $INPUT_secs"
    }
  }
}
)hcl";

  TEST_CASE("a new build of an interruptible job cancels the running one, naming itself") {
    runtime_node node;
    node.set_pipeline("i", jobs_hcl);
    auto first = node.trigger("i", "deploy")["number"].get<std::string>();
    node.wait_started("i", "deploy", first);
    auto r =
        node.post("/pipelines/i/jobs/deploy/trigger", json{{"inputs", {{"secs", "0"}}}}.dump());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    auto second = r.json()["build"]["number"].get<std::string>();
    auto old = node.wait_build("i", "deploy", first);
    CHECK(old["status"] == "cancelled");
    CHECK(old["reason"] == "superseded by build #" + second);
    auto now = node.wait_build("i", "deploy", second);
    CHECK_MESSAGE(now["status"] == "succeeded", now.dump(2));
    CHECK(step_logs(now, "work") == "working\n");
  }

  TEST_CASE("a pending build of an interruptible job is cancelled and leaves the queue") {
    runtime_node node;
    node.set_pipeline("i", jobs_hcl);
    auto blocker = node.trigger("i", "blocker")["number"].get<std::string>();
    node.wait_started("i", "blocker", blocker);
    auto first = node.trigger("i", "queued")["number"].get<std::string>();
    CHECK(node.build("i", "queued", first)["status"] == "pending");
    auto second = node.trigger("i", "queued")["number"].get<std::string>();
    auto old = node.wait_build("i", "queued", first);
    CHECK(old["status"] == "cancelled");
    CHECK(old["reason"] == "superseded by build #" + second);
    CHECK(old["steps"] == json::array());
    auto queue = node.get("/queue").json();
    REQUIRE(queue["pending"].size() == 1);
    CHECK(queue["pending"][0]["build"]["number"] == second);
    // the blocker ends: the newer one runs
    REQUIRE(node.post("/pipelines/i/jobs/blocker/builds/" + blocker + "/cancel").status == 200);
    auto now = node.wait_build("i", "queued", second);
    CHECK(now["status"] == "succeeded");
  }

  TEST_CASE("a job that is not interruptible keeps its running builds") {
    runtime_node node;
    node.set_pipeline("i", jobs_hcl);
    auto first = node.trigger("i", "plain")["number"].get<std::string>();
    node.wait_started("i", "plain", first);
    auto r = node.post("/pipelines/i/jobs/plain/trigger", json{{"inputs", {{"secs", "0"}}}}.dump());
    REQUIRE(r.status == 201);
    auto second = r.json()["build"]["number"].get<std::string>();
    auto now = node.wait_build("i", "plain", second);
    CHECK(now["status"] == "succeeded");
    auto old = node.build("i", "plain", first);
    CHECK(old["status"] == "started");
    CHECK(old["reason"].is_null());
    REQUIRE(node.post("/pipelines/i/jobs/plain/builds/" + first + "/cancel").status == 200);
  }
}
