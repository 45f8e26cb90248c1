// Evaluation limits of the pipeline language: the budget (values, nesting, time) and the
// count limits of a load, each ending in one diagnostic at the place that exceeded it.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "config/pipeline/budget.hpp"
#include "config/pipeline/condition.hpp"
#include "config/pipeline/eval.hpp"
#include "config/pipeline/load.hpp"
#include "config/pipeline/names.hpp"
#include "config/pipeline/parser.hpp"

using namespace pikoci;
using namespace std::chrono_literals;

namespace {

/// All diagnostics of a load that must fail, as "p.hcl:LINE:COL: message" lines.
std::string errors(const std::string& src, const pipeline::load_options& opts = {}) {
  auto r = pipeline::load("p.hcl", src, opts);
  CHECK_FALSE(r.config.has_value());
  return r.diags.format("p.hcl");
}

bool contains(const std::string& all, const std::string& part) {
  return all.find(part) != std::string::npos;
}

pipeline::load_options small_budget() {
  pipeline::load_options o;
  o.limits.eval.max_value_bytes = 1024 * 1024;
  return o;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_SUITE("config.limits") {
  TEST_CASE("nested for expressions stop at the memory budget with the expression's position") {
    const std::string src = R"(
variable "grid" {
  type    = string
  default = jsonencode([for a in range(1000) : [for b in range(1000) : [for c in range(1000) : c]]])
}
)";
    const auto start = std::chrono::steady_clock::now();
    auto all = errors(src, small_budget());
    INFO(all);
    CHECK(contains(all, "p.hcl:4:"));
    CHECK(contains(all, "Evaluation memory budget exceeded: Evaluating this pipeline produced "
                        "more than 1 MiB of values"));
    CHECK(std::count(all.begin(), all.end(), '\n') == 1);  // that alone, no consequences
    CHECK(std::chrono::steady_clock::now() - start < 2s);
  }

  TEST_CASE("the default memory budget bounds a standalone evaluation too") {
    hcl::diagnostics diags;
    auto e = hcl::parse_expression(
        "[for a in range(1024) : [for b in range(1024) : [for c in range(1024) : \"${a}${b}${c}\"]]]",
        diags);
    REQUIRE_FALSE(diags.has_errors());
    hcl::eval_context ctx;
    auto v = hcl::evaluate(*e, ctx, diags);
    CHECK_FALSE(v.has_value());
    CHECK(contains(diags.format("e"), "more than 256 MiB of values"));
  }

  TEST_CASE("the time budget stops an evaluation that produces little but runs long") {
    pipeline::load_options o;
    o.limits.eval.max_time = 300ms;
    o.limits.eval.max_value_bytes = std::size_t(1) << 40;
    const std::string src = R"(
variable "n" {
  type    = number
  default = length([for a in range(1000) : [for b in range(1000) : [for c in range(1000) : c if c < 0]]])
}
)";
    const auto start = std::chrono::steady_clock::now();
    auto all = errors(src, o);
    INFO(all);
    CHECK(contains(all, "p.hcl:4:"));
    CHECK(contains(all, "Evaluation time budget exceeded: Evaluating this pipeline took longer "
                        "than 300 ms"));
    CHECK(std::chrono::steady_clock::now() - start < 3s);
  }

  TEST_CASE("string functions cannot grow past the budget in one call") {
    auto all = errors(R"(
variable "s" {
  type    = string
  default = replace(join("", [for i in range(1000) : "aaaaaaaaaa"]), "", join("", [for i in range(200) : "b"]))
}
)",
                      small_budget());
    INFO(all);
    CHECK(contains(all, "p.hcl:4:13: Error in function call: Call to function \"replace\" failed: "
                        "the result would exceed the evaluation memory budget of 1 MiB."));
    all = errors(R"(
variable "s" {
  type    = string
  default = format(join("", [for i in range(500) : "%9999[1]d"]), 1)
}
)",
                 small_budget());
    CHECK(contains(all, "the result would exceed the evaluation memory budget of 1 MiB"));
  }

  TEST_CASE("values may not nest deeper than the limit") {
    pipeline::load_options o;
    o.limits.eval.max_value_depth = 10;
    auto all = errors("\nvariable \"v\" {\n  type = string\n  default = jsonencode(" +
                          repeat("[", 12) + "1" + repeat("]", 12) + ")\n}\n",
                      o);
    INFO(all);
    CHECK(contains(all, "Value nested too deeply: This value nests more than 10 levels"));
  }

  TEST_CASE("a for_each or matrix may give at most max_for_each instances") {
    auto all = errors(R"(
job "j" {
  for_each = toset([for i in range(1001) : "k${i}"])
}
)");
    INFO(all);
    CHECK(contains(all, "p.hcl:3:14: Too many job instances: A job's for_each or matrix may give "
                        "at most 1000 instances; this one gives 1001."));
    all = errors(R"(
job "m" {
  matrix {
    a = range(11)
    b = range(11)
    c = range(11)
  }
}
)");
    CHECK(contains(all, "p.hcl:3:3: Too many job instances: A job's for_each or matrix may give "
                        "at most 1000 instances; this one gives more than 1000."));
  }

  TEST_CASE("a pipeline may have at most max_jobs jobs, instances included") {
    auto all = errors(R"(
job "a" {
  for_each = toset([for i in range(600) : "k${i}"])
}
job "b" {
  for_each = toset([for i in range(600) : "k${i}"])
}
)");
    INFO(all);
    CHECK(contains(all, "p.hcl:5:5: Too many jobs: A pipeline may have at most 1000 jobs "
                        "(for_each and matrix instances included)."));
  }

  TEST_CASE("resources, resource types and steps per job are counted") {
    pipeline::load_options o;
    o.limits.max_resources = 2;
    o.limits.max_resource_types = 1;
    o.limits.max_steps_per_job = 3;
    auto all = errors(R"(
resource_type "a" {}
resource_type "b" {}
resource "cron" "x" {}
resource "cron" "y" {}
resource "cron" "z" {}
job "j" {
  task "1" {}
  in_parallel {
    task "2" {}
    task "3" {}
  }
}
)",
                      o);
    INFO(all);
    CHECK(contains(all, "p.hcl:3:1: Too many resource types: A pipeline may have at most 1 "
                        "resource types."));
    CHECK(contains(all, "p.hcl:6:1: Too many resources: A pipeline may have at most 2 resources."));
    CHECK(contains(all, "p.hcl:7:5: Too many steps: A job may have at most 3 steps (nested ones "
                        "included); this one has 4."));
  }

  TEST_CASE("conditions bound their nesting of parentheses") {
    std::string error;
    auto deep = pipeline::condition::parse(
        repeat("(", 100000) + "a == b" + repeat(")", 100000), error);
    CHECK_FALSE(deep.has_value());
    CHECK(contains(error, "nested deeper than 64"));
    error.clear();
    auto fine = pipeline::condition::parse(repeat("(", 60) + "a == b" + repeat(")", 60), error);
    CHECK(fine.has_value());
    CHECK(error.empty());
  }
}

TEST_SUITE("config.names") {
  TEST_CASE(
      "one name rule: 1 to 100 characters, no controls, '/', '\\', '%', leading dot or edge "
      "spaces") {
    for (const char* good : {"web", "My_Pipeline-1.2", "a", "x.y", "My Pipeline", "caf\xC3\xA9",
                             "\xE6\x97\xA5\xE6\x9C\xAC", "a:b (c) #1?"})
      CHECK_MESSAGE(pipeline::is_valid_name(good), good);
    CHECK(pipeline::is_valid_name(std::string(100, 'a')));
    std::string hundred_e_acute;
    for (int i = 0; i < 100; ++i) hundred_e_acute += "\xC3\xA9";
    CHECK(pipeline::is_valid_name(hundred_e_acute));
    CHECK_FALSE(pipeline::is_valid_name(hundred_e_acute + "e"));
    for (const char* bad : {"", ".", "..", ".hidden", "a/b", "a\\b", "a\nb", "a\tb", "a%2F", " a",
                            "a ", "caf\xC3", "\xC2\x85",
                            "a\xE2\x80\xA8"
                            "b",
                            "\x7F"})
      CHECK_FALSE_MESSAGE(pipeline::is_valid_name(bad), bad);
    CHECK_FALSE(pipeline::is_valid_name(std::string(101, 'a')));
    CHECK_FALSE(pipeline::is_valid_name(std::string(10240, 'a')));
  }

  TEST_CASE("percent_decode decodes every escape and refuses broken ones") {
    CHECK(pipeline::percent_decode("My%20Pipeline") == "My Pipeline");
    CHECK(pipeline::percent_decode("caf%C3%a9+x") == "caf\xC3\xA9+x");
    CHECK(pipeline::percent_decode("a%2Fb") == "a/b");
    CHECK_FALSE(pipeline::percent_decode("a%2").has_value());
    CHECK_FALSE(pipeline::percent_decode("a%zz").has_value());
  }

  TEST_CASE(
      "resource type names: slugs of at most 100 characters; job names follow the name rule") {
    CHECK(pipeline::is_valid_block_name("deploy-prod_2"));
    CHECK_FALSE(pipeline::is_valid_block_name(".."));
    CHECK_FALSE(pipeline::is_valid_block_name("Build"));
    CHECK_FALSE(pipeline::is_valid_block_name(std::string(101, 'a')));
    auto all = errors("\njob \"" + std::string(10240, 'j') + "\" {}\nresource_type \"../x\" {}\n");
    INFO(all);
    CHECK(contains(all, "p.hcl:2:5: Invalid job name:"));
    CHECK(contains(all, "p.hcl:3:15: Invalid resource type name: \"../x\" is not a valid resource "
                        "type name: use 1 to 100 characters of a-z, 0-9, '-' and '_', not "
                        "starting or ending with '-' or '_'."));
    all = errors("\njob \"j\" {\n  for_each = toset([\"" + std::string(120, 'k') + "\"])\n}\n");
    CHECK(contains(all, "p.hcl:3:14: Invalid job name: The key"));
    CHECK(contains(all, "longer than 100 characters."));
  }
}
