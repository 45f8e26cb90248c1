// The REST API of the single-node runtime as a user drives it (issue #3; docs/api.md, SPEC §3;
// reference "Behaviours asserted by PikoCI's own integration tests" items 17, 20, 25, 26):
// pipeline CRUD and reconciliation, pause/unpause, build numbering, auth and roles, and the
// error statuses for bad input, after each of which the node still answers /health.
#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// Two jobs, a resource that has no version until the file `check` says so.
const char* const web_pipeline = R"(
resource_type "filever" {
  check "shell" {
    cmd = "cat @DIR@/check 2>/dev/null || echo '[]'"
  }
}

resource "filever" "src" {
  check_interval = "@every 1h"
}

job "build" {
  task "compile" {
    run "shell" {
      cmd = "echo compiling $BUILD_JOB_NAME $BUILD_NUMBER"
    }
  }
}

job "test" {
  get "filever" "src" {
  }
  task "unit" {
    run "shell" {
      cmd = "echo testing $GET_SRC_REF"
    }
  }
}
)";

std::string web(const temp_dir& dir) {
  return replace_all(web_pipeline, "@DIR@", dir.path());
}

/// A job with one task, named `name`.
std::string simple_job(const std::string& name) {
  return "job \"" + name + R"(" {
  task "say" {
    run "shell" {
      cmd = "echo hello from $BUILD_JOB_NAME"
    }
  }
}
)";
}

/// The error envelope with `status` and `code`, and the node still healthy afterwards.
void expect_error(runtime_node& node, const http_response& r, long status, const std::string& code,
                  const std::string& what) {
  CAPTURE(what);
  CHECK_MESSAGE(r.status == status, r.body);
  auto j = r.json();
  CHECK_MESSAGE(j.is_object(), r.body);
  if (j.is_object() && j["error"].is_object()) {
    CHECK(j["error"]["code"] == code);
    CHECK(j["error"]["message"].is_string());
  } else {
    FAIL_CHECK("no error envelope: " << r.body);
  }
  CHECK_MESSAGE(node.healthy(), node.tail());
}

std::string names(const json& items) {
  std::vector<std::string> out;
  if (items.is_array())
    for (const auto& i : items)
      out.push_back(i.is_string() ? i.get<std::string>() : i.value("name", "?"));
  return joined(out);
}

/// RFC 3339 UTC with milliseconds: 2026-11-22T10:00:00.123Z
bool is_api_time(const json& t) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  return t.is_string() && std::regex_match(t.get<std::string>(), re);
}

/// Whether every job of the pipeline shows `paused`.
bool all_jobs_paused(runtime_node& node, const std::string& pipeline, bool paused) {
  auto r = node.get("/pipelines/" + pipeline + "/jobs");
  if (r.status != 200) return false;
  auto jobs = r.json()["jobs"];
  if (!jobs.is_array() || jobs.empty()) return false;
  return std::all_of(jobs.begin(), jobs.end(),
                     [&](const json& j) { return j["paused"] == paused; });
}

}  // namespace

TEST_SUITE("integration.runtime.api") {
  TEST_CASE("runtime: pipelines are set, listed, read and deleted") {
    runtime_node node;
    temp_dir dir;
    std::string config = web(dir);
    auto created = node.put("/pipelines/web", config_body(config));
    REQUIRE_MESSAGE(created.status == 201, created.body, "\n", node.tail());
    auto p = created.json()["pipeline"];
    CHECK(p["name"] == "web");
    CHECK(p["paused"] == false);
    CHECK(p["config"] == config);
    CHECK(names(p["jobs"]) == "build,test");
    REQUIRE(p["resources"].is_array());
    REQUIRE(p["resources"].size() == 1);
    CHECK(p["resources"][0]["canonical"] == "filever.src");
    CHECK(p["created_at"].is_string());
    CHECK(p["updated_at"].is_string());

    auto updated = node.put("/pipelines/web", config_body(config));
    CHECK(updated.status == 200);
    CHECK(updated.json()["pipeline"]["name"] == "web");

    auto list = node.get("/pipelines");
    REQUIRE(list.status == 200);
    auto pipelines = list.json()["pipelines"];
    REQUIRE(pipelines.is_array());
    REQUIRE(pipelines.size() == 1);
    CHECK(pipelines[0]["name"] == "web");
    CHECK(pipelines[0]["paused"] == false);
    CHECK(pipelines[0]["jobs"] == json::array({"build", "test"}));

    auto got = node.get("/pipelines/web");
    REQUIRE(got.status == 200);
    CHECK(got.json()["pipeline"]["config"] == config);
    CHECK(got.json()["pipeline"]["paused"] == false);

    auto jobs = node.get("/pipelines/web/jobs");
    REQUIRE(jobs.status == 200);
    CHECK(names(jobs.json()["jobs"]) == "build,test");
    for (const auto& j : jobs.json()["jobs"]) {
      CHECK(j["paused"] == false);
      CHECK(j["latest_build"].is_null());
    }

    auto job = node.job("web", "test");
    CHECK(job["name"] == "test");
    CHECK(job["paused"] == false);
    REQUIRE(job["plan"].is_array());
    REQUIRE(job["plan"].size() == 2);
    CHECK(job["plan"][0]["type"] == "get");
    CHECK(job["plan"][0]["name"] == "src");
    CHECK(job["plan"][1]["type"] == "task");
    CHECK(job["plan"][1]["name"] == "unit");

    // a build shows up in the job, in /builds and by its global id
    auto summary = node.trigger("web", "build");
    CHECK(summary["number"] == "1");
    CHECK(summary["job"] == "build");
    CHECK(summary["trigger"]["type"] == "manual");
    CHECK((summary["status"] == "pending" || summary["status"] == "started" ||
           summary["status"] == "succeeded"));
    REQUIRE(summary["id"].is_number_integer());
    auto b = node.wait_build("web", "build", "1");
    CHECK(b["status"] == "succeeded");
    for (const char* key : {"id", "pipeline", "job", "number", "status", "reason", "trigger",
                            "attempt", "worker", "concurrency_group", "created_at", "started_at",
                            "finished_at", "duration_ms", "inputs", "steps", "hooks"})
      CHECK_MESSAGE(b.contains(key), key);
    for (const char* key : {"created_at", "started_at", "finished_at"})
      CHECK_MESSAGE(is_api_time(b[key]), key, " ", b[key].dump());
    CHECK(b["attempt"] == 1);
    CHECK(b["inputs"] == json::array());
    REQUIRE(b["steps"].size() == 1);
    CHECK(b["steps"][0]["type"] == "task");
    CHECK(b["steps"][0]["name"] == "compile");
    CHECK(b["steps"][0]["status"] == "succeeded");
    CHECK(is_api_time(b["steps"][0]["started_at"]));
    CHECK(is_api_time(b["steps"][0]["finished_at"]));
    CHECK(step_logs(b, "compile").find("compiling build 1") != std::string::npos);
    CHECK(b["started_at"].is_string());
    CHECK(b["finished_at"].is_string());
    CHECK(b["duration_ms"].is_number());
    CHECK(b["worker"].is_string());
    auto by_id = node.get("/builds/" + std::to_string(summary["id"].get<std::int64_t>()));
    REQUIRE(by_id.status == 200);
    CHECK(by_id.json()["build"]["number"] == "1");
    CHECK(by_id.json()["build"]["job"] == "build");
    CHECK(by_id.json()["build"]["pipeline"] == "web");
    auto all = node.get("/builds?limit=0");
    REQUIRE(all.status == 200);
    REQUIRE(all.json()["builds"].is_array());
    CHECK(all.json()["builds"].size() == 1);
    jobs = node.get("/pipelines/web/jobs");
    REQUIRE(jobs.status == 200);
    for (const auto& j : jobs.json()["jobs"]) {
      if (j["name"] == "build") CHECK(j["latest_build"]["number"] == "1");
    }
    auto summaries = node.builds("web", "build");
    REQUIRE(summaries.size() == 1);
    CHECK_FALSE(summaries[0].contains("steps"));
    // newest first, limit
    node.trigger("web", "build");
    node.wait_build("web", "build", "2");
    CHECK(numbers_of(node.builds("web", "build")) == "2,1");
    auto limited = node.get("/pipelines/web/jobs/build/builds?limit=1");
    REQUIRE(limited.status == 200);
    CHECK(numbers_of(limited.json()["builds"]) == "2");
    CHECK(limited.headers["content-type"] == "application/json");

    // resources and versions
    auto res = node.resource("web", "filever.src");
    REQUIRE(res.is_object());
    for (const char* key : {"canonical", "type", "name", "check_interval", "last_check_at",
                            "next_check_at", "check_error", "pinned_version_id", "webhook_token"})
      CHECK_MESSAGE(res.contains(key), key);
    dir.write("check", R"([{"ref":"r1"}])");
    node.check("web", "src");
    auto versions = node.wait_versions("web", "filever.src", 1);
    REQUIRE(versions.size() == 1);
    CHECK(versions[0]["id"].is_number_integer());
    CHECK(versions[0]["version"] == json{{"ref", "r1"}});
    CHECK(is_api_time(versions[0]["created_at"]));
    CHECK(eventually(
        [&] { return is_api_time(node.resource("web", "filever.src")["last_check_at"]); }, 5s));
    res = node.resource("web", "filever.src");
    CHECK(is_api_time(res["next_check_at"]));
    // the next check comes after the last one
    if (is_api_time(res["last_check_at"]) && is_api_time(res["next_check_at"]))
      CHECK(res["next_check_at"].get<std::string>() > res["last_check_at"].get<std::string>());
    // the documented form: a comma list, unescaped
    auto succeeded = node.get("/pipelines/web/jobs/build/builds?status=succeeded,failed");
    CHECK_MESSAGE(succeeded.status == 200, succeeded.body);
    if (succeeded.status == 200) CHECK(succeeded.json()["builds"].size() == 2);
    auto escaped = node.get("/pipelines/web/jobs/build/builds?status=succeeded%2Cfailed");
    CHECK_MESSAGE(escaped.status == 200, escaped.body);
    if (escaped.status == 200) CHECK(escaped.json()["builds"].size() == 2);
    auto failed = node.get("/pipelines/web/jobs/build/builds?status=failed");
    REQUIRE(failed.status == 200);
    CHECK(failed.json()["builds"].size() == 0);

    auto queue = node.get("/queue");
    REQUIRE(queue.status == 200);
    CHECK(queue.json()["max_in_flight"].is_number_integer());
    CHECK(queue.json()["started"].is_array());
    CHECK(queue.json()["pending"].is_array());
    auto workers = node.get("/workers");
    REQUIRE(workers.status == 200);
    REQUIRE(workers.json()["workers"].is_array());
    REQUIRE(workers.json()["workers"].size() >= 1);
    CHECK(workers.json()["workers"][0]["kind"] == "embedded");
    CHECK(workers.json()["workers"][0]["concurrency"] == 4);

    // delete: the pipeline, its jobs and builds are gone
    auto deleted = node.del("/pipelines/web");
    CHECK(deleted.status == 204);
    CHECK(node.get("/pipelines/web").status == 404);
    CHECK(node.get("/pipelines/web/jobs/build/builds/1").status == 404);
    CHECK(node.get("/builds/" + std::to_string(summary["id"].get<std::int64_t>())).status == 404);
    CHECK(node.get("/pipelines").json()["pipelines"].size() == 0);

    // set again: a new pipeline, without the old builds
    CHECK(node.set_pipeline("web", config).status == 201);
    CHECK(node.builds("web", "build").size() == 0);
    auto fresh_versions = node.get("/pipelines/web/resources/src/versions");
    REQUIRE(fresh_versions.status == 200);
    CHECK(fresh_versions.json()["versions"].size() == 0);
    CHECK(node.trigger("web", "build")["number"] == "1");
    node.wait_build("web", "build", "1");
  }

  TEST_CASE("runtime: pipeline variables come from the vars of the PUT") {
    runtime_node node;
    auto r = node.put("/pipelines/vars", json{{"config", R"(
variable "greeting" {
  type = string
}

variable "times" {
  type    = number
  default = 1
}

job "hello" {
  task "say" {
    run "shell" {
      cmd = "echo ${var.greeting} x${var.times}"
    }
  }
}
)"},
                                              {"vars", {{"greeting", "hola"}, {"times", 3}}}}
                                             .dump());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(r.json()["pipeline"]["vars"] == json{{"greeting", "hola"}, {"times", 3}});
    node.trigger("vars", "hello");
    auto b = node.wait_build("vars", "hello", "1");
    CHECK(b["status"] == "succeeded");
    CHECK(step_logs(b, "say").find("hola x3") != std::string::npos);

    // a missing variable is an invalid pipeline
    auto missing = node.put("/pipelines/novars", json{{"config", R"(
variable "greeting" {
  type = string
}
)"}}.dump());
    expect_error(node, missing, 422, "invalid_pipeline", "missing variable");
    CHECK(node.get("/pipelines/novars").status == 404);
  }

  TEST_CASE("runtime: a pipeline given at start-up is there") {
    runtime_node node(
        {"--pipeline-name", "hello", "--pipeline-config", source_path("samples/hello.hcl")});
    auto r = node.get("/pipelines/hello");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(names(r.json()["pipeline"]["jobs"]) == "hello");
    CHECK(node.resource("hello", "cron.every-minute").is_object());
  }

  TEST_CASE("runtime: re-setting a pipeline keeps kept jobs' builds and drops removed jobs") {
    runtime_node node;
    CHECK(node.set_pipeline("re", simple_job("a")).status == 201);
    node.trigger("re", "a");
    CHECK(node.wait_build("re", "a", "1")["status"] == "succeeded");

    // a kept, b added
    CHECK(node.set_pipeline("re", simple_job("a") + simple_job("b")).status == 200);
    auto jobs = node.get("/pipelines/re/jobs");
    REQUIRE(jobs.status == 200);
    CHECK(names(jobs.json()["jobs"]) == "a,b");
    CHECK(numbers_of(node.builds("re", "a")) == "1");
    CHECK(node.build("re", "a", "1")["status"] == "succeeded");
    CHECK(node.get("/pipelines/re/jobs/b/builds").status == 200);
    CHECK(node.builds("re", "b").size() == 0);
    // numbering goes on
    CHECK(node.trigger("re", "a")["number"] == "2");
    CHECK(node.trigger("re", "b")["number"] == "1");
    node.wait_build("re", "a", "2");
    node.wait_build("re", "b", "1");

    // a removed: its job and builds are gone, b keeps its own
    CHECK(node.set_pipeline("re", simple_job("b")).status == 200);
    jobs = node.get("/pipelines/re/jobs");
    REQUIRE(jobs.status == 200);
    CHECK(names(jobs.json()["jobs"]) == "b");
    expect_error(node, node.get("/pipelines/re/jobs/a"), 404, "not_found", "removed job");
    expect_error(node, node.get("/pipelines/re/jobs/a/builds"), 404, "not_found",
                 "removed job's builds");
    expect_error(node, node.get("/pipelines/re/jobs/a/builds/1"), 404, "not_found",
                 "removed job's build");
    expect_error(node, node.post("/pipelines/re/jobs/a/trigger"), 404, "not_found",
                 "trigger of a removed job");
    CHECK(numbers_of(node.builds("re", "b")) == "1");
    CHECK(node.get("/pipelines").json()["pipelines"][0]["jobs"] == json::array({"b"}));
  }

  TEST_CASE("runtime: pausing jobs and pipelines; builds are numbered 1, 2, ...") {
    runtime_node node;
    node.set_pipeline("pp", simple_job("a") + simple_job("b"));

    auto paused = node.post("/pipelines/pp/jobs/a/pause");
    REQUIRE_MESSAGE(paused.status == 200, paused.body);
    CHECK(paused.json()["job"]["name"] == "a");
    CHECK(paused.json()["job"]["paused"] == true);
    CHECK(node.job("pp", "a")["paused"] == true);
    CHECK(node.job("pp", "b")["paused"] == false);
    expect_error(node, node.post("/pipelines/pp/jobs/a/trigger"), 409, "conflict",
                 "trigger of a paused job");
    CHECK(node.builds("pp", "a").size() == 0);

    auto unpaused = node.post("/pipelines/pp/jobs/a/unpause");
    REQUIRE(unpaused.status == 200);
    CHECK(unpaused.json()["job"]["paused"] == false);
    CHECK(node.job("pp", "a")["paused"] == false);
    CHECK(node.trigger("pp", "a")["number"] == "1");
    CHECK(node.trigger("pp", "a")["number"] == "2");
    auto builds = node.wait_builds("pp", "a", 2);
    CHECK(numbers_of(builds) == "2,1");
    for (const auto& b : builds) CHECK(b["status"] == "succeeded");

    // the whole pipeline
    auto pp = node.post("/pipelines/pp/pause");
    REQUIRE_MESSAGE(pp.status == 200, pp.body);
    CHECK(pp.json()["pipeline"]["paused"] == true);
    CHECK(node.get("/pipelines/pp").json()["pipeline"]["paused"] == true);
    CHECK(node.get("/pipelines").json()["pipelines"][0]["paused"] == true);
    CHECK(all_jobs_paused(node, "pp", true));
    expect_error(node, node.post("/pipelines/pp/jobs/b/trigger"), 409, "conflict",
                 "trigger in a paused pipeline");
    // an update does not change paused
    CHECK(node.set_pipeline("pp", simple_job("a") + simple_job("b")).status == 200);
    CHECK(node.get("/pipelines/pp").json()["pipeline"]["paused"] == true);

    auto up = node.post("/pipelines/pp/unpause");
    REQUIRE(up.status == 200);
    CHECK(up.json()["pipeline"]["paused"] == false);
    CHECK(all_jobs_paused(node, "pp", false));
    CHECK(node.trigger("pp", "a")["number"] == "3");
    CHECK(node.trigger("pp", "b")["number"] == "1");
    CHECK(node.wait_build("pp", "a", "3")["status"] == "succeeded");
    CHECK(node.wait_build("pp", "b", "1")["status"] == "succeeded");
  }

  TEST_CASE("runtime: authentication and roles") {
    runtime_node node;
    temp_dir dir;
    node.set_pipeline("web", web(dir));

    // no token, a bad token, a token signed with another secret, another scheme
    expect_error(node, node.call("GET", "/pipelines", "", ""), 401, "unauthenticated", "no token");
    expect_error(node, node.call("GET", "/pipelines", "", "not-a-jwt"), 401, "unauthenticated",
                 "garbage token");
    auto foreign = run_command(
        {node_binary(), "user-token", "--jwt-secret", "another-secret", "--role", "admin"});
    REQUIRE(foreign.exit_code == 0);
    expect_error(
        node,
        node.call("GET", "/pipelines", "", foreign.output.substr(0, foreign.output.find('\n'))),
        401, "unauthenticated", "token of another secret");
    expect_error(node,
                 http_request("GET", node.server().url() + "/api/v1/pipelines", "",
                              {{"Authorization", "Basic YWRtaW46dGVzdA=="}}),
                 401, "unauthenticated", "basic auth");

    // login
    expect_error(node,
                 node.call("POST", "/login", R"({"username":"admin","password":"wrong"})", ""), 401,
                 "unauthenticated", "wrong password");
    expect_error(
        node, node.call("POST", "/login", R"({"username":"bob","password":"test-password"})", ""),
        401, "unauthenticated", "unknown user");
    expect_error(node, node.call("POST", "/login", "{\"username\":", ""), 400, "bad_request",
                 "malformed login");
    expect_error(node, node.call("POST", "/login", R"({"username":5,"password":"x"})", ""), 400,
                 "bad_request", "login with a number");
    auto login =
        node.call("POST", "/login", R"({"username":"admin","password":"test-password"})", "");
    REQUIRE_MESSAGE(login.status == 200, login.body);
    CHECK(login.json()["role"] == "admin");
    REQUIRE(login.json()["token"].is_string());
    std::string session = login.json()["token"];
    CHECK(node.call("GET", "/pipelines", "", session).status == 200);
    CHECK(node.call("PUT", "/pipelines/web", config_body(web(dir)), session).status == 200);

    // read: every GET, nothing else
    std::string read = user_token("read");
    CHECK(node.call("GET", "/pipelines", "", read).status == 200);
    CHECK(node.call("GET", "/pipelines/web/jobs/build/builds", "", read).status == 200);
    expect_error(node, node.call("POST", "/pipelines/web/jobs/build/trigger", "", read), 403,
                 "forbidden", "read token triggers");
    expect_error(node, node.call("POST", "/pipelines/web/jobs/build/pause", "", read), 403,
                 "forbidden", "read token pauses");
    expect_error(node, node.call("POST", "/pipelines/web/resources/src/check", "", read), 403,
                 "forbidden", "read token checks");
    expect_error(node, node.call("PUT", "/pipelines/web", config_body(web(dir)), read), 403,
                 "forbidden", "read token sets a pipeline");
    CHECK(node.builds("web", "build").size() == 0);

    // write: trigger, pause, check; not set or delete pipelines
    std::string write = user_token("write");
    auto w = node.call("POST", "/pipelines/web/jobs/build/trigger", "", write);
    CHECK_MESSAGE(w.status == 201, w.body);
    CHECK(node.call("POST", "/pipelines/web/jobs/build/pause", "", write).status == 200);
    CHECK(node.call("POST", "/pipelines/web/jobs/build/unpause", "", write).status == 200);
    CHECK(node.call("POST", "/pipelines/web/resources/src/check", "", write).status == 202);
    expect_error(node, node.call("PUT", "/pipelines/web", config_body(web(dir)), write), 403,
                 "forbidden", "write token sets a pipeline");
    expect_error(node, node.call("DELETE", "/pipelines/web", "", write), 403, "forbidden",
                 "write token deletes a pipeline");
    CHECK(node.get("/pipelines/web").status == 200);

    // a worker token is no user token
    expect_error(node, node.call("GET", "/pipelines", "", worker_token()), 403, "forbidden",
                 "worker token on a user route");
    expect_error(node, node.call("POST", "/pipelines/web/jobs/build/trigger", "", worker_token()),
                 403, "forbidden", "worker token triggers");

    // health and version need no token
    CHECK(node.call("GET", "/health", "", "").status == 200);
    CHECK(node.call("GET", "/version", "", "").status == 200);
    node.wait_build("web", "build", "1");
  }

  TEST_CASE("runtime: bad input gets 400, 404, 405, 409 or 422 and the node keeps serving") {
    runtime_node node;
    temp_dir dir;
    std::string config = web(dir);
    node.set_pipeline("web", config);

    // 400: bodies and query parameters
    for (const char* body : {"{not json", "[]", "{}", R"({"config":5})",
                             R"({"config":"job \"a\" {}","vars":"x"})", "\"just a string\""}) {
      expect_error(node, node.put("/pipelines/web", body), 400, "bad_request",
                   std::string("PUT body ") + body);
    }
    CHECK(node.get("/pipelines/web").json()["pipeline"]["config"] == config);
    for (const char* body : {"{", R"({"inputs":5})", R"({"args":"x"})", "[1]"}) {
      expect_error(node, node.post("/pipelines/web/jobs/build/trigger", body), 400, "bad_request",
                   std::string("trigger body ") + body);
    }
    CHECK(node.builds("web", "build").size() == 0);
    for (const char* query : {"limit=abc", "limit=-1", "status=bogus"}) {
      expect_error(node, node.get(std::string("/pipelines/web/jobs/build/builds?") + query), 400,
                   "bad_request", query);
    }
    expect_error(node, node.post("/pipelines/web/resources/src/pin", "{"), 400, "bad_request",
                 "pin body");
    expect_error(node, node.post("/pipelines/web/resources/src/pin", "{}"), 400, "bad_request",
                 "pin without version_id");

    // 404: unknown things
    expect_error(node, node.get("/pipelines/nope"), 404, "not_found", "pipeline");
    expect_error(node, node.get("/pipelines/nope/jobs"), 404, "not_found", "pipeline jobs");
    expect_error(node, node.post("/pipelines/nope/jobs/build/trigger"), 404, "not_found",
                 "trigger in unknown pipeline");
    expect_error(node, node.del("/pipelines/nope"), 404, "not_found", "delete pipeline");
    expect_error(node, node.get("/pipelines/web/jobs/nope"), 404, "not_found", "job");
    expect_error(node, node.post("/pipelines/web/jobs/nope/trigger"), 404, "not_found",
                 "trigger of unknown job");
    expect_error(node, node.get("/pipelines/web/jobs/build/builds/99"), 404, "not_found", "build");
    expect_error(node, node.post("/pipelines/web/jobs/build/builds/99/cancel"), 404, "not_found",
                 "cancel unknown build");
    expect_error(node, node.get("/builds/999999"), 404, "not_found", "build id");
    expect_error(node, node.get("/pipelines/web/resources/nope/versions"), 404, "not_found",
                 "resource versions");
    expect_error(node, node.post("/pipelines/web/resources/nope/check"), 404, "not_found",
                 "resource check");
    expect_error(node, node.post("/pipelines/web/resources/src/pin", R"({"version_id":999999})"),
                 404, "not_found", "pin unknown version");
    expect_error(node, node.post("/pipelines/web/resources/src/versions/999999/trigger"), 404,
                 "not_found", "trigger unknown version");

    // 405: a known path with another method
    expect_error(node, node.del("/pipelines/web/jobs"), 405, "method_not_allowed", "DELETE jobs");

    // 409: a get with no version to use
    expect_error(node, node.post("/pipelines/web/jobs/test/trigger"), 409, "conflict",
                 "trigger whose get has no version");
    CHECK(node.builds("web", "test").size() == 0);

    // 422: the pipeline does not parse or validate; nothing changes
    auto unknown_block = node.put("/pipelines/web", config_body("job \"x\" {\n"
                                                                "  tsk \"t\" {\n"
                                                                "  }\n"
                                                                "}\n"));
    expect_error(node, unknown_block, 422, "invalid_pipeline", "unknown block");
    auto diags = unknown_block.json()["diagnostics"];
    REQUIRE_MESSAGE(diags.is_array(), unknown_block.body);
    REQUIRE(diags.size() >= 1);
    CHECK(diags[0]["line"] == 2);
    CHECK(diags[0]["column"] == 3);
    CHECK(diags[0]["message"].get<std::string>().find("task") != std::string::npos);
    CHECK(node.get("/pipelines/web").json()["pipeline"]["config"] == config);

    auto syntax = node.put("/pipelines/other", config_body("job \"a\" {\n  x = [1 2]\n}\n"));
    expect_error(node, syntax, 422, "invalid_pipeline", "syntax error");
    REQUIRE(syntax.json()["diagnostics"].is_array());
    REQUIRE(syntax.json()["diagnostics"].size() >= 1);
    CHECK(syntax.json()["diagnostics"][0]["line"] == 2);
    CHECK(syntax.json()["diagnostics"][0]["column"] == 10);
    CHECK(node.get("/pipelines/other").status == 404);

    auto dangling = node.put("/pipelines/other", config_body("job \"a\" {\n"
                                                             "  get \"cron\" \"missing\" {\n"
                                                             "  }\n"
                                                             "}\n"));
    expect_error(node, dangling, 422, "invalid_pipeline", "unknown resource");
    REQUIRE(dangling.json()["diagnostics"].is_array());
    REQUIRE(dangling.json()["diagnostics"].size() >= 1);
    CHECK(dangling.json()["diagnostics"][0]["line"] == 2);
    CHECK(dangling.json()["diagnostics"][0]["message"].get<std::string>().find("missing") !=
          std::string::npos);
    CHECK(node.get("/pipelines").json()["pipelines"].size() == 1);

    // after all that, the node still runs builds
    node.trigger("web", "build");
    CHECK(node.wait_build("web", "build", "1")["status"] == "succeeded");
  }
}
