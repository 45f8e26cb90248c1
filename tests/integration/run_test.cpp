// `pikoci-node run FILE --job J`: one job run locally in the foreground by the built binary,
// its output as it comes and its result as the exit status (docs/run.md).
#include <doctest/doctest.h>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// `pikoci-node run` on `hcl` (written to a file in `dir`) with `args` after it.
command_result run_job(const temp_dir& dir, const std::string& hcl, std::vector<std::string> args) {
  dir.write("pipeline.hcl", replace_all(hcl, "@DIR@", dir.path()));
  std::vector<std::string> cmd{node_binary(), "run", dir.file("pipeline.hcl")};
  cmd.insert(cmd.end(), args.begin(), args.end());
  return run_command(cmd, 60s);
}

bool has(const command_result& r, const std::string& text) {
  return r.output.find(text) != std::string::npos;
}

const char* const jobs = R"(
variable "greeting" {
  type    = string
  default = "hello"
}

variable "token" {
  type = string
  secret "file" {
    path = "@DIR@/no-such-secrets.json"
    key  = "token"
  }
}

secret_type "file" {
  get "shell" {
    cmd = "cat $param_path"
  }
}

job "ok" {
  task "greet" {
    run "shell" {
      cmd = "echo ${var.greeting} from run; echo second line"
    }
  }
  task "after" {
    run "shell" {
      cmd = "echo token=${var.token}"
    }
  }
}

job "broken" {
  task "fails" {
    run "shell" {
      cmd = "echo about to fail; exit 3"
    }
  }
}
)";

const char* const with_get = R"(
resource_type "stamp" {
  check "shell" {
    cmd = "echo check >> @DIR@/checks; echo '[{\"ref\":\"v1\"},{\"ref\":\"v2\"}]'"
  }
  pull "shell" {
    cmd = "echo pulled ref=$version_ref"
  }
}

resource "stamp" "src" {
  check_interval = "@every 1m"
}

job "upstream" {
  get "stamp" "src" {
    trigger = true
  }
  task "never" {
    run "shell" {
      cmd = "echo upstream ran >> @DIR@/upstream"
    }
  }
}

job "use" {
  get "stamp" "src" {
    trigger = true
    passed  = ["upstream"]
  }
  task "show" {
    run "shell" {
      cmd = "echo using $GET_SRC_REF"
    }
  }
}
)";

const char* const with_inputs = R"(
job "deploy" {
  input "env" {
    options = ["staging", "prod"]
  }
  input "dry_run" {
    type    = bool
    default = true
  }
  task "show" {
    run "shell" {
      cmd = "echo env=$INPUT_env dry_run=$INPUT_dry_run"
    }
  }
}
)";

}  // namespace

TEST_SUITE("integration.run") {
  TEST_CASE("run: a succeeding job prints its steps and exits 0; a failing one exits 1") {
    temp_dir dir;
    auto ok = run_job(dir, jobs, {"--job", "ok", "--var", "greeting=hi"});
    INFO(ok.output);
    CHECK(ok.exit_code == 0);
    CHECK(has(ok, "==> task greet\nhi from run\nsecond line\n"));
    // secrets are not fetched: the placeholder reaches the command as it is
    CHECK(has(ok, "token=__pikoci_secret:file:"));
    CHECK(has(ok, "ok #1 succeeded"));

    auto given = run_job(dir, jobs, {"--job", "ok", "--var", "token=from-the-flag"});
    CHECK(given.exit_code == 0);
    CHECK(has(given, "token=from-the-flag"));

    auto failed = run_job(dir, jobs, {"--job", "broken"});
    INFO(failed.output);
    CHECK(failed.exit_code == 1);
    CHECK(has(failed, "==> task fails\nabout to fail\n"));
    CHECK(has(failed, "broken #1 failed"));
  }

  TEST_CASE(
      "run: a get is resolved by a check and a pull, or takes --version; passed is not applied") {
    temp_dir dir;
    auto checked = run_job(dir, with_get, {"--job", "use"});
    INFO(checked.output);
    CHECK(checked.exit_code == 0);
    CHECK(has(checked, "==> check stamp.src: {\"ref\":\"v2\"}"));
    CHECK(has(checked, "pulled ref=v2"));
    CHECK(has(checked, "using v2"));
    CHECK(dir.lines("checks").size() == 1);  // checked once, when asked
    CHECK(dir.read("upstream").empty());     // no other job ran

    auto pinned = run_job(dir, with_get, {"--job", "use", "--version", "src={\"ref\":\"v9\"}"});
    INFO(pinned.output);
    CHECK(pinned.exit_code == 0);
    CHECK(has(pinned, "pulled ref=v9"));
    CHECK(has(pinned, "using v9"));
    CHECK(dir.lines("checks").size() == 1);  // a given version needs no check

    auto canonical =
        run_job(dir, with_get, {"--job", "use", "--version", "stamp.src={\"ref\":\"v7\"}"});
    CHECK(canonical.exit_code == 0);
    CHECK(has(canonical, "using v7"));

    auto bad = run_job(dir, with_get, {"--job", "use", "--version", "src=[1]"});
    CHECK(bad.exit_code == 2);
    CHECK(has(bad, "--version src: expected a JSON object of strings"));
    auto unknown = run_job(dir, with_get, {"--job", "use", "--version", "nope={\"ref\":\"x\"}"});
    CHECK(unknown.exit_code == 2);
    CHECK(has(unknown, "--version nope: no resource of that name"));
  }

  TEST_CASE("run: inputs follow the trigger's rules; a bad file, job or input exits 2") {
    temp_dir dir;
    auto ok = run_job(dir, with_inputs, {"--job", "deploy", "--input", "env=prod"});
    INFO(ok.output);
    CHECK(ok.exit_code == 0);
    CHECK(has(ok, "env=prod dry_run=true"));

    auto bad = run_job(dir, with_inputs,
                       {"--job", "deploy", "--input", "env=nonsense", "--input", "dry_run=maybe"});
    CHECK(bad.exit_code == 2);
    CHECK(has(bad, "input \"dry_run\": \"maybe\" is not allowed; allowed: true or false"));
    CHECK_FALSE(has(bad, "==> task"));
    auto missing = run_job(dir, with_inputs, {"--job", "deploy"});
    CHECK(missing.exit_code == 2);
    CHECK(has(missing, "input \"env\" is required"));

    auto no_job = run_job(dir, with_inputs, {"--job", "nope"});
    CHECK(no_job.exit_code == 2);
    CHECK(has(no_job, "job \"nope\" not found"));

    auto invalid = run_job(dir, "job \"j\" {\n  tsk \"t\" {}\n}\n", {"--job", "j"});
    CHECK(invalid.exit_code == 2);
    CHECK(has(invalid, dir.file("pipeline.hcl") + ":2:3: Unsupported block type"));

    auto help = run_command({node_binary(), "run", "--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.output.find("--version") != std::string::npos);
    CHECK(help.output.find("secrets are not") != std::string::npos);
  }
}
