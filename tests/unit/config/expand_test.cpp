// for_each / matrix expansion of jobs (reference §1.9).

#include <doctest/doctest.h>

#include "config/pipeline/load.hpp"

using namespace pikoci::pipeline;
using pikoci::hcl::value;

namespace {

load_result run(const std::string& src) {
  return load("p.hcl", src, {});
}

std::vector<std::string> job_names(const load_result& r) {
  INFO(r.diags.format("p.hcl"));
  REQUIRE(r.config.has_value());
  std::vector<std::string> out;
  for (const auto& j : r.config->jobs) out.push_back(j.name);
  return out;
}

bool has(const load_result& r, const std::string& line) {
  return r.diags.format("p.hcl").find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_SUITE("config.pipeline") {
  TEST_CASE("for_each over a set creates slug-named jobs sorted by key") {
    auto r = run(R"(
job "test" {
  for_each = toset(["1.22", "1.21", "tip"])
  task "go" {
    run "shell" {
      cmd = "go${each.key} test ${each.value}"
    }
  }
}
)");
    CHECK(job_names(r) == std::vector<std::string>{"test--1-21", "test--1-22", "test--tip"});
    const auto& j = r.config->jobs[0];
    CHECK(j.group == "test");
    CHECK(j.each_key == "1.21");
    CHECK(j.each_value == value::string("1.21"));
    CHECK(j.plan[0].run->params.at("cmd") == "go1.21 test 1.21");
    CHECK(r.config->job_groups.at("test") ==
          std::vector<std::string>{"test--1-21", "test--1-22", "test--tip"});
  }

  TEST_CASE("for_each over an object gives each.key and each.value") {
    auto r = run(R"(
job "deploy" {
  for_each = {
    prod    = { replicas = 3 }
    staging = { replicas = 1 }
  }
  concurrency = each.value.replicas
}
)");
    CHECK(job_names(r) == std::vector<std::string>{"deploy--prod", "deploy--staging"});
    CHECK(r.config->jobs[0].concurrency == 3);
    CHECK(r.config->jobs[1].concurrency == 1);
    CHECK(r.config->jobs[1].each_key == "staging");
  }

  TEST_CASE("for_each over a map from variables works") {
    auto r = run(R"(
variable "region" {
  type    = string
  default = "eu"
}
job "ship" {
  for_each = tomap({ (var.region) = "x" })
}
)");
    CHECK(job_names(r) == std::vector<std::string>{"ship--eu"});
  }

  TEST_CASE("a raw list in for_each is rejected with a hint to use toset") {
    auto r = run("\njob \"t\" {\n  for_each = [\"a\", \"b\"]\n}\n");
    CHECK_FALSE(r.config.has_value());
    CHECK(has(r,
              "p.hcl:3:14: Invalid for_each argument: The for_each value must be a set of "
              "strings or a map, not tuple; convert a list with toset([...])."));
    auto s = run("\njob \"t\" {\n  for_each = \"a\"\n}\n");
    CHECK(has(s,
              "p.hcl:3:14: Invalid for_each argument: The for_each value must be a set of "
              "strings or a map, not string."));
  }

  TEST_CASE("two keys with the same slug are an error") {
    auto r = run("\njob \"t\" {\n  for_each = toset([\"a b\", \"a-b\"])\n}\n");
    CHECK(has(r,
              "p.hcl:3:14: Duplicate job name: The keys \"a b\" and \"a-b\" both give the "
              "job name \"t--a-b\"."));
  }

  TEST_CASE("a key without letters or digits cannot name a job") {
    auto r = run("\njob \"t\" {\n  for_each = toset([\"..\"])\n}\n");
    CHECK(has(r,
              "p.hcl:3:14: Invalid for_each key: The key \"..\" has no letters or digits, so "
              "it cannot name a job."));
  }

  TEST_CASE("an instance colliding with an explicit job is an error") {
    auto r = run(R"(
job "t" {
  for_each = toset(["x"])
}
job "t--x" {}
)");
    CHECK_FALSE(r.config.has_value());
    CHECK(has(r,
              "p.hcl:5:5: Duplicate job: The job \"t--x\" collides with an instance of the "
              "job \"t\" (at 2:5)."));
  }

  TEST_CASE("a matrix is the cartesian product of axes sorted by name") {
    auto r = run(R"(
job "build" {
  matrix {
    os = ["linux", "darwin"]
    go = ["1.21", "1.22"]
  }
  task "t" {
    run "shell" {
      cmd = "GOOS=${each.value.os} go${each.value.go}"
    }
  }
}
)");
    CHECK(job_names(r) == std::vector<std::string>{"build--1-21-darwin", "build--1-21-linux",
                                                   "build--1-22-darwin", "build--1-22-linux"});
    const auto& j = r.config->jobs[1];
    CHECK(j.each_key == "1-21-linux");
    CHECK(j.each_value ==
          value::object({{"go", value::string("1.21")}, {"os", value::string("linux")}}));
    CHECK(j.plan[0].run->params.at("cmd") == "GOOS=linux go1.21");
  }

  TEST_CASE("matrix axes must be non-empty lists of primitives") {
    auto r = run("\njob \"b\" {\n  matrix {\n    os = []\n  }\n}\n");
    CHECK(has(r,
              "p.hcl:4:10: Invalid matrix axis: The axis \"os\" must be a non-empty list of "
              "strings, numbers or bools."));
  }

  TEST_CASE("for_each and matrix are mutually exclusive") {
    auto r = run(R"(
job "b" {
  for_each = toset(["a"])
  matrix {
    os = ["linux"]
  }
}
)");
    CHECK(has(r,
              "p.hcl:4:3: Conflicting arguments: A job cannot have both \"for_each\" and a "
              "\"matrix\" block."));
  }

  TEST_CASE("passed may name a for_each group and expands to all its instances") {
    auto r = run(R"(
resource "cron" "timer" {}
job "test" {
  for_each = toset(["a", "b"])
  get "cron" "timer" {}
}
job "ship" {
  get "cron" "timer" {
    passed = ["test", "test--a"]
  }
}
notification_type "log" {}
notification "log" "n" {
  on      = ["failure"]
  exclude = ["test"]
}
)");
    INFO(r.diags.format("p.hcl"));
    REQUIRE(r.config.has_value());
    const auto& get = r.config->find_job("ship")->plan[0];
    CHECK(get.passed == std::vector<std::string>{"test", "test--a"});
    CHECK(get.passed_jobs == std::vector<std::string>{"test--a", "test--b"});
    CHECK(r.config->notifications[0].exclude_expanded ==
          std::vector<std::string>{"test--a", "test--b"});
  }

  TEST_CASE("an error inside a for_each body is reported once, not once per instance") {
    auto r = run(R"(
job "t" {
  for_each = toset(["a", "b", "c"])
  tsk "x" {}
}
)");
    CHECK(r.diags.size() == 1);
  }

  TEST_CASE("an empty for_each set still defines its group") {
    auto r = run(R"(
resource "cron" "timer" {}
job "none" {
  for_each = toset([])
}
job "after" {
  get "cron" "timer" {
    passed = ["none"]
  }
}
)");
    INFO(r.diags.format("p.hcl"));
    REQUIRE(r.config.has_value());
    CHECK(r.config->job_groups.at("none").empty());
    CHECK(r.config->find_job("after")->plan[0].passed_jobs.empty());
  }
}
