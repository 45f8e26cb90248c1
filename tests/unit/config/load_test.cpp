// Loading whole pipelines into the typed model: the reference's examples, built-ins, plan order,
// hooks in both forms, if chains, services, notifications and job-level blocks.

#include <doctest/doctest.h>

#include "config/pipeline/load.hpp"

using namespace pikoci::pipeline;

namespace {

pipeline_config load_ok(const std::string& src, const load_options& opts = {}) {
  auto r = load("p.hcl", src, opts);
  INFO(r.diags.format("p.hcl"));
  REQUIRE(r.config.has_value());
  return *r.config;
}

// Every snippet of reference §1, assembled into one pipeline.
const char* const kitchen_sink = R"hcl(
variable "repo_url" {
  type    = string
  default = "https://example.com/app.git"
}

variable "token" {
  type = string
  secret "pikoci" {
    key = "NAME"
  }
}

variable "db_password" {
  type = string
  secret "inline" {
    path = "secret/data/${var.repo_url}"
    key  = "password"
  }
}

resource_type "bump" {
  params = ["url"]
  cache  = true
  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo '[{\"ref\":\"abc123\"}]'"]
  }
  pull "shell" {
    cmd = "echo pulled $version_ref"
  }
  push "exec" {}
}

resource "cron" "timer" {
  check_interval = "@every 1h"
}

resource "git" "my_repo" {
  params {
    url    = var.repo_url
    branch = "main"
    depth  = 1
  }
  tags = ["linux"]
}

resource "bump" "counter" {
  check_interval = "*/5 * * * *"
  cache          = false
}

runner_type "bash" {
  run {
    path = "/bin/bash"
    args = ["-c", "$script"]     # $script comes from the task's run "bash" { script = "..." }
  }
}

runner_type "docker2" {
  source = "pikoci://docker"
}

secret_type "inline" {
  address = "http://vault:8200"
  get "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo '{\"username\":\"admin\",\"password\":\"s3cret\"}'"]
  }
}

secret_type "files" {
  source = "pikoci://file"
  path   = "./secrets.json"
}

service_type "postgres" {
  params = ["version"]
  start "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo started $param_version"]
  }
  ready_check "exec" {
    path     = "true"
    interval = "500ms"
    timeout  = "2s"
  }
  stop "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo stopped"]
  }
}

notification_type "log" {
  params = ["prefix"]
  notify "shell" {
    cmd = "echo $NOTIFY_MESSAGE"
  }
}

notification "log" "team" {
  params {
    prefix = "ci"
  }
  message = "build $BUILD_JOB_NAME finished"
  on      = ["failure", "cancel"]
  jobs    = ["build"]
}

# an approval gate's notifications are sent by the server: a built-in type
notification "slack" "approvers" {
  params {
    webhook_url = "https://hooks.example.com/approvers"
  }
}

job "build" {
  concurrency    = 2
  serial_groups  = ["deploys"]
  tags           = ["linux", "gpu"]
  timeout        = "1h30m"
  disable_retry  = true
  allow_failure  = true
  interruptible  = true

  get "git" "my_repo" {
    trigger  = true
    attempts = 3
    timeout  = "5m"
    on_failure "shell" {
      cmd = "echo get failed"
    }
  }

  service "postgres" {
    version = "16"
  }

  task "unit" {
    inputs  = ["my_repo"]
    outputs = ["out"]
    run "bash" {
      script = "make test"
    }
    on_success {
      notify "log" "team" {
        message = "unit ok"
      }
    }
  }

  in_parallel {
    limit     = 2
    fail_fast = true
    task "a" {
      run "exec" {
        path = "echo"
        args = ["a"]
      }
    }
    task "b" {
      run "docker" {
        image = "alpine"
        cmd   = "echo b"
      }
    }
  }

  if "staging" {
    condition = "$TASK_DETECT_ENV_ENV == 'staging'"
    task "deploy-staging" {
      run "shell" {
        cmd = "echo staging"
      }
    }
  }
  else_if "prod" {
    condition = "$GET_APP_BRANCH == 'main' && $INPUT_dry_run != 'true'"
    task "deploy-prod" {
      run "shell" {
        cmd = "echo prod"
      }
    }
  }
  else {
    task "nothing" {
      run "shell" {
        cmd = "true"
      }
    }
  }

  put "bump" "counter" {
    bump = "minor"
  }

  notify "log" "team" {
    message = "done"
    status  = "queued"
  }

  approve "release" {
    approvals = 2
    timeout   = "24h"
    notify "slack" "approvers" {
      message = "approve me"
    }
  }

  input "dry_run" {
    type        = bool
    description = "only print"
    default     = false
  }

  input "env" {
    type     = string
    options  = ["staging", "prod"]
    multiple = true
  }

  on_trigger {
    notify "log" "team" {
      status = "queued"
    }
  }

  on_failure "shell" {
    cmd = "echo failed: $BUILD_STATUS"
  }
  on_success {
    put "bump" "counter" {}
    notify "log" "team" {}
  }
  ensure {
    task "docker-prune" {
      run "exec" {
        path = "docker"
        args = ["system", "prune", "-f"]
      }
    }
  }
  ensure "shell" {
    cmd = "echo second ensure"
  }
}

job "deploy" {
  get "git" "my_repo" {
    passed = ["build"]
  }
  get "cron" "timer" {}
}

job "empty" {}
)hcl";

}  // namespace

TEST_SUITE("config.pipeline") {
  TEST_CASE("the reference's examples, assembled, load without errors") {
    auto cfg = load_ok(kitchen_sink);
    CHECK(cfg.jobs.size() == 3);
    CHECK(cfg.resources.size() == 3);
    CHECK(cfg.notifications.size() == 2);
    CHECK(cfg.service_types.size() == 1);
  }

  TEST_CASE("an empty file and an empty job are valid pipelines") {
    CHECK(load_ok("").jobs.empty());
    auto cfg = load_ok("job \"build\" {}\n");
    REQUIRE(cfg.jobs.size() == 1);
    CHECK(cfg.jobs[0].plan.empty());
  }

  TEST_CASE("the built-in cron type is embedded exactly as the reference describes") {
    auto cfg = load_ok("");
    const auto* cron = cfg.find_resource_type("cron");
    REQUIRE(cron);
    CHECK(cron->builtin);
    CHECK(cron->source == "pikoci://cron");
    REQUIRE(cron->check);
    CHECK(cron->check->runner == "exec");
    CHECK(cron->check->params.at("path") == "/bin/sh");
    REQUIRE(cron->check->args.size() == 2);
    CHECK(cron->check->args[0] == "-ec");
    CHECK(cron->check->args[1] == "echo \"[{\\\"date\\\":\\\"$(date)\\\"}]\"\n");
    REQUIRE(cron->pull);
    CHECK(cron->pull->args[1] == "echo \"date: $version_date\"\n");
    REQUIRE(cron->push);
    CHECK(cron->push->params.empty());
    CHECK(cron->push->args.empty());
  }

  TEST_CASE("built-in resource types, runners and secret types are all known") {
    auto cfg = load_ok("");
    for (const char* n : {"cron", "git", "artifact", "trigger"}) CHECK(cfg.find_resource_type(n));
    for (const char* n : {"exec", "shell", "docker"}) CHECK(cfg.find_runner_type(n));
    for (const char* n : {"vault", "file", "pikoci"}) CHECK(cfg.find_secret_type(n));
    CHECK(cfg.find_resource_type("git")->cache);
    CHECK(cfg.find_resource_type("git")->params.size() == 7);
    const auto* shell = cfg.find_runner_type("shell");
    REQUIRE(shell->run);
    CHECK(shell->run->params.at("path") == "$shell");
    CHECK(shell->run->args == std::vector<std::string>{"-ec", "$cmd"});
    CHECK(cfg.find_runner_type("exec")->run->args == std::vector<std::string>{"$args"});
    CHECK(cfg.find_secret_type("pikoci")->internal);
    CHECK(cfg.find_secret_type("vault")->get.has_value());
  }

  TEST_CASE("a pipeline-defined type overrides the built-in of the same name") {
    auto cfg = load_ok(R"(
resource_type "cron" {
  check "exec" {
    path = "date"
  }
}
resource "cron" "t" {}
)");
    const auto* cron = cfg.find_resource_type("cron");
    REQUIRE(cron);
    CHECK_FALSE(cron->builtin);
    CHECK(cron->check->params.at("path") == "date");
    CHECK_FALSE(cron->pull.has_value());
    int crons = 0;
    for (const auto& t : cfg.resource_types) crons += t.name == "cron";
    CHECK(crons == 1);
  }

  TEST_CASE("a pikoci source fills the type from the embedded definition") {
    auto cfg = load_ok(kitchen_sink);
    const auto* d = cfg.find_runner_type("docker2");
    REQUIRE(d->run);
    CHECK(d->source_resolved);
    CHECK(d->run->params.at("path") == "docker");
    const auto* files = cfg.find_secret_type("files");
    CHECK_FALSE(files->internal);  // the file.get handler of the pikoci-node runner
    REQUIRE(files->get);
    CHECK(files->get->params.at("handler") == "file.get");
    CHECK(files->config.at("path") == "./secrets.json");
  }

  TEST_CASE("resources get canonicals, string params, the default check interval and tags") {
    auto cfg = load_ok(kitchen_sink);
    const auto* repo = cfg.find_resource("git.my_repo");
    REQUIRE(repo);
    CHECK(repo->params.at("url") == "https://example.com/app.git");
    CHECK(repo->params.at("depth") == "1");
    CHECK(repo->check_interval == "@every 1m");
    CHECK(repo->check_every == std::chrono::minutes(1));
    CHECK(repo->tags == std::vector<std::string>{"linux"});
    CHECK(cfg.find_resource("cron.timer")->check_every == std::chrono::hours(1));
    CHECK(cfg.find_resource("bump.counter")->cache == false);
  }

  TEST_CASE("job attributes are decoded with their types") {
    auto cfg = load_ok(kitchen_sink);
    const auto* j = cfg.find_job("build");
    REQUIRE(j);
    CHECK(j->concurrency == 2);
    CHECK(j->serial_groups == std::vector<std::string>{"deploys"});
    CHECK(j->tags.size() == 2);
    CHECK(j->timeout == std::chrono::minutes(90));
    CHECK(j->disable_retry);
    CHECK(j->allow_failure);
    CHECK(j->interruptible);
    CHECK_FALSE(j->group.has_value());
    const auto* e = cfg.find_job("empty");
    CHECK(e->concurrency == 0);
    CHECK_FALSE(e->allow_failure);
  }

  TEST_CASE("the plan keeps source order and an if chain is one step") {
    auto cfg = load_ok(kitchen_sink);
    const auto& plan = cfg.find_job("build")->plan;
    std::vector<step_kind> kinds;
    for (const auto& s : plan) kinds.push_back(s.kind);
    CHECK(kinds == std::vector<step_kind>{step_kind::get, step_kind::service, step_kind::task,
                                          step_kind::in_parallel, step_kind::if_chain,
                                          step_kind::put, step_kind::notify});
    CHECK(plan[0].name == "my_repo");
    CHECK(plan[0].canonical == "git.my_repo");
    CHECK(plan[0].trigger);
    CHECK(plan[0].attempts == 3);
    CHECK(plan[0].timeout == std::chrono::minutes(5));
    CHECK(plan[1].params.at("version") == "16");
    CHECK(plan[2].run->runner == "bash");
    CHECK(plan[2].run->params.at("script") == "make test");
    CHECK(plan[2].inputs == std::vector<std::string>{"my_repo"});
    CHECK(plan[3].limit == 2);
    CHECK(plan[3].fail_fast);
    REQUIRE(plan[3].steps.size() == 2);
    CHECK(plan[3].steps[1].run->params.at("image") == "alpine");
    const auto& chain = plan[4];
    CHECK(chain.name == "staging");
    REQUIRE(chain.branches.size() == 3);
    CHECK(chain.branches[0].k == branch::kind::if_);
    CHECK(chain.branches[0].condition == "$TASK_DETECT_ENV_ENV == 'staging'");
    CHECK(chain.branches[1].k == branch::kind::else_if);
    CHECK(chain.branches[1].label == "prod");
    CHECK(chain.branches[2].k == branch::kind::else_);
    CHECK(chain.branches[2].steps[0].name == "nothing");
    CHECK(plan[5].params.at("bump") == "minor");
    CHECK(plan[6].message == "done");
    CHECK(plan[6].params.at("status") == "queued");
    CHECK(plan[6].params.count("message") == 0);
  }

  TEST_CASE("consecutive if blocks start independent chains") {
    auto cfg = load_ok(R"(
job "j" {
  if "a" {
    condition = "x"
  }
  if "b" {
    condition = "y"
  }
  else {
  }
}
)");
    const auto& plan = cfg.jobs[0].plan;
    REQUIRE(plan.size() == 2);
    CHECK(plan[0].branches.size() == 1);
    CHECK(plan[1].branches.size() == 2);
  }

  TEST_CASE("hooks come in the labelled runner form and the block form, several of a kind") {
    auto cfg = load_ok(kitchen_sink);
    const auto& j = *cfg.find_job("build");
    REQUIRE(j.hooks.size() == 4);
    CHECK(j.hooks[0].kind == hook_kind::on_failure);
    REQUIRE(j.hooks[0].command);
    CHECK(j.hooks[0].command->runner == "shell");
    CHECK(j.hooks[0].command->params.at("cmd") == "echo failed: $BUILD_STATUS");
    CHECK(j.hooks[1].kind == hook_kind::on_success);
    REQUIRE(j.hooks[1].steps.size() == 2);
    CHECK(j.hooks[1].steps[0].kind == step_kind::put);
    CHECK(j.hooks[1].steps[1].kind == step_kind::notify);
    CHECK(j.hooks[2].kind == hook_kind::ensure);
    CHECK(j.hooks[2].steps[0].run->args.size() == 3);
    CHECK(j.hooks[3].kind == hook_kind::ensure);
    CHECK(j.hooks[3].command.has_value());
    // step-level hooks stay on their step
    CHECK(j.plan[0].hooks.size() == 1);
    CHECK(j.plan[0].hooks[0].kind == hook_kind::on_failure);
    CHECK(j.plan[2].hooks[0].steps[0].message == "unit ok");
  }

  TEST_CASE("approve, input and on_trigger blocks are kept on the job") {
    auto cfg = load_ok(kitchen_sink);
    const auto& j = *cfg.find_job("build");
    REQUIRE(j.approve);
    CHECK(j.approve->label == "release");
    CHECK(j.approve->approvals == 2);
    CHECK(j.approve->timeout == std::chrono::hours(24));
    REQUIRE(j.approve->notify.size() == 1);
    CHECK(j.approve->notify[0].canonical == "slack.approvers");
    REQUIRE(j.inputs.size() == 2);
    CHECK(j.inputs[0].type == value_type::boolean);
    CHECK(j.inputs[0].default_value == pikoci::hcl::value::boolean(false));
    CHECK(j.inputs[1].options.size() == 2);
    CHECK(j.inputs[1].multiple);
    CHECK_FALSE(j.inputs[1].default_value.has_value());
    REQUIRE(j.on_trigger.size() == 1);
    CHECK(j.on_trigger[0].params.at("status") == "queued");
  }

  TEST_CASE("services, secret types and notifications keep their commands and settings") {
    auto cfg = load_ok(kitchen_sink);
    const auto* pg = cfg.find_service_type("postgres");
    REQUIRE(pg->ready_check);
    CHECK(pg->ready_check->interval == std::chrono::milliseconds(500));
    CHECK(pg->ready_check->timeout == std::chrono::seconds(2));
    CHECK(pg->ready_check->params.count("interval") == 0);
    const auto* inl = cfg.find_secret_type("inline");
    CHECK(inl->config.at("address") == "http://vault:8200");
    const auto* n = cfg.find_notification("log.team");
    REQUIRE(n);
    CHECK(n->on == std::vector<std::string>{"failure", "cancel"});
    CHECK(n->jobs_expanded == std::vector<std::string>{"build"});
    CHECK(n->message == "build $BUILD_JOB_NAME finished");
    CHECK(n->params.at("prefix") == "ci");
  }

  TEST_CASE("secret-backed variables become placeholders usable in expressions") {
    auto cfg = load_ok(kitchen_sink);
    CHECK(cfg.vars.attrs().at("token").as_string() == "__pikoci_secret:pikoci::NAME__");
    CHECK(cfg.vars.attrs().at("db_password").as_string() ==
          "__pikoci_secret:inline:secret/data/https://example.com/app.git:password__");
  }

  TEST_CASE("a `$` without braces passes through and `$${` gives a literal `${`") {
    auto cfg = load_ok(R"(
job "j" {
  task "t" {
    run "shell" {
      cmd = "echo $HOME $${param_branch:-HEAD}"
    }
  }
}
)");
    CHECK(cfg.jobs[0].plan[0].run->params.at("cmd") == "echo $HOME ${param_branch:-HEAD}");
  }

  TEST_CASE("a syntax error stops loading and is reported with its position") {
    auto r = load("p.hcl", "job \"x\" {\n", {});
    CHECK_FALSE(r.config.has_value());
    REQUIRE(r.diags.has_errors());
    CHECK(r.diags.format("p.hcl").rfind("p.hcl:", 0) == 0);
  }
}
