// Every block and attribute of the pipeline language runs: one small pipeline per block of the
// reference (variables, types, resources, job attributes, steps, hooks, inputs, on_trigger),
// each validated by `pikoci-node validate`, set on a node, triggered, and checked to reach its
// expected status without `errored` or "not supported". Nothing that validates may be ignored
// or refused at run time.
//
// Adding a block: add a row to `rows()` (a pipeline, the job to trigger, the status expected,
// text its logs must hold); `@DIR@` is a directory the row may use, `@URL@` a receiver of HTTP
// notifications.
#include <doctest/doctest.h>

#include <functional>

#include "tests/support/http_receiver.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// One block of the language, exercised by one pipeline.
struct block_row {
  std::string block;  // what the row covers
  std::string hcl;
  std::string job;                     // the job whose build is checked
  std::string expected = "succeeded";  // its terminal status
  std::string log;                     // text the build's logs hold ("": none asked)
  std::string inputs = "{}";           // the manual trigger's inputs (JSON)
  std::vector<std::string> checks;     // resources checked (and awaited) first
  bool by_version = false;             // the check's version triggers it, not a manual trigger
  bool approve = false;                // approved (by the test's admin) once it waits
  std::map<std::string, std::string> files;  // written to @DIR@ before
};

/// A resource type whose check finds versions v1 and v2 and whose pull and push say what they do.
const std::string stamp_type = R"(
resource_type "stamp" {
  params = ["color"]
  check "shell" {
    cmd = "echo '[{\"ref\":\"v1\"},{\"ref\":\"v2\"}]'"
  }
  pull "shell" {
    cmd = "echo pulled ref=$version_ref color=$param_color"
  }
  push "shell" {
    cmd = "echo pushed note=$put_note"
  }
}

resource "stamp" "src" {
  check_interval = "@every 1h"
  params {
    color = "blue"
  }
}
)";

block_row row(std::string block, std::string hcl, std::string job, std::string expected,
              std::string log) {
  block_row r;
  r.block = std::move(block);
  r.hcl = std::move(hcl);
  r.job = std::move(job);
  r.expected = std::move(expected);
  r.log = std::move(log);
  return r;
}

std::string task(const std::string& name, const std::string& cmd) {
  return "  task \"" + name + "\" {\n    run \"shell\" {\n      cmd = \"" + cmd +
         "\"\n    }\n  }\n";
}

std::vector<block_row> rows() {
  std::vector<block_row> r;
  r.push_back(row("variable",
                  R"(
variable "greeting" {
  type    = string
  default = "hi"
}
variable "count" {
  type    = number
  default = 3
}
job "j" {
)" + task("t", "echo ${var.greeting} ${var.count}") +
                      "}\n",
                  "j", "succeeded", "hi 3"));
  r.push_back(row("resource_type, resource, get (timeout, attempts)", stamp_type + R"(
job "j" {
  get "stamp" "src" {
    timeout  = "1m"
    attempts = 2
  }
)" + task("t", "echo got $GET_SRC_REF") + "}\n",
                  "j", "succeeded", "got v2"));
  r.back().checks = {"stamp.src"};
  r.push_back(row("runner_type", R"(
runner_type "sh2" {
  run {
    path = "/bin/sh"
    args = ["-c", "$script"]
  }
}
job "j" {
  task "t" {
    run "sh2" {
      script = "echo from a runner type"
    }
  }
}
)",
                  "j", "succeeded", "from a runner type"));
  auto secret = row("secret_type (file), secret-backed variable", R"(
secret_type "vault_file" {
  source = "pikoci://file"
  path   = "@DIR@/creds.json"
}
variable "token" {
  type = string
  secret "vault_file" {
    key = "token"
  }
}
job "j" {
)" + task("t", "test ${var.token} = s3cret && echo secret matched") + "}\n",
                    "j", "succeeded", "secret matched");
  secret.files["creds.json"] = R"({"token": "s3cret"})";
  r.push_back(secret);
  r.push_back(row("service_type, service", R"(
service_type "db" {
  params = ["version"]
  start "shell" {
    cmd = "echo db $param_version > $WORKDIR/db.txt"
  }
  ready_check "shell" {
    cmd      = "test -f $WORKDIR/db.txt"
    interval = "1s"
    timeout  = "10s"
  }
  stop "shell" {
    cmd = "echo stopping db"
  }
}
job "j" {
  service "db" {
    version = "16"
  }
)" + task("t", "cat db.txt") + "}\n",
                  "j", "succeeded", "db 16"));
  r.push_back(row("notification_type, notification, notify step", R"(
notification_type "say" {
  params = ["to"]
  notify "shell" {
    cmd = "echo to=$param_to says $NOTIFY_MESSAGE"
  }
}
notification "say" "team" {
  params {
    to = "ops"
  }
  message = "build $BUILD_NUMBER"
  on      = ["success", "failure"]
  jobs    = ["j"]
}
job "j" {
)" + task("t", "echo working") + R"(
  notify "say" "team" {}
}
)",
                  "j", "succeeded", "working"));
  r.push_back(row("job attributes: concurrency, serial_groups, timeout, disable_retry", R"(
job "j" {
  concurrency   = 1
  serial_groups = ["deploys"]
  timeout       = "1m"
  disable_retry = true
)" + task("t", "echo attributes") + "}\n",
                  "j", "succeeded", "attributes"));
  r.push_back(row("job attribute: tags",
                  "job \"j\" {\n  tags = [\"linux\"]\n" + task("t", "echo tagged") + "}\n", "j",
                  "succeeded", "tagged"));
  r.push_back(
      row("job attribute: allow_failure",
          "job \"j\" {\n  allow_failure = true\n" + task("t", "echo failing; exit 1") + "}\n", "j",
          "warning", "failing"));
  r.push_back(row("job attribute: for_each", R"(
job "j" {
  for_each = toset(["a", "b"])
)" + task("t", "echo each=${each.key}") + "}\n",
                  "j--b", "succeeded", "each=b"));
  r.push_back(row("job attribute: matrix",
                  R"(
job "j" {
  matrix {
    os   = ["linux"]
    arch = ["x86", "arm"]
  }
)" + task("t", "echo ${each.value.os}/${each.value.arch}") +
                      "}\n",
                  "j--arm-linux", "succeeded", "linux/arm"));
  r.push_back(row("task attributes: timeout, attempts, inputs, outputs, exports", R"(
job "j" {
  task "make" {
    timeout  = "1m"
    attempts = 2
    outputs  = ["out.txt"]
    run "shell" {
      cmd = "echo made > out.txt; echo COLOR=green >> $PIKOCI_OUTPUT"
    }
  }
  task "use" {
    inputs = ["out.txt"]
    run "shell" {
      cmd = "cat out.txt; echo color=$TASK_MAKE_COLOR"
    }
  }
}
)",
                  "j", "succeeded", "color=green"));
  r.push_back(row("resource attributes: cron check_interval, cache, tags", R"hcl(
resource_type "cached" {
  cache = true
  check "shell" {
    cmd = "echo seen >> $CACHE_DIR/seen; echo '[{\"n\":\"1\"}]'"
  }
  pull "shell" {
    cmd = "echo cache dir $(test -d $CACHE_DIR && echo present)"
  }
}
resource "cached" "thing" {
  check_interval = "0 * * * *"
  tags           = ["linux"]
}
job "j" {
  get "cached" "thing" {}
}
)hcl",
                  "j", "succeeded", "cache dir present"));
  r.back().checks = {"cached.thing"};
  r.push_back(row("put", stamp_type + R"(
job "j" {
  put "stamp" "src" {
    note = "shipped"
  }
}
)",
                  "j", "succeeded", "pushed note=shipped"));
  r.push_back(row("in_parallel (limit, fail_fast)", R"(
job "j" {
  in_parallel {
    limit     = 2
    fail_fast = true
)" + task("a", "echo left") + task("b", "echo right") + "  }\n}\n",
                  "j", "succeeded", "right"));
  r.push_back(row("hooks: labeled, unlabeled, job and step level", R"(
notification_type "say" {
  notify "shell" {
    cmd = "echo notified $NOTIFY_MESSAGE"
  }
}
notification "say" "team" {
  message = "hook"
}
job "j" {
  task "t" {
    run "shell" {
      cmd = "echo step"
    }
    on_success "shell" {
      cmd = "echo labeled step hook"
    }
    ensure {
      notify "say" "team" {}
    }
  }
  on_success "shell" {
    cmd = "echo labeled job hook"
  }
  ensure {
)" + task("cleanup", "echo unlabeled job hook") + R"(  }
  on_failure {
    notify "say" "team" {}
  }
  on_cancel "shell" {
    cmd = "echo cancelled"
  }
}
)",
                  "j", "succeeded", "unlabeled job hook"));
  r.push_back(row("input",
                  R"(
job "j" {
  input "env" {
    description = "where"
    options     = ["staging", "prod"]
  }
  input "dry_run" {
    type    = bool
    default = true
  }
  input "n" {
    type    = number
    default = 1
  }
  input "regions" {
    options  = ["eu", "us"]
    multiple = true
    default  = ["eu"]
  }
)" + task("t", "echo $INPUT_env $INPUT_dry_run $INPUT_n $INPUT_regions") +
                      "}\n",
                  "j", "succeeded", "prod true 1 eu,us"));
  r.back().inputs = R"({"env":"prod","regions":"eu,us"})";
  r.push_back(row("on_trigger",
                  stamp_type + R"(
notification "http" "hook" {
  params {
    url = "@URL@"
  }
  message = "about to build $BUILD_JOB_NAME"
}
job "j" {
  get "stamp" "src" {
    trigger = true
  }
  on_trigger {
    notify "http" "hook" {
      status = "queued"
    }
  }
)" + task("t", "echo triggered by $GET_SRC_REF") +
                      "}\n",
                  "j", "succeeded", "triggered by v"));
  r.back().checks = {"stamp.src"};
  r.back().by_version = true;
  r.push_back(row("if, else_if, else (condition)", R"(
job "j" {
  input "env" {
    default = "staging"
  }
  if "prod" {
    condition = "$INPUT_env == 'production'"
)" + task("p", "echo to prod") + R"(  }
  else_if "staging" {
    condition = "$INPUT_env == 'staging'"
)" + task("s", "echo chose staging") + R"(  }
  else {
)" + task("e", "echo neither") + "  }\n}\n",
                  "j", "succeeded", "chose staging"));
  r.push_back(row("job attribute: interruptible", R"(
job "j" {
  interruptible = true
)" + task("t", "echo interruptible ran") + "}\n",
                  "j", "succeeded", "interruptible ran"));
  r.push_back(row("approve (approvals, timeout)", R"(
job "j" {
  approve "ship" {
    approvals = 1
    timeout   = "1h"
  }
)" + task("t", "echo approved and ran") + "}\n",
                  "j", "succeeded", "approved and ran"));
  r.back().approve = true;
  return r;
}

/// `pikoci-node validate` on the row's pipeline: "" when valid, else its output.
std::string validate(const temp_dir& dir, const std::string& hcl) {
  dir.write("pipeline.hcl", hcl);
  auto v = run_command({node_binary(), "validate", dir.file("pipeline.hcl")});
  return v.exit_code == 0 ? "" : v.output;
}

/// The row's build: triggered (or awaited after its check) and finished.
json run_row(runtime_node& node, const std::string& p, const block_row& row) {
  for (const auto& rc : row.checks) node.check_and_wait(p, rc);
  if (row.by_version) {
    auto builds = node.wait_builds(p, row.job, 1, 30s);
    return node.wait_build(p, row.job, builds[0]["number"].get<std::string>(), 30s);
  }
  auto t = node.post("/pipelines/" + p + "/jobs/" + row.job + "/trigger",
                     json{{"inputs", json::parse(row.inputs)}}.dump());
  REQUIRE_MESSAGE(t.status == 201, t.body);
  auto number = t.json()["build"]["number"].get<std::string>();
  if (row.approve) {
    CHECK(t.json()["build"]["status"] == "waiting_for_approval");
    auto a = node.post("/pipelines/" + p + "/jobs/" + row.job + "/builds/" + number + "/approve",
                       R"({"message":"ok"})");
    REQUIRE_MESSAGE(a.status == 200, a.body);
  }
  return node.wait_build(p, row.job, number, 30s);
}

}  // namespace

TEST_SUITE("integration.language") {
  TEST_CASE("every block of the language validates, is accepted and runs") {
    runtime_node node;
    http_receiver receiver;
    auto all = rows();
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto& row = all[i];
      CAPTURE(row.block);
      temp_dir dir;
      for (const auto& [name, content] : row.files) dir.write(name, content);
      auto hcl =
          replace_all(replace_all(row.hcl, "@DIR@", dir.path()), "@URL@", receiver.url("/hook"));
      auto invalid = validate(dir, hcl);
      CHECK_MESSAGE(invalid.empty(), invalid);
      std::string p = "block" + std::to_string(i);
      node.set_pipeline(p, hcl);
      auto b = run_row(node, p, row);
      auto logs = all_logs(b);
      INFO(b.dump(2));
      CHECK(b["status"] == row.expected);
      CHECK(b["status"] != "errored");
      if (b["reason"].is_string())
        CHECK(b["reason"].get<std::string>().find("not supported") == std::string::npos);
      CHECK(logs.find("not supported") == std::string::npos);
      if (!row.log.empty()) CHECK(logs.find(row.log) != std::string::npos);
    }
    // the on_trigger row's hook reached its receiver before the build was created
    CHECK(eventually([&] { return !receiver.requests().empty(); }));
  }
}
