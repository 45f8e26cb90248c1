// Conditional steps (`if` / `else_if` / `else`): the plan the server makes of them and how the
// executor chooses a branch at run time from the build's variables and earlier exports.
#include <doctest/doctest.h>

#include "actors/server/plan_builder.hpp"
#include "tests/unit/server/plan_fixture.hpp"
#include "tests/unit/worker/executor_fixture.hpp"

using namespace pikoci;
using namespace pikoci::worker;
using namespace pikoci::worker::testing;

namespace {

work::branch_plan branch(work::branch_kind k, const std::string& label, const std::string& cond,
                         std::vector<work::step_plan> steps) {
  work::branch_plan b;
  b.kind = k;
  b.label = label;
  b.condition = cond;
  b.steps = std::move(steps);
  return b;
}

/// detect (exports ENV=<env>), then if prod / else_if staging / else, then a step after it.
work::build_plan env_chain(const std::string& env, bool with_else = true) {
  work::build_plan plan;
  plan.steps.push_back(task("detect", "echo ENV=" + env + " > $PIKOCI_OUTPUT"));
  work::step_plan chain;
  chain.kind = work::step_kind::if_chain;
  chain.name = "check-prod";
  chain.branches.push_back(branch(work::branch_kind::if_, "check-prod",
                                  "$TASK_DETECT_ENV == 'production'",
                                  {task("deploy-prod", "echo DEPLOYED=prod > $PIKOCI_OUTPUT")}));
  chain.branches.push_back(
      branch(work::branch_kind::else_if, "check-staging", "$TASK_DETECT_ENV == 'staging'",
             {task("deploy-staging", "echo DEPLOYED=staging > $PIKOCI_OUTPUT"),
              task("smoke", "echo smoke after $TASK_DEPLOY_STAGING_DEPLOYED")}));
  if (with_else)
    chain.branches.push_back(
        branch(work::branch_kind::else_, "", "", {task("skip-deploy", "echo nothing to do")}));
  plan.steps.push_back(chain);
  plan.steps.push_back(task("after",
                            "echo after prod=[$TASK_DEPLOY_PROD_DEPLOYED] "
                            "staging=[$TASK_DEPLOY_STAGING_DEPLOYED]"));
  return plan;
}

}  // namespace

TEST_SUITE("worker.conditional") {
  TEST_CASE("the first true branch runs; the others are recorded skipped") {
    fixture f;
    auto r = f.run(env_chain("staging"));
    CHECK(r.st == status::succeeded);
    CHECK(f.rec.saw("finish:check-prod:skipped"));  // the if branch (its record shares the name)
    CHECK(f.rec.logs["check-prod"] == "condition \"$TASK_DETECT_ENV == 'production'\" is false\n");
    CHECK(f.rec.saw("finish:check-staging:succeeded"));
    CHECK(f.rec.logs["check-staging"] == "condition \"$TASK_DETECT_ENV == 'staging'\" is true\n");
    CHECK_FALSE(f.rec.started("deploy-prod"));
    CHECK(f.rec.logs["smoke"] == "smoke after staging\n");  // earlier exports of the branch
    CHECK(f.rec.saw("finish:else:skipped"));
    CHECK_FALSE(f.rec.started("skip-deploy"));
    // exports of the branch that ran are visible after the chain; a skipped one's do not exist
    CHECK(f.rec.logs["after"] == "after prod=[] staging=[staging]\n");
    // the chain ends after its branches, before the next step
    CHECK(f.rec.index("finish:else:skipped") < f.rec.index("finish:check-prod:succeeded"));
    CHECK(f.rec.index("finish:check-prod:succeeded") < f.rec.index("start:after"));
  }

  TEST_CASE("if, else_if, else and none: exactly one branch or none runs") {
    SUBCASE("if") {
      fixture f;
      CHECK(f.run(env_chain("production")).st == status::succeeded);
      CHECK(f.rec.started("deploy-prod"));
      CHECK_FALSE(f.rec.started("deploy-staging"));
      CHECK_FALSE(f.rec.started("skip-deploy"));
      CHECK(f.rec.saw("finish:check-staging:skipped"));
      CHECK(f.rec.logs["after"] == "after prod=[prod] staging=[]\n");
    }
    SUBCASE("else") {
      fixture f;
      CHECK(f.run(env_chain("dev")).st == status::succeeded);
      CHECK(f.rec.started("skip-deploy"));
      CHECK(f.rec.saw("finish:else:succeeded"));
      CHECK_FALSE(f.rec.started("deploy-prod"));
      CHECK_FALSE(f.rec.started("deploy-staging"));
    }
    SUBCASE("none") {
      fixture f;
      CHECK(f.run(env_chain("dev", false)).st == status::succeeded);
      CHECK_FALSE(f.rec.started("deploy-prod"));
      CHECK_FALSE(f.rec.started("deploy-staging"));
      CHECK(f.rec.started("after"));
      CHECK(f.rec.logs["check-prod"].find("no condition was true: nothing ran") !=
            std::string::npos);
    }
  }

  TEST_CASE("conditions see BUILD_* and INPUT_* variables and GET_* exports, not the worker's") {
    fixture f;
    f.opts.worker_env["SECRETISH"] = "yes";
    work::build_plan plan;
    plan.env["INPUT_dry_run"] = "true";
    work::step_plan get;
    get.kind = work::step_kind::get;
    get.name = "app";
    get.version = {{"branch", "main"}};
    plan.steps.push_back(get);
    work::step_plan chain;
    chain.kind = work::step_kind::if_chain;
    chain.name = "a";
    chain.branches.push_back(
        branch(work::branch_kind::if_, "a", "$SECRETISH", {task("t1", "true")}));
    chain.branches.push_back(branch(work::branch_kind::else_if, "b",
                                    "$GET_APP_BRANCH == 'main' && $INPUT_dry_run != 'true'",
                                    {task("t2", "true")}));
    chain.branches.push_back(branch(work::branch_kind::else_if, "c",
                                    "$BUILD_JOB_NAME == unit && $INPUT_dry_run",
                                    {task("t3", "true")}));
    plan.steps.push_back(chain);
    CHECK(f.run(plan).st == status::succeeded);
    CHECK_FALSE(f.rec.started("t1"));
    CHECK_FALSE(f.rec.started("t2"));
    CHECK(f.rec.started("t3"));
  }

  TEST_CASE(
      "a failing step in the branch fails the chain and the build; hooks and attempts apply") {
    fixture f;
    work::build_plan plan;
    work::step_plan chain;
    chain.kind = work::step_kind::if_chain;
    chain.name = "go";
    auto flaky = task("flaky", "echo try; exit 3");
    flaky.attempts = 2;
    flaky.hooks.push_back(hook(work::hook_kind::on_failure, "flaky:on_failure", "echo hook ran"));
    chain.branches.push_back(
        branch(work::branch_kind::if_, "go", "", {flaky, task("never", "true")}));
    plan.steps.push_back(chain);
    plan.steps.push_back(task("later", "true"));
    auto r = f.run(plan);
    CHECK(r.st == status::failed);
    CHECK(r.reason == "step \"flaky\" failed: exit status 3");
    CHECK(f.rec.logs["flaky"].find("--- attempt 2/2 ---") != std::string::npos);
    CHECK(f.rec.logs["flaky:on_failure"] == "hook ran\n");
    CHECK(f.rec.saw("finish:go:failed"));
    CHECK_FALSE(f.rec.started("never"));
    CHECK_FALSE(f.rec.started("later"));
  }

  TEST_CASE("a condition that cannot be evaluated fails the step with a clear log line") {
    fixture f;
    work::build_plan plan;
    work::step_plan chain;
    chain.kind = work::step_kind::if_chain;
    chain.name = "bad";
    chain.branches.push_back(branch(work::branch_kind::if_, "bad", "$X = 1", {task("t", "true")}));
    chain.branches.push_back(branch(work::branch_kind::else_, "", "", {task("e", "true")}));
    plan.steps.push_back(chain);
    auto r = f.run(plan);
    CHECK(r.st == status::failed);
    CHECK(r.reason ==
          "if \"bad\": condition \"$X = 1\" cannot be evaluated: unexpected '=' at column 4 (did "
          "you mean '=='?)");
    CHECK(f.rec.logs["bad"].find("cannot be evaluated") != std::string::npos);
    CHECK(f.rec.saw("finish:else:skipped"));
    CHECK_FALSE(f.rec.started("t"));
    CHECK_FALSE(f.rec.started("e"));
  }

  TEST_CASE("in_parallel and nested chains run inside a branch") {
    fixture f;
    work::build_plan plan;
    work::step_plan group;
    group.kind = work::step_kind::in_parallel;
    group.name = "in_parallel";
    group.children = {task("p1", "echo A=1 > $PIKOCI_OUTPUT"), task("p2", "true")};
    work::step_plan inner;
    inner.kind = work::step_kind::if_chain;
    inner.name = "inner";
    inner.branches.push_back(
        branch(work::branch_kind::if_, "inner", "$TASK_P1_A == 1", {task("deep", "echo deep")}));
    work::step_plan outer;
    outer.kind = work::step_kind::if_chain;
    outer.name = "outer";
    outer.branches.push_back(branch(work::branch_kind::if_, "outer", "yes", {group, inner}));
    plan.steps.push_back(outer);
    CHECK(f.run(plan).st == status::succeeded);
    CHECK(f.rec.logs["deep"] == "deep\n");
  }

  TEST_CASE("the plan carries the chain from the pipeline, and its JSON shows it") {
    auto cfg = test::load(R"hcl(
job "deploy" {
  task "detect" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "echo ENV=staging > $PIKOCI_OUTPUT"]
    }
  }
  if "check-prod" {
    condition = "$TASK_DETECT_ENV == 'production'"
    task "deploy-prod" {
      run "exec" {
        path = "echo"
        args = ["prod"]
      }
    }
  }
  else_if "check-staging" {
    condition = "$TASK_DETECT_ENV == 'staging'"
    task "deploy-staging" {
      run "exec" {
        path = "echo"
        args = ["staging"]
      }
    }
  }
  else {
    task "skip-deploy" {
      run "exec" {
        path = "echo"
        args = ["skipped"]
      }
    }
  }
}
)hcl");
    server::build_request req;
    req.build_id = 1;
    req.pipeline = "p";
    req.number = "1";
    auto planned = server::make_build_plan(cfg, cfg.jobs.at(0), req);
    REQUIRE(std::holds_alternative<work::build_plan>(planned));
    const auto& plan = std::get<work::build_plan>(planned);
    REQUIRE(plan.steps.size() == 2);
    const auto& chain = plan.steps[1];
    CHECK(chain.kind == work::step_kind::if_chain);
    CHECK(chain.name == "check-prod");
    REQUIRE(chain.branches.size() == 3);
    CHECK(chain.branches[1].kind == work::branch_kind::else_if);
    CHECK(chain.branches[1].condition == "$TASK_DETECT_ENV == 'staging'");
    CHECK(chain.branches[2].kind == work::branch_kind::else_);
    CHECK(chain.branches[2].steps.at(0).name == "skip-deploy");
    auto j = work::to_json(plan);
    CHECK(j["steps"][1]["kind"] == "if");
    CHECK(j["steps"][1]["branches"][1]["kind"] == "else_if");
    CHECK(j["steps"][1]["branches"][1]["label"] == "check-staging");
    CHECK(j["steps"][1]["branches"][2]["steps"][0]["name"] == "skip-deploy");

    test::recorder rec;
    CHECK(test::execute(plan, rec).st == work::status::succeeded);
    CHECK(rec.logs["deploy-staging"] == "staging\n");
    CHECK(rec.logs.count("deploy-prod") == 0);
    CHECK(rec.logs.count("skip-deploy") == 0);
  }
}
