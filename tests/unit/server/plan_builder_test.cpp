// From pipeline file to finished build without the actors: load → plan → execute.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "actors/server/plan_builder.hpp"
#include "actors/worker/build_executor.hpp"
#include "config/pipeline/load.hpp"
#include "tests/unit/server/plan_fixture.hpp"

using namespace pikoci;
using pikoci::test::load;
using pikoci::test::recorder;
using namespace std::chrono_literals;

namespace {

struct run_result {
  work::build_result result;
  recorder rec;
};

void execute(const work::build_plan& plan, run_result& out) {
  out.result = test::execute(plan, out.rec);
}

const char* pipeline_text = R"hcl(
variable "who" {
  type    = string
  default = "world"
}

resource_type "counter" {
  params = ["start"]
  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo '[{\"n\":\"'$${version_n:-$param_start}'\"}]'"]
  }
  pull "shell" {
    cmd = "echo pulled $version_n from $param_start, ignored=$${param_secret:-none}"
  }
  push "shell" {
    cmd = "echo pushing $put_note; echo '[{\"n\":\"9\"}]'"
  }
}

resource "counter" "src" {
  params {
    start  = "5"
    secret = "not forwarded"
  }
}

runner_type "bash" {
  run {
    path = "/bin/bash"
    args = ["-c", "$script"]
  }
}

job "build" {
  get "counter" "src" {
    trigger = true
  }
  task "greet" {
    run "exec" {
      path = "echo"
      args = ["hello", "${var.who}", "$GET_SRC_N", ""]
    }
  }
  task "custom" {
    run "bash" {
      script = "echo bash says $BUILD_JOB_NAME/$BUILD_NUMBER in $BUILD_PIPELINE_NAME"
    }
    on_success "shell" {
      cmd = "echo step hook"
    }
  }
  put "counter" "src" {
    note = "shipped"
  }
  on_success "shell" {
    cmd = "echo first $BUILD_STATUS"
  }
  on_success "shell" {
    cmd = "echo second"
  }
  ensure "exec" {
    path = "true"
  }
}
)hcl";

}  // namespace

TEST_SUITE("server.plan_builder") {
  TEST_CASE("a pipeline's job becomes a plan that runs with the reference's environment") {
    auto cfg = load(pipeline_text);
    server::build_request req;
    req.build_id = 3;
    req.pipeline = "demo";
    req.number = "4";
    req.versions["src"] = {{"n", "7"}};
    auto plan = server::make_build_plan(cfg, *cfg.find_job("build"), req);
    REQUIRE(std::holds_alternative<work::build_plan>(plan));
    run_result r;
    execute(std::get<work::build_plan>(plan), r);
    CHECK(r.result.st == work::status::succeeded);
    CHECK(r.rec.logs["src"] == "pulled 7 from 5, ignored=none\npushing shipped\n[{\"n\":\"9\"}]\n");
    // exec passes args verbatim: no shell, no expansion ("$args" is spliced, not expanded)
    CHECK(r.rec.logs["greet"] == "hello world $GET_SRC_N \n");
    CHECK(r.rec.logs["custom"] == "bash says build/4 in demo\n");
    CHECK(r.rec.logs["custom:on_success"] == "step hook\n");
    CHECK(r.rec.logs["0:on_success"] == "first succeeded\n");
    CHECK(r.rec.logs["1:on_success"] == "second\n");
    std::vector<std::string> order{"src", "greet",        "custom",       "custom:on_success",
                                   "src", "0:on_success", "1:on_success", "ensure"};
    CHECK(r.rec.order == order);
  }

  TEST_CASE("the check command carries declared params and the latest version") {
    auto cfg = load(pipeline_text);
    const auto* res = cfg.find_resource("counter.src");
    REQUIRE(res != nullptr);
    auto first = server::make_check_command(cfg, "p", *res, nullptr);
    REQUIRE(first.has_value());
    CHECK(first->params.at("param_start") == "5");
    CHECK(first->params.count("param_secret") == 0);
    CHECK(first->params.count("version_n") == 0);
    auto later = server::make_check_command(cfg, "p", *res, {{"n", "6"}});
    CHECK(later->params.at("version_n") == "6");
  }

  TEST_CASE("a job's services become service plans with its param overrides") {
    auto cfg = load(R"hcl(
service_type "db" {
  params = ["version"]
  start "shell" {
    cmd = "echo start $param_version"
  }
  ready_check "exec" {
    path     = "true"
    interval = "250ms"
    timeout  = "5s"
  }
  stop "exec" {
    path = "true"
  }
}
job "uses-db" {
  service "db" {
    version = "16"
  }
  task "t" {
    run "exec" {
      path = "true"
    }
  }
}
)hcl");
    auto plan = server::make_build_plan(cfg, *cfg.find_job("uses-db"), {});
    REQUIRE(std::holds_alternative<work::build_plan>(plan));
    const auto& p = std::get<work::build_plan>(plan);
    REQUIRE(p.services.size() == 1);
    CHECK(p.steps.size() == 1);  // the service is not a plan step
    const auto& svc = p.services[0];
    CHECK(svc.name == "db");
    CHECK(svc.start.params.at("param_version") == "16");
    REQUIRE(svc.ready);
    CHECK(svc.ready->params.at("param_version") == "16");
    CHECK(svc.interval == std::chrono::milliseconds(250));
    CHECK(svc.timeout == std::chrono::seconds(5));
    REQUIRE(svc.stop);
    CHECK(svc.stop->params.at("param_version") == "16");
  }

  TEST_CASE("the built-in cron type's check finds a new version each time") {
    auto cfg = load("resource \"cron\" \"timer\" {\n  check_interval = \"@every 1h\"\n}\n");
    auto cmd = server::make_check_command(cfg, "p", *cfg.find_resource("cron.timer"), nullptr);
    REQUIRE(cmd.has_value());
    worker::executor_options opts;
    opts.work_root = std::filesystem::temp_directory_path() / "pikoci-cron-check";
    opts.worker_env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    auto r = worker::execute_check(*cmd, {}, opts, 10s);
    std::filesystem::remove_all(opts.work_root);
    CHECK_FALSE(r.error);
    REQUIRE(r.versions.size() == 1);
    CHECK(r.versions[0]["date"].get<std::string>().size() > 10);
  }
}
