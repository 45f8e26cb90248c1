// Notify steps and hooks (reference §1.8, §1.9): a type with a `notify` command runs as a step of
// the build with param_*/notify_*/NOTIFY_MESSAGE; built-in kinds are no-op steps that the
// server's outbox sends when they are recorded (outbox_notify_steps finds them).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "actors/server/plan_builder.hpp"
#include "actors/worker/build_executor.hpp"
#include "config/pipeline/load.hpp"
#include "tests/unit/server/plan_fixture.hpp"

using namespace pikoci;
using pikoci::test::execute;
using pikoci::test::load;
using pikoci::test::recorder;

namespace {

work::build_plan plan_of(const pipeline::pipeline_config& cfg, const std::string& job) {
  server::build_request req;
  req.build_id = 7;
  req.pipeline = "p";
  req.number = "4";
  auto planned = server::make_build_plan(cfg, *cfg.find_job(job), req);
  if (auto* reason = std::get_if<std::string>(&planned)) FAIL(*reason);
  return std::get<work::build_plan>(std::move(planned));
}

const char* command_type = R"hcl(
notification_type "log" {
  params = ["channel"]
  notify "shell" {
    cmd = "echo \"[$param_channel] $NOTIFY_MESSAGE ($notify_level)\""
  }
}
notification "log" "team" {
  params { channel = "ci" }
  message = "default text"
}
)hcl";

}  // namespace

TEST_SUITE("server.notify_plan") {
  TEST_CASE("a notify step of a command type runs with param_, notify_ and its message expanded") {
    auto cfg = load(std::string(command_type) + R"hcl(
job "j" {
  task "t" {
    run "shell" { cmd = "echo K=v1 > $PIKOCI_OUTPUT" }
  }
  notify "log" "team" {
    message = "build $BUILD_NUMBER of $BUILD_JOB_NAME: $TASK_T_K\nsecond line"
    level   = "info"
  }
  notify "log" "team" {}
}
)hcl");
    recorder rec;
    auto result = execute(plan_of(cfg, "j"), rec);
    CHECK(result.st == work::status::succeeded);
    CHECK(rec.started == std::vector<std::string>{"task:t", "notify:team", "notify:team"});
    CHECK(rec.logs["team"] == "[ci] build 4 of j: v1\nsecond line (info)\n[ci] default text ()\n");
  }

  TEST_CASE("a notify in a job hook sees BUILD_STATUS") {
    auto cfg = load(std::string(command_type) + R"hcl(
job "j" {
  task "t" {
    run "shell" { cmd = "exit 3" }
  }
  on_failure {
    notify "log" "team" { message = "it $BUILD_STATUS" }
  }
}
)hcl");
    recorder rec;
    auto result = execute(plan_of(cfg, "j"), rec);
    CHECK(result.st == work::status::failed);
    CHECK(rec.logs["on_failure"] == "[ci] it failed ()\n");
  }

  TEST_CASE("automatic notifications of command types run after the job hooks, filtered") {
    auto cfg = load(R"hcl(
notification_type "log" {
  notify "shell" {
    cmd = "echo \"$NOTIFY_MESSAGE/$notify_build_status\""
  }
}
notification "log" "failures" {
  message = "#$BUILD_NUMBER"
  on      = ["failure", "cancel"]
}
notification "log" "always" {
  message = "all"
  on      = ["all"]
  exclude = ["other"]
}
notification "log" "wins" {
  message = "won"
  on      = ["success"]
}
notification "log" "manual" {}
job "j" {
  task "t" {
    run "shell" { cmd = "exit 1" }
  }
  on_failure "shell" { cmd = "echo hook" }
}
job "other" {}
)hcl");
    recorder rec;
    auto result = execute(plan_of(cfg, "j"), rec);
    CHECK(result.st == work::status::failed);
    CHECK(rec.started == std::vector<std::string>{"task:t", "hook:on_failure",
                                                  "hook:notification:log.failures",
                                                  "hook:notification:log.always"});
    CHECK(rec.logs["notification:log.failures"] == "#4/failed\n");
    CHECK(rec.logs["notification:log.always"] == "all/failed\n");
    recorder other;
    execute(plan_of(cfg, "other"), other);
    CHECK(other.started == std::vector<std::string>{"hook:notification:log.wins"});
    CHECK(other.logs["notification:log.wins"] == "won/succeeded\n");
  }

  TEST_CASE("a type whose source is not resolved never loads, so no build can meet it") {
    // Without a fetcher (and not --offline) the URL is refused where it is written; with one, a
    // fetch that fails is refused the same way: no pipeline holds a type without its command.
    const char* hcl = R"hcl(
notification_type "github-check" {
  source = "https://example.invalid/check.hcl"
}
notification "github-check" "pr" {}
job "j" {
  notify "github-check" "pr" {}
}
)hcl";
    auto offline = pipeline::load("p.hcl", hcl, {});
    REQUIRE_FALSE(offline.config);
    CHECK(offline.diags.format("p.hcl").rfind("p.hcl:3:12: Source not fetched", 0) == 0);
    pipeline::load_options opts;
    opts.fetch = [](const std::string&) {
      return pipeline::fetched{std::nullopt, "HTTP status 404"};
    };
    auto failed = pipeline::load("p.hcl", hcl, opts);
    REQUIRE_FALSE(failed.config);
    CHECK(failed.diags.format("p.hcl") ==
          "p.hcl:3:12: Cannot fetch source: notification_type \"github-check\": fetching "
          "\"https://example.invalid/check.hcl\" failed: HTTP status 404\n");
  }

  TEST_CASE("built-in kinds are no-op steps found by their records for the outbox") {
    auto cfg = load(R"hcl(
notification "http" "hook" {
  params { url = "http://127.0.0.1:1/x" }
}
notification "slack" "team" {
  params { webhook_url = "http://127.0.0.1:1/s" }
}
job "j" {
  task "t" {
    run "shell" { cmd = "true" }
    on_failure {
      notify "slack" "team" {}
    }
  }
  in_parallel {
    notify "http" "hook" { status = "running" }
  }
  ensure {
    notify "http" "hook" {}
    notify "slack" "team" { message = "done" }
  }
}
)hcl");
    auto plan = plan_of(cfg, "j");
    REQUIRE(plan.steps.size() == 2);
    REQUIRE(plan.steps[1].children.size() == 1);
    CHECK(plan.steps[1].children[0].kind == work::step_kind::notify);
    CHECK_FALSE(plan.steps[1].children[0].command.has_value());
    recorder rec;
    CHECK(execute(plan, rec).st == work::status::succeeded);
    CHECK(rec.started == std::vector<std::string>{"task:t", "in_parallel:in_parallel",
                                                  "notify:hook", "hook:ensure"});

    const auto& job = *cfg.find_job("j");
    auto step = server::outbox_notify_steps(cfg, job, "notify", "hook", false);
    REQUIRE(step.size() == 1);
    CHECK(step[0]->canonical == "http.hook");
    CHECK(step[0]->params.at("status") == "running");
    auto ensure = server::outbox_notify_steps(cfg, job, "hook", "ensure", true);
    REQUIRE(ensure.size() == 2);
    CHECK(ensure[1]->canonical == "slack.team");
    CHECK(ensure[1]->message == std::optional<std::string>("done"));
    auto step_hook = server::outbox_notify_steps(cfg, job, "hook", "t:on_failure", false);
    REQUIRE(step_hook.size() == 1);
    CHECK(step_hook[0]->canonical == "slack.team");
    CHECK(server::outbox_notify_steps(cfg, job, "task", "t", false).empty());
  }
}
