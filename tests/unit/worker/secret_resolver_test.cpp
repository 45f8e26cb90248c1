// Secret placeholders resolved on the worker (reference §1.10): one fetch per (type, path),
// errors naming the variable and the type, nested config, the store, masking of what resolved.
#include <doctest/doctest.h>

#include <fstream>

#include "actors/worker/secret_resolver.hpp"
#include "tests/unit/worker/executor_fixture.hpp"

using namespace pikoci;
using namespace pikoci::worker::testing;

namespace {

work::secret_plan plan_of() {
  work::secret_plan p;
  p.pipeline = "p";
  p.variables = {{"db_user", "cmd", "db", "user"},    {"db_pass", "cmd", "db", "password"},
                 {"missing", "cmd", "db", "nope"},    {"token", "cmd", "tokens", "vault"},
                 {"stored", "pikoci", "", "API_KEY"}, {"nested", "indirect", "x", "value"}};
  work::command_spec get;
  get.params["param_path"] = "";
  p.types.push_back({"cmd", false, get});
  p.types.push_back({"pikoci", true, std::nullopt});
  work::command_spec indirect;
  // the type's config names another secret-backed variable
  indirect.params["param_token"] = "__pikoci_secret:cmd:tokens:vault__";
  p.types.push_back({"indirect", false, indirect});
  return p;
}

struct calls {
  std::vector<std::string> paths;
  std::vector<std::string> tokens;
};

worker::secret_resolver resolver_of(calls& c) {
  return worker::secret_resolver(
      plan_of(),
      [&c](const work::command_spec& cmd) {
        auto path = cmd.params.at("param_path");
        c.paths.push_back(path);
        if (auto t = cmd.params.find("param_token"); t != cmd.params.end())
          c.tokens.push_back(t->second);
        worker::secret_answer a;
        if (path == "db") a.value = "log line\n{\"user\":\"admin\",\"password\":\"s3cr3t-pw\"}\n";
        if (path == "tokens") a.value = "{\"vault\":\"tok-123\"}";
        if (path == "x") a.value = "{\"value\":\"deep-value\"}";
        return a;
      },
      [](const std::string& pipeline, const std::string& name) {
        worker::secret_answer a;
        if (pipeline == "p" && name == "API_KEY")
          a.value = "store-value";
        else
          a.error = "not set";
        return a;
      });
}

}  // namespace

TEST_SUITE("worker.secret_resolver") {
  TEST_CASE("placeholders in params, args and layers; one fetch per (type, path)") {
    calls c;
    auto r = resolver_of(c);
    work::command_spec cmd = shell("echo");
    cmd.params["u"] = "__pikoci_secret:cmd:db:user__";
    cmd.args = {"--pass=__pikoci_secret:cmd:db:password__", "plain"};
    REQUIRE(r.resolve(cmd) == "");
    CHECK(cmd.params["u"] == "admin");
    CHECK(cmd.args == std::vector<std::string>{"--pass=s3cr3t-pw", "plain"});
    work::env_map layer{{"A", "x __pikoci_secret:cmd:db:password__ y"}, {"B", "__pikoci_secret:"}};
    REQUIRE(r.resolve(layer) == "");
    CHECK(layer["A"] == "x s3cr3t-pw y");
    CHECK(layer["B"] == "__pikoci_secret:");  // not one of the plan's: left as it is
    CHECK(c.paths == std::vector<std::string>{"db"});
    CHECK(r.masker()->mask("admin s3cr3t-pw") == "*** ***");
  }

  TEST_CASE("a missing key names the variable and the type, never a value") {
    calls c;
    auto r = resolver_of(c);
    std::string text = "__pikoci_secret:cmd:db:nope__";
    auto e = r.resolve(text);
    CHECK(e ==
          "secret variable \"missing\" (secret type \"cmd\"): key \"nope\" not found in "
          "response");
    CHECK(e.find("s3cr3t") == std::string::npos);
  }

  TEST_CASE("the store: by name for the build's pipeline; its failure is the step's") {
    calls c;
    auto r = resolver_of(c);
    std::string text = "k=__pikoci_secret:pikoci::API_KEY__";
    REQUIRE(r.resolve(text) == "");
    CHECK(text == "k=store-value");
    CHECK(c.paths.empty());
  }

  TEST_CASE("a type's config may use another secret; the fetch fails when it fails") {
    calls c;
    auto r = resolver_of(c);
    std::string text = "__pikoci_secret:indirect:x:value__";
    REQUIRE(r.resolve(text) == "");
    CHECK(text == "deep-value");
    CHECK(c.tokens == std::vector<std::string>{"tok-123"});
    CHECK(r.masker()->mask("tok-123 deep-value") == "*** ***");
  }

  TEST_CASE("a failing get command or a bad answer, and a type that refers to itself") {
    work::secret_plan p;
    p.variables = {{"a", "t", "fail", "k"}, {"b", "t", "junk", "k"}, {"loop", "self", "s", "k"}};
    p.types.push_back({"t", false, work::command_spec{}});
    work::command_spec self;
    self.params["param_x"] = "__pikoci_secret:self:s:k__";
    p.types.push_back({"self", false, self});
    worker::secret_resolver r(
        p,
        [](const work::command_spec& cmd) {
          worker::secret_answer a;
          if (cmd.params.at("param_path") == "fail")
            a.error = "exit status 3";
          else
            a.value = "not json";
          return a;
        },
        nullptr);
    std::string a = "__pikoci_secret:t:fail:k__", b = "__pikoci_secret:t:junk:k__",
                loop = "__pikoci_secret:self:s:k__";
    CHECK(r.resolve(a) ==
          "secret variable \"a\" (secret type \"t\"): get command failed: exit "
          "status 3");
    CHECK(r.resolve(b).find("the last output line is not a JSON object") != std::string::npos);
    CHECK(r.resolve(loop).find("levels deep") != std::string::npos);
  }

  TEST_CASE("executor: a resolved value is *** in logs (split chunks too), exports and reason") {
    fixture f;
    work::build_plan plan;
    plan.build_id = 1;
    plan.secrets.pipeline = "p";
    plan.secrets.variables = {{"pw", "file", f.opts.work_root.string() + "/s.json", "pw"}};
    std::filesystem::create_directories(f.opts.work_root);
    {
      std::ofstream out(f.opts.work_root / "s.json");
      out << "{\"pw\":\"hunter2-secret\"}";
    }
    work::command_spec get = shell("cat \"$param_path\"");
    plan.secrets.types.push_back({"file", false, get});
    std::string ph = "__pikoci_secret:file:" + f.opts.work_root.string() + "/s.json:pw__";
    // the value printed in two writes, with a pause between: two output chunks
    auto t = task("t",
                  "printf 'pw=hunter2'; sleep 0.3; printf -- '-secret\\n'; "
                  "echo \"again=$PW\"; echo \"x=$PW\" > \"$PIKOCI_OUTPUT\"");
    t.command->params["PW"] = ph;
    plan.steps.push_back(t);
    recorder rec;
    worker::build_cancel cancel;
    auto result = worker::execute_build(plan, f.opts, rec, cancel);
    CHECK(rec.logs["t"].find("hunter2") == std::string::npos);
    CHECK(rec.logs["t"].find("pw=***\nagain=***") != std::string::npos);
    CHECK(result.st == work::status::succeeded);
    for (const auto& [k, v] : rec.results["t"].exports)
      CHECK(v.find("hunter2") == std::string::npos);
  }

  TEST_CASE("executor: put versions and check results are masked too") {
    fixture f;
    work::secret_plan secrets;
    secrets.variables = {{"tok", "inline", "x", "tok"}};
    secrets.types.push_back({"inline", false, shell("echo '{\"tok\":\"put-Secret-1\"}'")});
    work::build_plan plan;
    plan.build_id = 3;
    plan.secrets = secrets;
    auto put = task("out", "echo \"pushing $T\"; echo \"[{\\\"ref\\\":\\\"$T\\\"}]\"");
    put.kind = work::step_kind::put;
    put.command->params["T"] = "__pikoci_secret:inline:x:tok__";
    plan.steps.push_back(put);
    recorder rec;
    worker::build_cancel cancel;
    auto result = worker::execute_build(plan, f.opts, rec, cancel);
    CHECK(result.st == work::status::succeeded);
    CHECK(rec.logs["out"].find("put-Secret-1") == std::string::npos);
    REQUIRE(rec.results["out"].versions.size() == 1);
    CHECK(rec.results["out"].versions[0] == nlohmann::json{{"ref", "***"}});

    auto check_cmd = shell("echo \"checking $T\"; echo \"[{\\\"ref\\\":\\\"$T\\\"}]\"");
    check_cmd.params["T"] = "__pikoci_secret:inline:x:tok__";
    auto checked = worker::execute_check(check_cmd, secrets, f.opts, 10s);
    CHECK(!checked.error);
    CHECK(checked.log.find("put-Secret-1") == std::string::npos);
    CHECK(checked.log.find("checking ***") != std::string::npos);
    REQUIRE(checked.versions.size() == 1);
    CHECK(checked.versions[0] == nlohmann::json{{"ref", "***"}});
  }

  TEST_CASE("executor: an unresolvable secret fails the step, naming variable and type") {
    fixture f;
    work::build_plan plan;
    plan.build_id = 2;
    plan.secrets.variables = {{"token", "pikoci", "", "NOPE"}};
    plan.secrets.types.push_back({"pikoci", true, std::nullopt});
    auto t = task("t", "echo \"$T\"");
    t.command->params["T"] = "__pikoci_secret:pikoci::NOPE__";
    plan.steps.push_back(t);
    recorder rec;
    worker::build_cancel cancel;
    auto result = worker::execute_build(plan, f.opts, rec, cancel);
    CHECK(result.st != work::status::succeeded);
    CHECK(rec.logs["t"].find("secret variable \"token\" (secret type \"pikoci\")") !=
          std::string::npos);
  }
}
