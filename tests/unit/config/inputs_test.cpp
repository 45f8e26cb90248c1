// Typed trigger inputs: what a trigger may give, and the declared defaults at save time.

#include <doctest/doctest.h>

#include "config/pipeline/inputs.hpp"
#include "config/pipeline/load.hpp"

using namespace pikoci::pipeline;

namespace {

/// The job "j" of a pipeline declaring `inputs` (which must load).
job load_job(const std::string& inputs) {
  auto r = load("p.hcl",
                "job \"j\" {\n" + inputs +
                    "\n  task \"t\" {\n    run \"shell\" {\n"
                    "      cmd = \"true\"\n    }\n  }\n}\n",
                {});
  INFO(r.diags.format("p.hcl"));
  REQUIRE(r.config.has_value());
  return *r.config->find_job("j");
}

/// The error of the trigger, or "" and the checked values as `k=v,k=v`.
std::string trigger(const job& j, const std::map<std::string, std::string>& given) {
  auto r = trigger_values(j, given);
  if (auto* e = std::get_if<std::string>(&r)) return "error: " + *e;
  std::string out;
  for (const auto& [k, v] : std::get<0>(r)) out += (out.empty() ? "" : ";") + k + "=" + v;
  return out;
}

std::string errors(const std::string& inputs) {
  auto r = load("p.hcl",
                "job \"j\" {\n" + inputs +
                    "\n  task \"t\" {\n    run \"shell\" {\n"
                    "      cmd = \"true\"\n    }\n  }\n}\n",
                {});
  return r.diags.format("p.hcl");
}

}  // namespace

TEST_SUITE("config.pipeline") {
  TEST_CASE("trigger inputs: type, options, multiple, required and unknown names") {
    auto j = load_job(R"(
  input "env" {
    options = ["staging", "prod"]
  }
  input "dry_run" {
    type    = bool
    default = false
  }
  input "replicas" {
    type    = number
    default = 2
  }
  input "regions" {
    options  = ["eu", "us", "ap"]
    multiple = true
    default  = ["eu"]
  }
  input "note" {
    default = ""
  })");
    CHECK(trigger(j, {{"env", "prod"}}) == "env=prod");
    CHECK(trigger(j, {{"env", "nonsense"}}) ==
          "error: input \"env\": \"nonsense\" is not allowed; allowed: one of \"staging\", "
          "\"prod\"");
    CHECK(trigger(j, {{"env", "prod"}, {"dry_run", "maybe"}}) ==
          "error: input \"dry_run\": \"maybe\" is not allowed; allowed: true or false");
    CHECK(trigger(j, {{"env", "prod"}, {"dry_run", "True"}}).rfind("error:", 0) == 0);
    CHECK(trigger(j, {{"env", "prod"}, {"dry_run", "true"}}) == "dry_run=true;env=prod");
    CHECK(trigger(j, {{"env", "prod"}, {"replicas", "-1.5"}}) == "env=prod;replicas=-1.5");
    for (const char* bad : {"1e3", "abc", "", "1.", ".5", "0x10", "+3"})
      CHECK(trigger(j, {{"env", "prod"}, {"replicas", bad}}) ==
            "error: input \"replicas\": \"" + std::string(bad) +
                "\" is not allowed; allowed: a decimal number such as 3 or -1.5");
    CHECK(trigger(j, {{"env", "prod"}, {"regions", "eu, us"}}) == "env=prod;regions=eu,us");
    CHECK(trigger(j, {{"env", "prod"}, {"regions", "eu,mars"}}) ==
          "error: input \"regions\": \"mars\" is not allowed; allowed: one of \"eu\", \"us\", "
          "\"ap\" (several allowed, comma-separated)");
    CHECK(trigger(j, {{"env", "prod"}, {"regions", "eu,,us"}}).find("an empty item") !=
          std::string::npos);
    CHECK(trigger(j, {}) == "error: input \"env\" is required");
    CHECK(trigger(j, {{"env", "prod"}, {"x", "1"}}) == "error: job \"j\" has no input \"x\"");
    CHECK(trigger(j, {{"env", "prod"}, {"note", "any, text"}}) == "env=prod;note=any, text");
    CHECK(default_text(j.inputs[3]) == "eu");
    CHECK(default_text(j.inputs[2]) == "2");
    CHECK(default_text(j.inputs[1]) == "false");
  }

  TEST_CASE("trigger inputs: a default the declaration does not allow is a save-time error") {
    CHECK(errors(R"(  input "env" {
    options = ["staging", "prod"]
    default = "dev"
  })") == "p.hcl:4:15: Invalid input default: input \"env\": \"dev\" is not allowed; allowed: "
          "one of \"staging\", \"prod\"\n");
    CHECK(errors(R"(  input "dry" {
    type    = bool
    default = "yes"
  })") == "p.hcl:4:15: Invalid input default: input \"dry\": \"yes\" is not allowed; allowed: "
          "true or false\n");
    CHECK(errors(R"(  input "n" {
    type    = number
    default = "three"
  })")
              .find("p.hcl:4:15: Invalid input default") != std::string::npos);
    CHECK(errors(R"(  input "list" {
    default = ["a", "b"]
  })") == "p.hcl:3:15: Invalid input default: input \"list\": the default must be a single "
          "value\n");
    CHECK(errors(R"(  input "regions" {
    options  = ["eu", "us"]
    multiple = true
    default  = ["eu", "ap"]
  })")
              .find("\"ap\" is not allowed") != std::string::npos);
  }
}
