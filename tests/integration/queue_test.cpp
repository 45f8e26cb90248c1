// The execution queue through the API (SPEC §6): admission under concurrent triggers, FIFO,
// concurrency rules with `blocked_by`, and the SIGQUIT drain.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

std::string sleeper(const std::string& job, const std::string& seconds) {
  return "job \"" + job +
         "\" {\n  input \"env\" {\n    type = string\n    default = \"dev\"\n  }\n"
         "  task \"sleep\" {\n    run \"exec\" {\n      path = \"/bin/sleep\"\n      args = [\"" +
         seconds + "\"]\n    }\n  }\n}\n";
}

}  // namespace

TEST_SUITE("integration.queue") {
  TEST_CASE("queue: 50 concurrent triggers into 1 slot and 5 places: exactly 6 accepted") {
    runtime_node node({"--concurrency", "1", "--max-in-flight", "1", "--max-queue-size", "5"});
    node.set_pipeline("q", sleeper("slow", "30"));
    std::vector<std::thread> threads;
    std::vector<http_response> replies(50);
    for (int i = 0; i < 50; ++i)
      threads.emplace_back([&, i] { replies[i] = node.post("/pipelines/q/jobs/slow/trigger"); });
    for (auto& t : threads) t.join();
    int created = 0, full = 0;
    for (const auto& r : replies) {
      if (r.status == 201) ++created;
      if (r.status == 503) {
        ++full;
        CHECK(r.json()["error"]["code"] == "queue_full");
        CHECK(r.headers.count("retry-after") == 1);
      }
    }
    CHECK(created == 6);
    CHECK(full == 44);
    // nothing else was created: 6 builds, numbered 1..6
    auto builds = node.builds("q", "slow");
    CHECK(builds.size() == 6);
    CHECK(numbers_of(builds) == "6,5,4,3,2,1");
    auto queue = node.get("/queue").json();
    CHECK(queue["in_flight"] == 1);
    CHECK(queue["queued"] == 5);
    for (const auto& p : queue["pending"]) CHECK(p["blocked_by"] == "max_in_flight");
    CHECK(node.healthy());
  }

  TEST_CASE("queue: builds start in the order they were triggered") {
    runtime_node node({"--concurrency", "1", "--max-in-flight", "1"});
    node.set_pipeline("f", sleeper("a", "0.1") + sleeper("b", "0.1"));
    for (const char* j : {"a", "b", "a", "b", "a"}) node.trigger("f", j);
    auto a = node.wait_builds("f", "a", 3), b = node.wait_builds("f", "b", 2);
    std::vector<std::pair<std::int64_t, std::string>> starts;  // id, started_at
    for (const auto* list : {&a, &b})
      for (const auto& x : *list)
        starts.emplace_back(x["id"].get<std::int64_t>(), x["started_at"].get<std::string>());
    std::sort(starts.begin(), starts.end());
    for (std::size_t i = 1; i < starts.size(); ++i) CHECK(starts[i - 1].second <= starts[i].second);
  }

  TEST_CASE("queue: group mode through the API and the client; template errors are 400") {
    runtime_node node({"--concurrency", "4"});
    node.set_pipeline("g", sleeper("deploy", "30"));
    auto bad = node.put("/pipelines/g/concurrency",
                        json{{"mode", "group"}, {"group_template", "{{if .Job}}"}}.dump());
    CHECK(bad.status == 400);
    CHECK(bad.json()["error"]["message"].get<std::string>().find("missing {{end}}") !=
          std::string::npos);
    CHECK(node.put("/pipelines/g/concurrency",
                   json{{"mode", "serial"}, {"cancel_running", true}}.dump())
              .status == 400);
    auto set = run_command({node_binary(), "client", "--url", node.server().url(), "--token",
                            node.token(), "pipelines", "concurrency", "g", "group",
                            "--group-template", "deploy-{{index .Inputs \"env\"}}"});
    REQUIRE_MESSAGE(set.exit_code == 0, set.output);
    auto trigger = [&](const std::string& env) {
      auto r =
          node.post("/pipelines/g/jobs/deploy/trigger", json{{"inputs", {{"env", env}}}}.dump());
      REQUIRE(r.status == 201);
      return r.json()["build"];
    };
    CHECK(trigger("prod")["concurrency_group"] == "deploy-prod");
    trigger("prod");
    trigger("staging");  // another group: starts although an earlier build waits
    node.wait_started("g", "deploy", "1");
    node.wait_started("g", "deploy", "3");
    auto queue = node.get("/queue").json();
    REQUIRE(queue["pending"].size() == 1);
    CHECK(queue["pending"][0]["blocked_by"] == "group:deploy-prod");
    CHECK(queue["pending"][0]["build"]["number"] == "2");
    auto waiting = node.get("/pipelines/g/jobs/deploy/builds/2").json()["build"];
    CHECK(waiting["status"] == "pending");
    CHECK(waiting["blocked_by"] == "group:deploy-prod");
    auto get = node.get("/pipelines/g").json()["pipeline"]["concurrency"];
    CHECK(get["mode"] == "group");
  }

  TEST_CASE("queue: SIGQUIT drains: queued builds finish, new triggers get 503, exit 0") {
    runtime_node node({"--concurrency", "1", "--max-in-flight", "1"});
    node.set_pipeline("d", sleeper("job", "0.5"));
    for (int i = 0; i < 3; ++i) node.trigger("d", "job");
    node.wait_started("d", "job", "1");
    kill(node.server().process().pid(), SIGQUIT);
    // the queue itself says when it refuses new builds (the node logs its intent a moment earlier)
    REQUIRE(node.server().process().wait_for_line("event=queue.draining", 5s));
    auto refused = node.post("/pipelines/d/jobs/job/trigger");
    CHECK(refused.status == 503);
    CHECK(refused.json()["error"]["code"] == "draining");
    CHECK(refused.headers.count("retry-after") == 1);
    auto code = node.server().process().wait_exit(20s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    auto out = node.server().process().output();
    for (const char* n :
         {"number=1 status=succeeded", "number=2 status=succeeded", "number=3 status=succeeded"})
      CHECK_MESSAGE(out.find(n) != std::string::npos, n);
    CHECK(out.find("event=node.drained complete=true") != std::string::npos);
  }
}
