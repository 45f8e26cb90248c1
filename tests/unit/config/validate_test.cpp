// Save-time validation: every rule's message and its line:column (reference §1.1).

#include <doctest/doctest.h>

#include "config/pipeline/load.hpp"

using namespace pikoci::pipeline;

namespace {

// All errors of `src` as "p.hcl:LINE:COL: message" lines. The sources below start with a
// newline, so their first line of text is line 2.
std::string errors(const std::string& src) {
  auto r = load("p.hcl", src, {});
  CHECK_FALSE(r.config.has_value());
  return r.diags.format("p.hcl");
}

bool has(const std::string& all, const std::string& line) {
  return all.find(line + "\n") != std::string::npos;
}

#define CHECK_ERROR(src, line) \
  do {                         \
    auto all_ = errors(src);   \
    INFO(all_);                \
    CHECK(has(all_, line));    \
  } while (false)

}  // namespace

TEST_SUITE("config.pipeline") {
  TEST_CASE("an unknown block type is reported with a did-you-mean suggestion") {
    CHECK_ERROR(R"(
job "j" {
  tsk "t" {}
}
)",
                "p.hcl:3:3: Unsupported block type: Blocks of type \"tsk\" are not expected "
                "here. Did you mean \"task\"?");
    CHECK_ERROR("\njobs \"x\" {}\n",
                "p.hcl:2:1: Unsupported block type: Blocks of type \"jobs\" are not expected "
                "here. Did you mean \"job\"?");
    CHECK_ERROR("\nwidget \"x\" {}\n",
                "p.hcl:2:1: Unsupported block type: Blocks of type \"widget\" are not expected "
                "here.");
  }

  TEST_CASE("an unknown attribute is reported with a did-you-mean suggestion") {
    CHECK_ERROR(R"(
resource "cron" "t" {}
job "j" {
  get "cron" "t" {
    triggr = true
  }
}
)",
                "p.hcl:5:5: Unsupported argument: An argument named \"triggr\" is not expected "
                "here. Did you mean \"trigger\"?");
    CHECK_ERROR("\nname = \"x\"\n",
                "p.hcl:2:1: Unsupported argument: An argument named \"name\" is not expected "
                "here.");
  }

  TEST_CASE("in bodies whose attributes are params only near-misses are flagged") {
    const char* src = R"(
job "j" {
  task "t" {
    run "exec" {
      path = "echo"
      arg  = ["x"]
    }
  }
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:6:7: Unsupported argument: An argument named \"arg\" is not expected "
              "here. Did you mean \"args\"?"));
    CHECK(all.find("path") == std::string::npos);
    CHECK_ERROR(R"(
secret_type "s" {
  sorce = "pikoci://vault"
}
)",
                "p.hcl:3:3: Unsupported argument: An argument named \"sorce\" is not expected "
                "here. Did you mean \"source\"?");
  }

  TEST_CASE("wrong label counts are reported") {
    CHECK_ERROR("\njob {}\n",
                "p.hcl:2:1: Missing name for job: All job blocks must have 1 labels (name).");
    CHECK_ERROR("\nresource \"cron\" {}\n",
                "p.hcl:2:1: Missing name for resource: All resource blocks must have 2 labels "
                "(type, name).");
    CHECK_ERROR(R"(
job "j" {
  task "a" "b" {}
}
)",
                "p.hcl:3:12: Extraneous label for task: Only 1 labels (name) are expected for "
                "task blocks.");
    CHECK_ERROR(R"(
job "j" {
  in_parallel "x" {}
}
)",
                "p.hcl:3:15: Extraneous label for in_parallel: No labels are expected for "
                "in_parallel blocks.");
  }

  TEST_CASE("missing required attributes and blocks are reported at the block") {
    CHECK_ERROR(R"(
job "j" {
  if "a" {
  }
}
)",
                "p.hcl:3:3: Missing required argument: The argument \"condition\" is required, "
                "but no definition was found.");
    CHECK_ERROR(R"(
job "j" {
  task "t" {
  }
}
)",
                "p.hcl:3:3: Missing run block: A \"run\" block is required here.");
    CHECK_ERROR("\nvariable \"v\" {\n  default = \"x\"\n}\n",
                "p.hcl:2:1: Missing required argument: The argument \"type\" is required, but "
                "no definition was found.");
  }

  TEST_CASE("a block allowed once is reported when repeated") {
    CHECK_ERROR(R"(
job "j" {
  task "t" {
    run "exec" {
      path = "true"
    }
    run "exec" {
      path = "false"
    }
  }
}
)",
                "p.hcl:7:5: Duplicate run block: Only one \"run\" block is allowed here; another "
                "was defined at 4:5.");
  }

  TEST_CASE("values of the wrong type are reported at the value") {
    const char* src = R"(
resource_type "t" {
  params = "url"
}
resource "cron" "c" {}
job "j" {
  concurrency = "many"
  get "cron" "c" {
    trigger = "yes"
    passed  = "build"
  }
  task "t" {
    run "exec" {
      path = ["a"]
    }
  }
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:3:12: Incorrect attribute value type: Inappropriate value for "
              "attribute \"params\": list of string required."));
    CHECK(has(all,
              "p.hcl:7:17: Incorrect attribute value type: Inappropriate value for "
              "attribute \"concurrency\": number required."));
    CHECK(has(all,
              "p.hcl:9:15: Incorrect attribute value type: Inappropriate value for "
              "attribute \"trigger\": bool required."));
    CHECK(has(all,
              "p.hcl:10:15: Incorrect attribute value type: Inappropriate value for "
              "attribute \"passed\": list of string required."));
    CHECK(has(all,
              "p.hcl:14:14: Incorrect attribute value type: Inappropriate value for "
              "attribute \"path\": string required."));
  }

  TEST_CASE("references to unknown definitions are all reported together") {
    const char* src = R"(
variable "v" {
  type = string
  secret "valt" {
    key = "k"
  }
}
resource "gti" "repo" {}
notification "slak" "n" {}
notification_type "log" {
  notify "shel" {
    cmd = "x"
  }
}
job "j" {
  get "cron" "timer" {
    passed = ["biuld"]
  }
  put "cron" "other" {}
  service "pg" {}
  task "t" {
    run "bsh" {}
    on_failure "shel" {
      cmd = "x"
    }
  }
  notify "log" "missing" {}
  on_success {
    notify "log" "gone" {}
  }
}
job "build" {}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:4:10: Unknown secret_type: variable \"v\" refers to the secret_type "
              "\"valt\", which is not defined. Did you mean \"vault\"?"));
    CHECK(has(all,
              "p.hcl:8:10: Unknown resource_type: resource \"gti.repo\" refers to the "
              "resource_type \"gti\", which is not defined. Did you mean \"git\"?"));
    CHECK(has(all,
              "p.hcl:9:14: Unknown notification_type: notification \"slak.n\" refers to "
              "the notification_type \"slak\", which is not defined. Did you mean "
              "\"slack\"?"));
    CHECK(has(all,
              "p.hcl:11:10: Unknown runner: notification_type \"log\" refers to the "
              "runner \"shel\", which is not defined. Did you mean \"shell\"?"));
    CHECK(has(all,
              "p.hcl:16:7: Unknown resource: get \"timer\" in job \"j\" refers to the "
              "resource \"cron.timer\", which is not defined."));
    CHECK(has(all,
              "p.hcl:17:14: Unknown job: get \"timer\" in job \"j\" refers to the job "
              "\"biuld\", which is not defined. Did you mean \"build\"?"));
    CHECK(has(all,
              "p.hcl:19:7: Unknown resource: put \"other\" in job \"j\" refers to the "
              "resource \"cron.other\", which is not defined."));
    CHECK(has(all,
              "p.hcl:20:11: Unknown service_type: service \"pg\" in job \"j\" refers to "
              "the service_type \"pg\", which is not defined."));
    CHECK(has(all,
              "p.hcl:22:9: Unknown runner: task \"t\" in job \"j\" refers to the runner "
              "\"bsh\", which is not defined."));
    CHECK(has(all,
              "p.hcl:23:16: Unknown runner: on_failure hook of task \"t\" in job \"j\" "
              "refers to the runner \"shel\", which is not defined. Did you mean "
              "\"shell\"?"));
    CHECK(has(all,
              "p.hcl:27:10: Unknown notification: notify \"missing\" in job \"j\" refers "
              "to the notification \"log.missing\", which is not defined."));
    CHECK(has(all,
              "p.hcl:29:12: Unknown notification: notify \"gone\" in on_success hook of "
              "job \"j\" refers to the notification \"log.gone\", which is not defined."));
  }

  TEST_CASE("notification job lists must name jobs or for_each groups") {
    CHECK_ERROR(R"(
notification_type "log" {}
notification "log" "n" {
  on   = ["all"]
  jobs = ["nope"]
}
)",
                "p.hcl:5:10: Unknown job: notification \"log.n\" refers to the job \"nope\", "
                "which is not defined.");
  }

  TEST_CASE("check_interval must parse and be at least 10s") {
    CHECK_ERROR(R"(
resource "cron" "t" {
  check_interval = "@every 5s"
}
)",
                "p.hcl:3:20: Invalid check_interval: \"@every 5s\" is shorter than the minimum "
                "of 10s.");
    auto all = errors("\nresource \"cron\" \"t\" {\n  check_interval = \"every day\"\n}\n");
    CHECK(all.rfind("p.hcl:3:20: Invalid check_interval: \"every day\": ", 0) == 0);
  }

  TEST_CASE("durations must be Go durations") {
    CHECK_ERROR(R"(
job "j" {
  timeout = "5x"
}
)",
                "p.hcl:3:13: Invalid duration: \"5x\" for \"timeout\" is not a valid duration; "
                "use a Go duration such as \"30s\", \"5m\" or \"1h30m\".");
    CHECK_ERROR(R"(
service_type "s" {
  start "exec" {
    path = "true"
  }
  ready_check "exec" {
    interval = "soon"
  }
  stop "exec" {
    path = "true"
  }
}
)",
                "p.hcl:7:16: Invalid duration: \"soon\" for \"interval\" is not a valid "
                "duration; use a Go duration such as \"30s\", \"5m\" or \"1h30m\".");
  }

  TEST_CASE("concurrency and attempts must not be negative") {
    const char* src = R"(
job "j" {
  concurrency = -1
  task "t" {
    attempts = -2
    run "exec" {
      path = "true"
    }
  }
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all, "p.hcl:3:17: Invalid concurrency: \"concurrency\" must be >= 0, got -1."));
    CHECK(has(all, "p.hcl:5:16: Invalid attempts: \"attempts\" must be >= 0, got -2."));
  }

  TEST_CASE("serial groups and tags must be slugs and at most 10 tags are allowed") {
    const char* src = R"(
job "j" {
  serial_groups = ["ok", "Deploy Prod"]
  tags          = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]
}
resource "cron" "t" {
  tags = ["GPU"]
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:3:26: Invalid serial group: \"Deploy Prod\" is not a valid slug: use "
              "only a-z, 0-9, '-' and '_', not starting or ending with '-' or '_'."));
    CHECK(has(all, "p.hcl:4:19: Too many tags: At most 10 tags are allowed, got 11."));
    CHECK(has(all,
              "p.hcl:7:11: Invalid tag: \"GPU\" is not a valid slug: use only a-z, 0-9, "
              "'-' and '_', not starting or ending with '-' or '_'."));
  }

  TEST_CASE("job and resource names follow the name rule; resource types are slugs") {
    auto fine =
        load("p.hcl", "\njob \"Build It caf\u00e9\" {}\nresource \"cron\" \"My Timer\" {}\n", {});
    std::string first = fine.diags.items().empty() ? "" : fine.diags.items()[0].message();
    CHECK_MESSAGE(fine.config.has_value(), first);
    CHECK_ERROR("\njob \"a/b\" {}\n",
                "p.hcl:2:5: Invalid job name: \"a/b\" is not a valid job name: a name is 1 to 100 "
                "characters (letters, digits, spaces and punctuation), without control "
                "characters, '/', '\\' or '%', not starting with '.' and without spaces at either "
                "end.");
    CHECK_ERROR("\nresource \"cron\" \" t\" {}\n",
                "p.hcl:2:17: Invalid resource name: \" t\" is not a valid resource name: a name is "
                "1 to 100 characters (letters, digits, spaces and punctuation), without control "
                "characters, '/', '\\' or '%', not starting with '.' and without spaces at either "
                "end.");
  }

  TEST_CASE("duplicate names are reported at the second definition") {
    const char* src = R"(
job "a" {}
job "a" {}
resource "cron" "t" {}
resource "cron" "t" {}
resource_type "x" {}
resource_type "x" {}
notification_type "n" {}
notification "n" "m" {}
notification "n" "m" {}
runner_type "r" {
  run {
    path = "x"
  }
}
runner_type "r" {
  source = "pikoci://exec"
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all, "p.hcl:3:5: Duplicate job: A job named \"a\" was already defined at 2:5."));
    CHECK(has(all,
              "p.hcl:5:17: Duplicate resource: A resource named \"cron.t\" was already "
              "defined at 4:17."));
    CHECK(has(all,
              "p.hcl:7:15: Duplicate resource_type: A resource_type named \"x\" was "
              "already defined at 6:15."));
    CHECK(has(all,
              "p.hcl:10:18: Duplicate notification: A notification named \"n.m\" was "
              "already defined at 9:18."));
    CHECK(has(all,
              "p.hcl:16:13: Duplicate runner_type: A runner_type named \"r\" was already "
              "defined at 11:13."));
  }

  TEST_CASE("source and inline commands are mutually exclusive") {
    CHECK_ERROR(R"(
resource_type "x" {
  source = "pikoci://cron"
  check "exec" {
    path = "true"
  }
}
)",
                "p.hcl:4:3: Conflicting definition: resource_type \"x\" sets \"source\" (at 3:3) "
                "and an inline \"check\" block; they are mutually exclusive.");
    CHECK_ERROR(R"(
runner_type "r" {
  source = "https://example.com/r.hcl"
  run {
    path = "x"
  }
}
)",
                "p.hcl:4:3: Conflicting definition: runner_type \"r\" sets \"source\" (at 3:3) "
                "and an inline \"run\" block; they are mutually exclusive.");
    CHECK_ERROR(R"(
notification_type "n" {
  source = "pikoci://slack"
  notify "exec" {}
}
)",
                "p.hcl:4:3: Conflicting definition: notification_type \"n\" sets \"source\" (at "
                "3:3) and an inline \"notify\" block; they are mutually exclusive.");
  }

  TEST_CASE("a service_type without source needs start and stop") {
    const char* src = R"(
service_type "svc" {
  params = ["version"]
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:2:14: Missing start block: service_type \"svc\" needs a \"start\" "
              "block (or a \"source\")."));
    CHECK(has(all,
              "p.hcl:2:14: Missing stop block: service_type \"svc\" needs a \"stop\" "
              "block (or a \"source\")."));
  }

  TEST_CASE("unknown pikoci:// names and other source schemes are invalid") {
    CHECK_ERROR("\nservice_type \"pg\" {\n  source = \"pikoci://nosuch\"\n}\n",
                "p.hcl:3:12: Unknown built-in: \"pikoci://nosuch\": this node has no built-in "
                "service named \"nosuch\" (built-in services: kafka, keycloak, mariadb, nats, "
                "postgresql, rabbitmq, redis, vault).");
    CHECK_ERROR("\nresource_type \"r\" {\n  source = \"pikoci://nosuch\"\n}\n",
                "p.hcl:3:12: Unknown built-in: \"pikoci://nosuch\": this node has no built-in "
                "resource type named \"nosuch\" (built-in resource types: artifact, cron, fs, git, "
                "github-check, trigger).");
    CHECK_ERROR("\nresource_type \"x\" {\n  source = \"ftp://x\"\n}\n",
                "p.hcl:3:12: Invalid source: \"ftp://x\" is neither pikoci://<name> nor an "
                "http(s):// URL.");
  }

  TEST_CASE("services and nested in_parallel are not allowed inside in_parallel") {
    const char* src = R"(
service_type "svc" {
  start "exec" {}
  stop "exec" {}
}
job "j" {
  in_parallel {
    service "svc" {}
    in_parallel {}
  }
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:8:5: Invalid service block: Services are not allowed inside "
              "in_parallel."));
    CHECK(has(all,
              "p.hcl:9:5: Invalid in_parallel block: in_parallel blocks cannot be "
              "nested."));
  }

  TEST_CASE("else_if and else must follow an if or else_if") {
    const char* src = R"(
job "j" {
  else {}
  if "a" {
    condition = "x"
  }
  else {}
  else_if "b" {
    condition = "y"
  }
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:3:3: Unexpected else block: An \"else\" block must follow an \"if\" "
              "or \"else_if\" block."));
    CHECK(has(all,
              "p.hcl:8:3: Unexpected else_if block: An \"else_if\" block must follow an "
              "\"if\" or \"else_if\" block."));
  }

  TEST_CASE("services are not allowed inside if, else_if or else") {
    auto all = errors(R"(
service_type "db" {
  start "exec" {
    path = "true"
  }
}
job "j" {
  if "a" {
    condition = "x"
    service "db" {}
  }
  else {
    service "db" {}
  }
}
)");
    INFO(all);
    const char* why =
        "Services are not allowed inside if, else_if or else blocks; declare the service at the "
        "top of the job's plan.";
    CHECK(has(all, std::string("p.hcl:10:5: Invalid service block: ") + why));
    CHECK(has(all, std::string("p.hcl:13:5: Invalid service block: ") + why));
  }

  TEST_CASE("if blocks nest at most 8 deep") {
    std::string body = "task \"t\" {\n run \"exec\" {\n path = \"true\"\n }\n }\n";
    auto nest = [](int depth, std::string inner) {
      for (int i = 0; i < depth; ++i)
        inner = "if \"l" + std::to_string(i) + "\" {\ncondition = \"x\"\n" + inner + "}\n";
      return "job \"j\" {\n" + inner + "}\n";
    };
    auto ok = load("p.hcl", nest(8, body), {});
    CHECK_MESSAGE(ok.config.has_value(), ok.diags.format("p.hcl"));
    auto all = errors(nest(9, body));
    INFO(all);
    // the ninth (innermost) block
    CHECK(has(all, "p.hcl:18:1: Conditional steps nested too deeply: if blocks may be nested at "
                   "most 8 deep."));
  }

  TEST_CASE("if conditions must parse") {
    auto all = errors(R"(
job "j" {
  if "a" {
    condition = "!x"
  }
}
)");
    INFO(all);
    CHECK(all.rfind("p.hcl:4:17: Invalid condition: \"!x\": ", 0) == 0);
  }

  TEST_CASE("notification statuses, jobs and exclude follow their rules") {
    const char* src = R"(
notification_type "log" {}
job "build" {}
notification "log" "a" {
  on = ["sucess"]
}
notification "log" "b" {
  on = ["all", "failure"]
}
notification "log" "c" {
  on      = ["failure"]
  jobs    = ["build"]
  exclude = ["build"]
}
notification "log" "d" {
  jobs = ["build"]
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:5:8: Invalid notification status: \"sucess\" is not one of success, "
              "failure, cancel or all. Did you mean \"success\"?"));
    CHECK(has(all,
              "p.hcl:8:8: Invalid notification status: \"all\" cannot be combined with "
              "other statuses."));
    CHECK(has(all,
              "p.hcl:13:3: Conflicting arguments: \"jobs\" and \"exclude\" are mutually "
              "exclusive."));
    CHECK(has(all,
              "p.hcl:16:3: Missing on: \"jobs\" requires \"on\": without it the "
              "notification only fires manually."));
  }

  TEST_CASE("a type-level runner override only allows exec commands") {
    CHECK_ERROR(R"(
resource_type "x" {
  runner "docker" {
    image = "alpine"
  }
  check "exec" {}
  pull "shell" {
    cmd = "true"
  }
}
)",
                "p.hcl:7:8: Invalid runner: resource_type \"x\" has a runner override, so its "
                "commands must use the \"exec\" runner, not \"shell\".");
  }

  TEST_CASE("approvals must be at least one and input names unique") {
    const char* src = R"(
job "j" {
  approve "gate" {
    approvals = 0
  }
  input "env" {}
  input "env" {}
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all, "p.hcl:4:17: Invalid approvals: \"approvals\" must be >= 1, got 0."));
    CHECK(has(all,
              "p.hcl:7:9: Duplicate input: An input named \"env\" was already declared at "
              "6:9."));
  }

  TEST_CASE("an approval gate notifies only through types the server sends") {
    const char* src = R"(
notification_type "mail" {
  notify "shell" { cmd = "echo mail" }
}
notification "mail" "ops" {}
notification "http" "hook" {
  params { url = "http://127.0.0.1:9/x" }
}
job "j" {
  approve "gate" {
    notify "mail" "ops" {}
    notify "http" "hook" {}
  }
}
)";
    auto all = errors(src);
    INFO(all);
    CHECK(has(all,
              "p.hcl:11:12: Approval notify of a command type: job \"j\": approve \"gate\" "
              "notifies \"mail.ops\", of type \"mail\", which a notify command sends from a "
              "worker; an approval gate's notifications are sent by the server: use an http, "
              "slack or discord type"));
    CHECK(all.find("http.hook") == std::string::npos);
  }

  TEST_CASE("every error of a file is reported in one pass, sorted by position") {
    const char* src = R"(
job ".Bad" {
  tsk "t" {}
}
resource "nope" "r" {}
job "ok" {
  timeout = "never"
}
)";
    auto r = load("p.hcl", src, {});
    REQUIRE(r.diags.size() == 4);
    const auto& d = r.diags.items();
    CHECK(d[0].rng.start.line == 2);
    CHECK(d[1].rng.start.line == 3);
    CHECK(d[2].rng.start.line == 5);
    CHECK(d[3].rng.start.line == 7);
  }

  TEST_CASE("secrets: a type nothing can fetch with, a server-sent notification with a secret") {
    CHECK_ERROR(R"(
secret_type "nothing" {
  address = "x"
}
)",
                "p.hcl:2:13: Secret type without a get command: secret_type \"nothing\" has "
                "neither a get command nor a source: nothing can fetch its secrets");
    CHECK_ERROR(R"(
variable "hook" {
  type = string
  secret "file" {
    path = "/etc/hook.json"
    key  = "url"
  }
}
notification "slack" "team" {
  params { webhook_url = var.hook }
}
)",
                "p.hcl:9:1: Secret in a server-sent notification: notification \"slack.team\": "
                "its param \"webhook_url\" uses a secret-backed variable, but the built-in "
                "\"slack\" type is sent by the server, which does not resolve secrets; use a "
                "notification_type with a notify command (run by a worker) instead");
    auto ok = load("p.hcl", R"(
secret_type "env" {
  source = "pikoci://file"
  path   = "/etc/x.env"
}
variable "v" {
  type = string
  secret "env" { key = "K" }
}
)",
                   {});
    CHECK_MESSAGE(ok.config.has_value(), ok.diags.format("p.hcl"));
  }
}

TEST_SUITE("config.pipeline.artifact") {
  TEST_CASE("a put of the built-in artifact type without `dir` is refused at its block") {
    CHECK_ERROR(R"(
resource "artifact" "bin" {}
job "j" {
  put "artifact" "bin" {
    note = "x"
  }
}
)",
                "p.hcl:4:3: Missing attribute: put \"bin\" in job \"j\" stores a directory of "
                "the build: it needs `dir = \"<directory>\"`.");
    auto ok = load("p.hcl", "resource \"artifact\" \"bin\" {}\njob \"j\" {\n  put \"artifact\" "
                            "\"bin\" {\n    dir = \"out\"\n  }\n}\n",
                   {});
    CHECK(ok.config.has_value());
  }
}
