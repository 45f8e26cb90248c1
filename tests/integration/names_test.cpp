// Names with spaces and letters outside ASCII (docs/api.md#names): decoded once at the HTTP
// edge, validated by one rule, and the same through the API and the client; paths that are not
// percent-encoded UTF-8, and names the rule refuses, are 400 with a message that says why.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

const std::string pipeline_name = "Mon pipeline caf\xC3\xA9";             // "Mon pipeline café"
const std::string pipeline_path = "Mon%20pipeline%20caf%C3%A9";           // its path segment
const std::string job_name = "d\xC3\xA9ployer \xE6\x97\xA5\xE6\x9C\xAC";  // "déployer 日本"
const std::string resource_name = "mon minuteur";

const std::string pipeline_hcl = "resource \"cron\" \"" + resource_name + R"(" {
  check_interval = "@every 1h"
}

job ")" + job_name + R"(" {
  task "say" {
    run "shell" {
      cmd = "echo hello-from-$BUILD_JOB_NAME"
    }
  }
}
)";

bool has(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// `pikoci-node client --url ... --token ...` + args.
command_result client(runtime_node& node, std::vector<std::string> args) {
  std::vector<std::string> argv{node_binary(),       "client",  "--url",
                                node.server().url(), "--token", node.token()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 30s);
}

json json_of(const command_result& r) {
  return json::parse(r.output, nullptr, false);
}

/// A 400 whose message contains `words`.
void check_refused(const http_response& r, const std::string& words) {
  CHECK_MESSAGE(r.status == 400, r.status, " ", r.body);
  CHECK_MESSAGE(has(r.json()["error"].value("message", ""), words), r.body);
}

}  // namespace

TEST_SUITE("integration.names") {
  TEST_CASE("names with spaces and non-ASCII letters round-trip through the client") {
    runtime_node node;
    temp_dir dir;
    dir.write("p.hcl", pipeline_hcl);

    auto set = client(node, {"pipelines", "set", pipeline_name, dir.file("p.hcl")});
    REQUIRE_MESSAGE(set.exit_code == 0, set.output, node.tail());
    CHECK_MESSAGE(has(set.output, pipeline_name), set.output);

    auto listed = client(node, {"pipelines", "list"});
    CHECK(listed.exit_code == 0);
    CHECK_MESSAGE(has(listed.output, pipeline_name), listed.output);
    CHECK_FALSE(has(listed.output, "%"));

    auto got = json_of(client(node, {"--json", "pipelines", "get", pipeline_name}));
    CHECK(got["pipeline"]["name"] == pipeline_name);
    CHECK(got["pipeline"]["jobs"].dump().find(json(job_name).dump()) != std::string::npos);

    auto triggered = client(node, {"jobs", "trigger", pipeline_name, job_name});
    REQUIRE_MESSAGE(triggered.exit_code == 0, triggered.output, node.tail());
    auto logs = client(node, {"builds", "logs", pipeline_name, job_name, "1", "--follow"});
    CHECK_MESSAGE(logs.exit_code == 0, logs.output);
    CHECK_MESSAGE(has(logs.output, "hello-from-" + job_name), logs.output);

    auto build = json_of(client(node, {"--json", "builds", "get", pipeline_name, job_name, "1"}));
    CHECK(build["build"]["pipeline"] == pipeline_name);
    CHECK(build["build"]["job"] == job_name);
    CHECK(build["build"]["status"] == "succeeded");
    auto builds = json_of(client(node, {"--json", "builds", "list", pipeline_name, job_name}));
    REQUIRE(builds["builds"].size() == 1);
    CHECK(builds["builds"][0]["pipeline"] == pipeline_name);
    auto all = json_of(client(node, {"--json", "builds", "list", pipeline_name}));
    CHECK(all["builds"].size() == 1);

    auto check = client(node, {"resources", "check", pipeline_name, "cron." + resource_name});
    CHECK_MESSAGE(check.exit_code == 0, check.output);
    auto paused = client(node, {"jobs", "pause", pipeline_name, job_name});
    CHECK_MESSAGE(paused.exit_code == 0, paused.output);
    CHECK(node.job(pipeline_path, "d%C3%A9ployer%20%E6%97%A5%E6%9C%AC")["paused"] == true);
  }

  TEST_CASE("the API decodes names in paths once and stores them decoded") {
    runtime_node node;
    CHECK(node.put("/pipelines/caf%C3%A9", config_body("job \"a b\" {}\n")).status == 201);
    auto list = node.get("/pipelines").json()["pipelines"];
    REQUIRE(list.size() == 1);
    CHECK(list[0]["name"] == "caf\xC3\xA9");
    CHECK(node.get("/pipelines/caf%C3%A9").json()["pipeline"]["name"] == "caf\xC3\xA9");
    CHECK(node.get("/pipelines/caf%C3%A9/jobs/a%20b").status == 200);
    CHECK(node.post("/pipelines/caf%C3%A9/jobs/a%20b/trigger").status == 201);
    CHECK(node.get("/builds").json()["builds"][0]["pipeline"] == "caf\xC3\xA9");
    // the same name twice is one pipeline, however it was encoded
    CHECK(node.put("/pipelines/caf%c3%a9", config_body("job \"a b\" {}\n")).status == 200);
    CHECK(node.get("/pipelines").json()["pipelines"].size() == 1);
  }

  TEST_CASE("bad encodings and names the rule refuses are 400 with the reason") {
    runtime_node node;
    auto body = config_body("job \"a\" {}\n");
    check_refused(node.put("/pipelines/a%ZZ", body), "not followed by two hexadecimal digits");
    check_refused(node.put("/pipelines/caf%C3", body), "not UTF-8 once percent-decoded");
    check_refused(node.get("/pipelines/%FF"), "not UTF-8 once percent-decoded");
    for (const char* bad : {"a%2Fb", "a%5Cb", "a%0Ab", "%20lead", "trail%20", ".hidden",
                            "My%2520Pipeline", "a%C2%85b"})
      check_refused(node.put(std::string("/pipelines/") + bad, body), "invalid pipeline name");
    check_refused(node.put("/pipelines/" + std::string(101, 'x'), body), "1 to 100 characters");
    auto job = node.put("/pipelines/ok", config_body("job \"a/b\" {}\n"));
    CHECK(job.status == 422);
    CHECK_MESSAGE(has(job.body, "Invalid job name"), job.body);
    CHECK(node.get("/pipelines").json()["pipelines"].empty());
  }
}
