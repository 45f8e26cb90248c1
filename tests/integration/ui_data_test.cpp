// The data the web UI's pages read: the pipeline graph, a job's inputs, the dashboard in one
// request, live `pipeline`, `job` and `resource` events (filtered by pipeline) and validation of
// pipeline text without setting it. Against the real node over HTTP.
#include <doctest/doctest.h>

#include <chrono>

#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/sse_client.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

const std::string stamp_type = R"(
resource_type "stamp" {
  check "shell" {
    cmd = "echo '[{\"ref\":\"v1\"},{\"ref\":\"v2\"}]'"
  }
  pull "shell" {
    cmd = "echo pulled $version_ref"
  }
  push "shell" {
    cmd = "echo '[{\"ref\":\"pushed\"}]'"
  }
}
resource "stamp" "src" {
  check_interval = "@every 1h"
}
resource "stamp" "out" {
  check_interval = "@every 1h"
}
)";

std::string task(const std::string& name, const std::string& cmd) {
  return "  task \"" + name + "\" {\n    run \"shell\" {\n      cmd = \"" + cmd +
         "\"\n    }\n  }\n";
}

const std::string graph_pipeline = stamp_type + R"(
job "build" {
  get "stamp" "src" {
    trigger = true
  }
)" + task("compile", "sleep 30") + R"(
  put "stamp" "out" {}
}
job "deploy" {
  input "env" {
    description = "where to"
    options     = ["staging", "prod"]
  }
  input "dry_run" {
    type    = bool
    default = true
  }
  get "stamp" "out" {
    passed = ["build"]
  }
)" + task("ship", "echo shipping") +
                                   "}\n";

std::string url(runtime_node& node, const std::string& path) {
  return node.server().url() + "/api/v1" + path;
}

/// The first event of `type` whose data satisfies `pred`; null when none.
const sse_event* first(const std::vector<sse_event>& events, const std::string& type,
                       const std::function<bool(const json&)>& pred = {}) {
  for (const auto& e : events)
    if (e.type == type && (!pred || pred(e.data))) return &e;
  return nullptr;
}

std::function<bool(const std::vector<sse_event>&)> has(const std::string& type,
                                                       std::function<bool(const json&)> pred) {
  return [type, pred](const std::vector<sse_event>& events) {
    return first(events, type, pred) != nullptr;
  };
}

std::string body(const json& j) {
  return j.dump();
}

}  // namespace

TEST_SUITE("integration.ui_data") {
  TEST_CASE("GET /pipelines/{p}/graph: jobs with builds, inputs, gets and puts; resources") {
    runtime_node node;
    node.set_pipeline("p", graph_pipeline);
    // the first check finds v1 and v2: a build of `build` for each, both running (30 s)
    REQUIRE(eventually([&] {
      auto builds = node.builds("p", "build");
      return builds.size() == 2 && builds[0]["status"] == "started" &&
             builds[1]["status"] == "started";
    }));

    auto r = node.get("/pipelines/p/graph");
    REQUIRE(r.status == 200);
    auto g = r.json()["graph"];
    CHECK(g["name"] == "p");
    CHECK(g["paused"] == false);
    REQUIRE(g["jobs"].size() == 2);
    const auto& build = g["jobs"][0];
    CHECK(build["name"] == "build");
    CHECK(build["running"] == 2);
    CHECK(build["latest_build"]["status"] == "started");
    CHECK(build["gets"] ==
          json::parse(R"([{"resource":"stamp.src","name":"src","passed":[],"trigger":true}])"));
    CHECK(build["puts"] == json::parse(R"([{"resource":"stamp.out","name":"out"}])"));
    const auto& deploy = g["jobs"][1];
    CHECK(deploy["latest_build"].is_null());
    CHECK(deploy["running"] == 0);
    CHECK(deploy["gets"][0]["passed"] == json::array({"build"}));
    CHECK(deploy["gets"][0]["trigger"] == false);
    REQUIRE(deploy["inputs"].size() == 2);
    CHECK(deploy["inputs"][0] == json::parse(R"({"name":"env","type":"string",
      "options":["staging","prod"],"default":null,"required":true,"multiple":false,
      "description":"where to"})"));
    CHECK(deploy["inputs"][1]["default"] == true);
    REQUIRE(g["resources"].size() == 2);
    CHECK(g["resources"][0]["canonical"] == "stamp.src");
    CHECK(g["resources"][0]["last_check_at"].is_string());
    CHECK(g["resources"][1]["canonical"] == "stamp.out");

    // the job's own page has the same inputs
    auto job = node.job("p", "deploy");
    CHECK(job["inputs"] == deploy["inputs"]);
    CHECK(node.job("p", "build")["inputs"] == json::array());

    CHECK(node.get("/pipelines/nope/graph").status == 404);
    CHECK(node.call("GET", "/pipelines/p/graph", "", "").status == 401);
    for (const char* n : {"1", "2"})
      CHECK(node.post("/pipelines/p/jobs/build/builds/" + std::string(n) + "/cancel").status ==
            200);
  }

  TEST_CASE("GET /dashboard: every pipeline's jobs with their latest build, in one request") {
    runtime_node node;
    node.set_pipeline("b-pipe", "job \"a\" {\n" + task("t", "echo hi") + "}\njob \"z\" {\n" +
                                    task("t", "echo hi") + "}\n");
    node.set_pipeline("a-pipe", "job \"one\" {\n" + task("t", "sleep 30") + "}\n");
    auto done = node.trigger("b-pipe", "a");
    node.wait_build("b-pipe", "a", done["number"]);
    auto running = node.trigger("a-pipe", "one");
    node.wait_started("a-pipe", "one", running["number"]);
    REQUIRE(node.post("/pipelines/b-pipe/pause").status == 200);

    auto r = node.get("/dashboard");
    REQUIRE(r.status == 200);
    auto d = r.json();
    CHECK(d["in_flight"] == 1);
    CHECK(d["queued"] == 0);
    REQUIRE(d["pipelines"].size() == 2);
    const auto& a = d["pipelines"][0];
    CHECK(a["name"] == "a-pipe");
    CHECK(a["paused"] == false);
    REQUIRE(a["jobs"].size() == 1);
    CHECK(a["jobs"][0]["latest_build"]["status"] == "started");
    CHECK(a["jobs"][0]["running"] == 1);
    const auto& b = d["pipelines"][1];
    CHECK(b["name"] == "b-pipe");
    CHECK(b["paused"] == true);
    REQUIRE(b["jobs"].size() == 2);
    CHECK(b["jobs"][0]["name"] == "a");
    CHECK(b["jobs"][0]["paused"] == true);
    CHECK(b["jobs"][0]["latest_build"]["status"] == "succeeded");
    CHECK(b["jobs"][1]["latest_build"].is_null());

    CHECK(node.call("GET", "/dashboard", "", "").status == 401);
    node.post("/pipelines/a-pipe/jobs/one/builds/" + running["number"].get<std::string>() +
              "/cancel");
  }

  TEST_CASE("GET /dashboard with 100 pipelines of 10 jobs answers in one quick request") {
    runtime_node node;
    std::string jobs;
    for (int j = 0; j < 10; ++j)
      jobs += "job \"j" + std::to_string(j) + "\" {\n" + task("t", "true") + "}\n";
    for (int p = 0; p < 100; ++p) node.set_pipeline("p" + std::to_string(p), jobs);
    for (int p = 0; p < 100; p += 10) node.trigger("p" + std::to_string(p), "j0");
    node.get("/dashboard");  // warm
    auto best = std::chrono::steady_clock::duration::max();
    json d;
    for (int i = 0; i < 5; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = node.get("/dashboard");
      best = std::min(best, std::chrono::steady_clock::now() - t0);
      REQUIRE(r.status == 200);
      d = r.json();
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(best).count();
    MESSAGE("GET /dashboard, 100 pipelines x 10 jobs: " << ms << " ms (best of 5)");
    REQUIRE(d["pipelines"].size() == 100);
    std::size_t job_count = 0;
    for (const auto& p : d["pipelines"]) job_count += p["jobs"].size();
    CHECK(job_count == 1000);
    CHECK(ms < 1000);
  }

  TEST_CASE("GET /pipelines/{p}/graph of 250 jobs is one quick answer") {
    runtime_node node;
    std::string hcl = stamp_type;
    for (int j = 0; j < 250; ++j) {
      // no trigger: the test reads the graph, no build runs
      hcl += "job \"j" + std::to_string(j) + "\" {\n  get \"stamp\" \"src\" {\n";
      if (j > 0) hcl += "    passed  = [\"j" + std::to_string(j - 1) + "\"]\n";
      hcl += "  }\n" + task("t", "true") + "}\n";
    }
    node.set_pipeline("big", hcl);
    node.get("/pipelines/big/graph");  // warm
    auto best = std::chrono::steady_clock::duration::max();
    json g;
    for (int i = 0; i < 5; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = node.get("/pipelines/big/graph");
      best = std::min(best, std::chrono::steady_clock::now() - t0);
      REQUIRE(r.status == 200);
      g = r.json()["graph"];
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(best).count();
    MESSAGE("GET /pipelines/{p}/graph, 250 jobs: " << ms << " ms (best of 5)");
    REQUIRE(g["jobs"].size() == 250);
    CHECK(g["jobs"][249]["gets"][0]["passed"] == json::array({"j248"}));
    CHECK(ms < 1000);
  }

  TEST_CASE("POST /validate: 200 valid, the same 422 diagnostics as PUT, offline sources") {
    runtime_node node;
    auto ok =
        node.post("/validate", body({{"config", "job \"j\" {\n" + task("t", "true") + "}\n"}}));
    REQUIRE(ok.status == 200);
    CHECK(ok.json()["valid"] == true);
    CHECK(ok.json()["notes"] == json::array());

    std::string broken = "job \"j\" {\n  tsk \"t\" {}\n}\n";
    auto v = node.post("/validate", body({{"config", broken}, {"name", "p"}}));
    auto put = node.put("/pipelines/p", config_body(broken));
    REQUIRE(v.status == 422);
    REQUIRE(put.status == 422);
    CHECK(v.json()["error"]["code"] == "invalid_pipeline");
    CHECK(v.json() == put.json());  // message and diagnostics alike
    REQUIRE(v.json()["diagnostics"].size() == 1);
    CHECK(v.json()["diagnostics"][0]["line"] == 2);
    CHECK(v.json()["diagnostics"][0]["column"] == 3);
    // nothing was set
    CHECK(node.get("/pipelines/p").status == 404);

    // a variable without a value, given through vars
    std::string with_var = "variable \"who\" {\n  type = string\n}\njob \"j\" {\n" +
                           task("t", "echo ${var.who}") + "}\n";
    CHECK(node.post("/validate", body({{"config", with_var}})).status == 422);
    CHECK(node.post("/validate", body({{"config", with_var}, {"vars", {{"who", "me"}}}})).status ==
          200);

    // an http(s) source: fetched (and failing here), or with offline only noted
    std::string sourced =
        "runner_type \"r\" {\n  source = \"http://127.0.0.1:1/r.hcl\"\n}\n"
        "job \"j\" {\n  task \"t\" {\n    run \"r\" {}\n  }\n}\n";
    auto fetched = node.post("/validate", body({{"config", sourced}}));
    CHECK(fetched.status == 422);
    auto offline = node.post("/validate", body({{"config", sourced}, {"offline", true}}));
    CHECK_MESSAGE(offline.status == 200, offline.body);
    CHECK(offline.json()["notes"].size() == 1);
    // only admins have the node fetch URLs: a reader's validation is offline
    auto reader = node.call("POST", "/validate", body({{"config", sourced}}), user_token("read"));
    CHECK_MESSAGE(reader.status == 200, reader.body);
    CHECK(reader.json()["notes"].size() == 1);

    CHECK(node.post("/validate", body({{"vars", json::object()}})).status == 400);
    CHECK(node.post("/validate", body({{"config", "x"}, {"offline", "yes"}})).status == 400);
    CHECK(node.post("/validate", body({{"config", "x"}, {"name", "a/b"}})).status == 400);
    CHECK(node.call("POST", "/validate", body({{"config", "x"}}), "").status == 401);
    auto huge = node.post("/validate", body({{"config", std::string(5 * 1024 * 1024, '#')}}));
    CHECK(huge.status == 413);
  }

  TEST_CASE("GET /events: pipeline, job and resource events; ?pipeline= keeps one pipeline's") {
    runtime_node node;
    node.set_pipeline("p", graph_pipeline);
    node.set_pipeline("q", "job \"j\" {\n" + task("t", "true") + "}\n");
    sse_client all(url(node, "/events"), node.token());
    sse_client only_p(url(node, "/events?pipeline=p"), node.token());
    REQUIRE(all.wait_open());
    REQUIRE(only_p.wait_open());

    REQUIRE(node.post("/pipelines/p/pause").status == 200);
    CHECK(only_p.wait(has("pipeline", [](const json& d) {
      return d["name"] == "p" && d["paused"] == true && d["action"] == "paused";
    })));
    CHECK(only_p.wait(has("job", [](const json& d) {
      return d["pipeline"] == "p" && d["name"] == "deploy" && d["paused"] == true;
    })));
    REQUIRE(node.post("/pipelines/p/unpause").status == 200);
    REQUIRE(node.post("/pipelines/q/jobs/j/pause").status == 200);
    CHECK(all.wait(has("job", [](const json& d) {
      return d["pipeline"] == "q" && d["name"] == "j" && d["paused"] == true;
    })));

    // a check: started (checking), then finished with the newest version
    node.check("p", "stamp.src");
    CHECK(only_p.wait(has("resource", [](const json& d) {
      return d["pipeline"] == "p" && d["resource"]["canonical"] == "stamp.src" &&
             d["resource"]["checking"] == true;
    })));
    CHECK(only_p.wait(has("resource", [](const json& d) {
      return d["resource"]["canonical"] == "stamp.src" && d["resource"]["checking"] == false &&
             d["latest_version"].is_object() && d["latest_version"]["version"]["ref"] == "v2";
    })));
    auto versions = node.wait_versions("p", "stamp.src", 2);
    auto oldest = versions[1]["id"].get<std::int64_t>();
    REQUIRE(
        node.post("/pipelines/p/resources/stamp.src/pin", body({{"version_id", oldest}})).status ==
        200);
    CHECK(only_p.wait(has("resource", [oldest](const json& d) {
      return d["resource"]["pinned_version_id"] == oldest;
    })));

    // builds of q reach the unfiltered stream only; set and delete are pipeline events too
    REQUIRE(node.post("/pipelines/q/jobs/j/unpause").status == 200);
    node.trigger("q", "j");
    CHECK(all.wait(has("build", [](const json& d) { return d["pipeline"] == "q"; })));
    node.set_pipeline("q", "job \"j\" {\n" + task("t", "echo again") + "}\n");
    CHECK(all.wait(
        has("pipeline", [](const json& d) { return d["name"] == "q" && d["action"] == "set"; })));
    REQUIRE(node.del("/pipelines/q").status == 204);
    CHECK(all.wait(has(
        "pipeline", [](const json& d) { return d["name"] == "q" && d["action"] == "deleted"; })));
    node.set_pipeline("p", graph_pipeline);
    CHECK(only_p.wait(has("pipeline", [](const json& d) { return d["action"] == "set"; })));
    for (const auto& e : only_p.events()) {
      CAPTURE(e.data);
      if (e.type == "pipeline") CHECK(e.data["name"] == "p");
      if (e.type == "job" || e.type == "resource" || e.type == "build")
        CHECK(e.data["pipeline"] == "p");
    }

    sse_client unknown(url(node, "/events?pipeline=nope"), node.token());
    REQUIRE(unknown.wait_closed(10s));
    CHECK(unknown.status() == 404);
    sse_client anonymous(url(node, "/events?pipeline=p"), "");
    REQUIRE(anonymous.wait_closed(10s));
    CHECK(anonymous.status() == 401);
  }

  TEST_CASE("GET /events: a put's new version is a resource event") {
    runtime_node node;
    node.set_pipeline("p", stamp_type + "job \"j\" {\n  put \"stamp\" \"out\" {}\n}\n");
    sse_client events(url(node, "/events?pipeline=p"), node.token());
    REQUIRE(events.wait_open());
    auto b = node.trigger("p", "j");
    CHECK(node.wait_build("p", "j", b["number"])["status"] == "succeeded");
    CHECK(events.wait(has("resource", [](const json& d) {
      return d["resource"]["canonical"] == "stamp.out" &&
             d["latest_version"]["version"]["ref"] == "pushed";
    })));
  }
}
