// `pikoci-node validate` as a user runs it.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "tests/support/http_receiver.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;

namespace {
std::string write_temp(const std::string& name, const std::string& content) {
  std::string path = "/tmp/pikoci-validate-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path) << content;
  return path;
}
}  // namespace

TEST_SUITE("integration.validate") {
  TEST_CASE(
      "a production-shaped pipeline (git PRs, github-check, built-in services, secrets) "
      "validates") {
    auto path = source_path("tests/fixtures/production-pipeline.hcl");
    auto r = run_command({node_binary(), "validate", path});
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output == "Valid.\n");
  }

  TEST_CASE("http(s) sources are fetched by validate; --offline notes each one instead") {
    http_receiver defs;
    defs.answer_with([](const received_request& r) -> std::pair<int, std::string> {
      if (r.path == "/runner.hcl") return {200, "run {\n  path = \"sh\"\n}\n"};
      if (r.path == "/broken.hcl") return {200, "run {\n"};
      if (r.path == "/huge.hcl") return {200, std::string(1024 * 1024 + 1, '#')};
      if (r.path == "/slow.hcl") {
        std::this_thread::sleep_for(std::chrono::seconds(11));  // past the 10 s limit
        return {200, "run {\n  path = \"sh\"\n}\n"};
      }
      return {404, "no"};
    });
    auto pipeline = [&](const std::string& file) {
      return "runner_type \"sh2\" {\n  source = \"" + defs.url("/" + file) +
             "\"\n}\njob \"j\" {\n  task \"t\" {\n    run \"sh2\" {}\n  }\n}\n";
    };
    std::string good = write_temp("src-good.hcl", pipeline("runner.hcl"));
    auto r = run_command({node_binary(), "validate", good});
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output == "Valid.\n");
    CHECK(defs.requests().size() == 1);

    std::string missing = write_temp("src-missing.hcl", pipeline("missing.hcl"));
    r = run_command({node_binary(), "validate", missing});
    CHECK(r.exit_code == 1);
    CHECK(r.output == missing + ":2:12: Cannot fetch source: runner_type \"sh2\": fetching \"" +
                          defs.url("/missing.hcl") + "\" failed: HTTP status 404\n");

    std::string broken = write_temp("src-broken.hcl", pipeline("broken.hcl"));
    r = run_command({node_binary(), "validate", broken});
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(broken +
                        ":2:12: Invalid source: runner_type \"sh2\": the definition "
                        "fetched from \"" +
                        defs.url("/broken.hcl") + "\" is invalid: " + defs.url("/broken.hcl") +
                        ":") == 0);

    std::string huge = write_temp("src-huge.hcl", pipeline("huge.hcl"));
    r = run_command({node_binary(), "validate", huge});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(
        r.output.find(huge +
                      ":2:12: Cannot fetch source: runner_type \"sh2\": fetching "
                      "\"" +
                      defs.url("/huge.hcl") + "\" failed: response larger than 1048576 bytes") == 0,
        r.output);

    std::string slow = write_temp("src-slow.hcl", pipeline("slow.hcl"));
    auto started = std::chrono::steady_clock::now();
    r = run_command({node_binary(), "validate", slow});
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(11));
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(
        r.output.find(slow + ":2:12: Cannot fetch source: runner_type \"sh2\": fetching \"" +
                      defs.url("/slow.hcl") + "\" failed: ") == 0,
        r.output);
    CHECK_MESSAGE(r.output.find("imed out") != std::string::npos, r.output);

    auto before = defs.requests().size();
    r = run_command({node_binary(), "validate", "--offline", missing});
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(r.output == missing + ":2:12: note: runner_type \"sh2\": \"" + defs.url("/missing.hcl") +
                          "\" was not fetched (offline); its definition is not checked.\nValid.\n");
    CHECK(defs.requests().size() == before);
    for (const auto& f : {good, missing, broken, huge, slow}) std::remove(f.c_str());
  }

  TEST_CASE("every sample validates") {
    for (const char* s : {"samples/hello.hcl", "samples/fan-in.hcl", "samples/services.hcl"}) {
      auto r = run_command({node_binary(), "validate", source_path(s)});
      CHECK_MESSAGE(r.exit_code == 0, s, "\n", r.output);
      CHECK(r.output == "Valid.\n");
    }
  }

  TEST_CASE("errors print as FILE:LINE:COL: message, all of them, and exit 1") {
    std::string path = write_temp("bad.hcl",
                                  "job \"build\" {\n"
                                  "  tsk \"x\" {\n"
                                  "  }\n"
                                  "  get \"cron\" \"missing\" {\n"
                                  "    triggr = true\n"
                                  "  }\n"
                                  "}\n");
    auto r = run_command({node_binary(), "validate", path});
    std::remove(path.c_str());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(path + ":2:3: ") != std::string::npos);
    CHECK(r.output.find("Did you mean \"task\"?") != std::string::npos);
    CHECK(r.output.find("triggr") != std::string::npos);
    CHECK(r.output.find("missing") != std::string::npos);
  }

  TEST_CASE("syntax errors are reported with their position") {
    std::string path = write_temp("syntax.hcl", "job \"a\" {\n  x = [1 2]\n}\n");
    auto r = run_command({node_binary(), "validate", path});
    std::remove(path.c_str());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(path + ":2:10: ") != std::string::npos);
  }

  TEST_CASE("variables come from --var and --vars, with type checks") {
    std::string pipeline = write_temp("vars.hcl",
                                      "variable \"env\" {\n  type = string\n}\n"
                                      "variable \"replicas\" {\n  type = number\n}\n"
                                      "job \"deploy\" {\n  task \"t\" {\n"
                                      "    run \"exec\" {\n      path = \"echo\"\n"
                                      "      args = [var.env, \"${var.replicas}\"]\n"
                                      "    }\n  }\n}\n");
    std::string vars = write_temp("vars.json", R"({"env": "prod", "replicas": 3})");
    auto ok = run_command({node_binary(), "validate", pipeline, "--vars", vars});
    CHECK_MESSAGE(ok.exit_code == 0, ok.output);
    auto missing = run_command({node_binary(), "validate", pipeline, "--var", "env=prod"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.output.find("replicas") != std::string::npos);
    std::string wrong = write_temp("wrong.json", R"({"env": "prod", "replicas": "three"})");
    auto typed = run_command({node_binary(), "validate", pipeline, "--vars", wrong});
    CHECK(typed.exit_code == 1);
    for (const auto& p : {pipeline, vars, wrong}) std::remove(p.c_str());
  }

  TEST_CASE("usage errors exit 2") {
    CHECK(run_command({node_binary(), "validate"}).exit_code == 2);
    CHECK(run_command({node_binary(), "validate", "/nonexistent/file.hcl"}).exit_code == 2);
    std::string p = write_temp("ok.hcl", "job \"a\" {}\n");
    CHECK(run_command({node_binary(), "validate", p, "--var", "novalue"}).exit_code == 2);
    std::string bad_json = write_temp("bad.json", "{not json");
    CHECK(run_command({node_binary(), "validate", p, "--vars", bad_json}).exit_code == 2);
    std::remove(p.c_str());
    std::remove(bad_json.c_str());
  }
}
