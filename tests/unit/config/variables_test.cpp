// Variables (reference §1.2, §1.10): precedence, types, secret placeholders and their chaining.

#include <doctest/doctest.h>

#include "config/pipeline/load.hpp"

using namespace pikoci::pipeline;
using pikoci::hcl::value;

namespace {

load_result run(const std::string& src, const load_options& opts = {}) {
  return load("p.hcl", src, opts);
}

value var_of(const load_result& r, const std::string& name) {
  INFO(r.diags.format("p.hcl"));
  REQUIRE(r.config.has_value());
  return r.config->vars.attrs().at(name);
}

bool has(const load_result& r, const std::string& line) {
  return r.diags.format("p.hcl").find(line + "\n") != std::string::npos;
}

const char* const typed = R"(
variable "name" {
  type    = string
  default = "dflt"
}
variable "count" {
  type    = number
  default = 3
}
variable "on" {
  type    = bool
  default = false
}
)";

}  // namespace

TEST_SUITE("config.pipeline") {
  TEST_CASE("defaults apply when nothing overrides them") {
    auto r = run(typed);
    CHECK(var_of(r, "name") == value::string("dflt"));
    CHECK(var_of(r, "count") == value::number(3));
    CHECK(var_of(r, "on") == value::boolean(false));
    CHECK(r.config->variables[0].source == variable_source::default_value);
  }

  TEST_CASE("the vars JSON overrides defaults with values of the declared type") {
    load_options o;
    o.vars = {{"name", "json"}, {"count", 7}, {"on", true}, {"undeclared", 1}};
    auto r = run(typed, o);
    CHECK(var_of(r, "name") == value::string("json"));
    CHECK(var_of(r, "count") == value::number(7));
    CHECK(var_of(r, "on") == value::boolean(true));
    CHECK(r.config->variables[0].source == variable_source::override_json);
  }

  TEST_CASE("--var strings win over the vars JSON and convert to the declared type") {
    load_options o;
    o.vars = {{"name", "json"}, {"count", 7}};
    o.var_strings = {{"name", "flag"}, {"count", "9"}, {"on", "true"}};
    auto r = run(typed, o);
    CHECK(var_of(r, "name") == value::string("flag"));
    CHECK(var_of(r, "count") == value::number(9));
    CHECK(var_of(r, "on") == value::boolean(true));
    CHECK(r.config->variables[0].source == variable_source::override_string);
  }

  TEST_CASE("a vars JSON value of the wrong type is an error at the variable name") {
    load_options o;
    o.vars = {{"name", 5}, {"on", "yes"}};
    auto r = run(typed, o);
    CHECK_FALSE(r.config.has_value());
    CHECK(has(r,
              "p.hcl:2:10: Invalid variable value: variable \"name\" configured with "
              "invalid type, expected 'string'"));
    CHECK(has(r,
              "p.hcl:10:10: Invalid variable value: variable \"on\" configured with invalid "
              "type, expected 'bool'"));
  }

  TEST_CASE("a --var that does not convert to the declared type is an error") {
    load_options o;
    o.var_strings = {{"count", "many"}};
    auto r = run(typed, o);
    CHECK(has(r,
              "p.hcl:6:10: Invalid variable value: variable \"count\" configured with "
              "invalid type, expected 'number'"));
  }

  TEST_CASE("a default that does not convert to the declared type is an error at the default") {
    auto r = run("\nvariable \"n\" {\n  type    = number\n  default = \"lots\"\n}\n");
    CHECK(has(r,
              "p.hcl:4:13: Invalid variable value: variable \"n\" configured with invalid "
              "type, expected 'number'"));
  }

  TEST_CASE("a variable without any value is an error") {
    auto r = run("\nvariable \"token\" {\n  type = string\n}\n");
    CHECK(has(r,
              "p.hcl:2:10: Missing variable value: variable \"token\" has no value: give it "
              "with --var/--vars, a secret block or a default"));
  }

  TEST_CASE("the type must be one of the bare keywords string, number or bool") {
    auto r = run("\nvariable \"v\" {\n  type = list\n  default = 1\n}\n");
    CHECK(has(r,
              "p.hcl:3:10: Invalid variable type: The type must be one of string, number or "
              "bool."));
  }

  TEST_CASE("a duplicate variable is an error") {
    auto r =
        run("\nvariable \"v\" {\n  type = string\n  default = \"a\"\n}\n"
            "variable \"v\" {\n  type = string\n  default = \"b\"\n}\n");
    CHECK(has(r,
              "p.hcl:6:10: Duplicate variable: A variable named \"v\" was already declared "
              "at 2:10."));
  }

  TEST_CASE("a secret block beats the default and becomes a placeholder") {
    auto r = run(R"(
variable "pw" {
  type    = string
  default = "unused"
  secret "vault" {
    path = "secret/app"
    key  = "password"
  }
}
)");
    CHECK(var_of(r, "pw") == value::string("__pikoci_secret:vault:secret/app:password__"));
    const auto& v = r.config->variables[0];
    CHECK(v.source == variable_source::secret);
    REQUIRE(v.secret);
    CHECK(v.secret->type == "vault");
    CHECK(v.secret->path == "secret/app");
    CHECK(v.secret->key == "password");
  }

  TEST_CASE("an override beats the secret block") {
    load_options o;
    o.var_strings = {{"pw", "local"}};
    auto r =
        run("\nvariable \"pw\" {\n  type = string\n  secret \"pikoci\" {\n    key = \"PW\"\n"
            "  }\n}\n",
            o);
    CHECK(var_of(r, "pw") == value::string("local"));
  }

  TEST_CASE("secret paths may reference variables declared later, in dependency order") {
    auto r = run(R"(
variable "password" {
  type = string
  secret "vault" {
    path = "secret/${var.env}/${var.app}"
    key  = var.field
  }
}
variable "env" {
  type    = string
  default = "prod"
}
variable "app" {
  type = string
  secret "pikoci" {
    key = "APP_${var.env}"
  }
}
variable "field" {
  type    = string
  default = "pw"
}
)");
    CHECK(var_of(r, "app") == value::string("__pikoci_secret:pikoci::APP_prod__"));
    CHECK(var_of(r, "password") ==
          value::string("__pikoci_secret:vault:secret/prod/__pikoci_secret:pikoci::APP_prod__"
                        ":pw__"));
  }

  TEST_CASE("a cycle between secret-backed variables is an error") {
    auto r = run(R"(
variable "a" {
  type = string
  secret "vault" {
    key = var.b
  }
}
variable "b" {
  type = string
  secret "vault" {
    key = var.a
  }
}
)");
    CHECK_FALSE(r.config.has_value());
    CHECK(has(r,
              "p.hcl:2:10: Variable dependency cycle: variable \"a\" depends on itself: "
              "a -> b -> a"));
  }

  TEST_CASE("secret references deeper than 10 are an error") {
    std::string src;
    for (int i = 0; i <= 11; ++i) {
      src += "variable \"v" + std::to_string(i) + "\" {\n  type = string\n";
      if (i < 11)
        src += "  secret \"vault\" {\n    key = var.v" + std::to_string(i + 1) + "\n  }\n";
      else
        src += "  default = \"end\"\n";
      src += "}\n";
    }
    auto r = run(src);
    CHECK_FALSE(r.config.has_value());
    CHECK(r.diags.format("p.hcl").find("Variable dependencies too deep: variable \"v11\" is "
                                       "more than 10 secret references deep") != std::string::npos);
  }

  TEST_CASE("a chain of exactly 10 secret references resolves") {
    std::string src;
    for (int i = 0; i <= 10; ++i) {
      src += "variable \"v" + std::to_string(i) + "\" {\n  type = string\n";
      if (i < 10)
        src += "  secret \"vault\" {\n    key = var.v" + std::to_string(i + 1) + "\n  }\n";
      else
        src += "  default = \"end\"\n";
      src += "}\n";
    }
    auto r = run(src);
    INFO(r.diags.format("p.hcl"));
    CHECK(r.config.has_value());
  }

  TEST_CASE("variables are visible as var.<name> in every block") {
    load_options o;
    o.var_strings = {{"img", "alpine:3"}};
    auto r = run(R"(
variable "img" {
  type = string
}
variable "n" {
  type    = number
  default = 2
}
job "j" {
  concurrency = var.n
  task "t" {
    run "docker" {
      image = var.img
      cmd   = "echo ${var.img} ${var.n}"
    }
  }
}
)",
                 o);
    INFO(r.diags.format("p.hcl"));
    REQUIRE(r.config.has_value());
    const auto& j = r.config->jobs[0];
    CHECK(j.concurrency == 2);
    CHECK(j.plan[0].run->params.at("image") == "alpine:3");
    CHECK(j.plan[0].run->params.at("cmd") == "echo alpine:3 2");
  }
}
