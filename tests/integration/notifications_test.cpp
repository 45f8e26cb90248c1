// Notifications through the outbox (docs/notifications.md), with the real binary and a local
// HTTP receiver: retried with the same id until the receiver accepts, given up after the retry
// limit (visible through the API, retried on request), kept across a kill -9 with RocksDB
// while the receiver is down, and sent by `on_trigger` hooks before the triggered builds exist.
#include <doctest/doctest.h>

#include <csignal>
#include <map>
#include <set>
#include <thread>

#include "tests/support/http_receiver.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// A job that succeeds and a notification to `url` on every build end.
std::string notifying_pipeline(const std::string& url) {
  return replace_all(R"hcl(
job "unit" {
  task "t" {
    run "shell" { cmd = "echo hi" }
  }
}
notification "http" "hook" {
  params { url = "@URL@" }
  message = "$BUILD_PIPELINE_NAME/$BUILD_JOB_NAME #$BUILD_NUMBER $notify_build_status"
  on = ["all"]
}
)hcl",
                     "@URL@", url);
}

/// The notifications the API lists with `query` ("?status=..."); empty when the route fails.
json notifications(runtime_node& node, const std::string& query = "") {
  auto r = node.get("/notifications" + query);
  if (r.status != 200) return json::array();
  return r.json()["notifications"];
}

/// Every request carried the same delivery id and idempotency key, `id`.
void check_same_id(const std::vector<received_request>& got, const std::string& id) {
  for (const auto& r : got) {
    CHECK(r.method == "POST");
    CHECK(r.headers.at("x-pikoci-delivery") == id);
    CHECK(r.headers.at("idempotency-key") == id);
    CHECK(r.headers.at("content-type") == "application/json");
    CHECK(json::parse(r.body)["id"] == id);
  }
}

}  // namespace

TEST_SUITE("integration.notifications") {
  TEST_CASE("a notification is retried with the same id until the receiver accepts it") {
    http_receiver receiver;
    receiver.fail_next(2);
    runtime_node node({"--notify-backoff-base", "50ms"});
    node.set_pipeline("p", notifying_pipeline(receiver.url("/hook")));
    auto build = node.trigger("p", "unit");
    node.wait_build("p", "unit", "1");
    REQUIRE_MESSAGE(
        eventually([&] { return notifications(node, "?status=delivered").size() == 1; }),
        node.tail());
    auto got = receiver.requests();
    REQUIRE(got.size() == 3);
    CHECK(got[0].answered == 500);
    CHECK(got[1].answered == 500);
    CHECK(got[2].answered == 200);
    auto id = "n-" + std::to_string(build["id"].get<std::int64_t>()) + "-http.hook";
    check_same_id(got, id);
    CHECK(got[2].path == "/hook");
    auto body = json::parse(got[2].body);
    CHECK(body["pipeline"] == "p");
    CHECK(body["job"] == "unit");
    CHECK(body["build"]["number"] == "1");
    CHECK(body["build"]["status"] == "succeeded");
    CHECK(body["event"] == "success");
    CHECK(body["message"] == "p/unit #1 succeeded");
    auto n = notifications(node)[0];
    CHECK(n["id"] == id);
    CHECK(n["status"] == "delivered");
    CHECK(n["attempts"] == 3);
    CHECK(n["kind"] == "http");
    CHECK(n["notification"] == "http.hook");
    CHECK(n["build_id"] == build["id"]);
    CHECK(n["delivered_at"].is_string());
    std::this_thread::sleep_for(200ms);
    CHECK(receiver.requests().size() == 3);  // nothing after the 200
  }

  TEST_CASE("after the retry limit a notification is failed in the API and can be retried") {
    http_receiver receiver;
    receiver.fail_next(1000, 503);
    runtime_node node({"--notify-backoff-base", "20ms", "--notify-max-attempts", "3"});
    node.set_pipeline("p", notifying_pipeline(receiver.url("/hook")));
    node.trigger("p", "unit");
    REQUIRE_MESSAGE(eventually([&] { return notifications(node, "?status=failed").size() == 1; }),
                    node.tail());
    auto n = notifications(node, "?status=failed")[0];
    CHECK(n["attempts"] == 3);
    CHECK(n["last_error"] == "HTTP status 503");
    CHECK(n["next_attempt_at"].is_null());
    CHECK(notifications(node, "?status=pending").empty());
    std::this_thread::sleep_for(200ms);
    CHECK(receiver.requests().size() == 3);
    auto metrics = http_get(node.server().url() + "/metrics").body;
    CHECK(metrics.find("pikoci_notifications_total{status=\"failed\"} 1\n") != std::string::npos);
    CHECK(metrics.find("pikoci_notification_outbox{status=\"failed\"} 1\n") != std::string::npos);
    // bad requests and unknown ids
    CHECK(node.get("/notifications?status=lost").status == 400);
    CHECK(node.post("/notifications/nope/retry").status == 404);
    CHECK(node.call("POST", "/notifications/x/retry", "", user_token("read")).status == 403);
    // a retry on request goes out with the same id
    receiver.fail_next(0);
    auto id = n["id"].get<std::string>();
    auto r = node.post("/notifications/" + id + "/retry");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(node.post("/notifications/" + id + "/retry").status == 409);  // pending again, not failed
    REQUIRE_MESSAGE(
        eventually([&] { return notifications(node, "?status=delivered").size() == 1; }),
        node.tail());
    auto got = receiver.requests();
    CHECK(got.size() == 4);
    check_same_id(got, id);
  }

  TEST_CASE("notify steps and hooks of a built-in type are sent by the server when reached") {
    http_receiver receiver;
    runtime_node node;
    node.set_pipeline("p", replace_all(R"hcl(
job "unit" {
  notify "http" "hook" { stage = "start" }
  task "t" {
    run "shell" { cmd = "exit 1" }
  }
  on_failure {
    notify "http" "hook" {
      stage   = "failed"
      message = "#$BUILD_NUMBER is $BUILD_STATUS"
    }
  }
}
notification "http" "hook" {
  params { url = "@URL@" }
  message = "running"
}
)hcl",
                                       "@URL@", receiver.url("/n")));
    auto build = node.trigger("p", "unit");
    auto done = node.wait_build("p", "unit", "1");
    CHECK(done["status"] == "failed");
    CHECK(names_of(done["steps"]) == "hook,t");
    CHECK(done["steps"][0]["type"] == "notify");
    REQUIRE_MESSAGE(eventually([&] { return receiver.requests().size() == 2; }), node.tail());
    std::map<std::string, json> by_stage;
    std::set<std::string> ids;
    for (const auto& r : receiver.requests()) {
      auto body = json::parse(r.body);
      by_stage[body["params"]["stage"].get<std::string>()] = body;
      ids.insert(r.headers.at("x-pikoci-delivery"));
    }
    CHECK(ids.size() == 2);
    auto prefix = "n-" + std::to_string(build["id"].get<std::int64_t>()) + "-";
    for (const auto& id : ids) CHECK(id.rfind(prefix, 0) == 0);
    CHECK(by_stage["start"]["message"] == "running");
    CHECK(by_stage["start"]["build"]["status"] == "started");
    CHECK(by_stage["failed"]["message"] == "#1 is failed");
    CHECK(by_stage["failed"]["event"] == "failure");
    std::this_thread::sleep_for(200ms);
    CHECK(receiver.requests().size() == 2);  // no `on`: nothing automatic at the end
  }

  TEST_CASE("with RocksDB a notification survives a kill -9 while its receiver is down") {
    temp_dir dir;
    http_receiver receiver;
    auto url = receiver.url("/hook");
    receiver.stop();  // connections are refused from now on
    std::vector<std::string> args{"--db-system",
                                  "rocksdb",
                                  "--db-path",
                                  dir.file("db"),
                                  "--notify-backoff-base",
                                  "50ms",
                                  "--notify-backoff-cap",
                                  "200ms",
                                  "--notify-max-attempts",
                                  "1000"};
    std::string id;
    {
      runtime_node node(args);
      node.set_pipeline("p", notifying_pipeline(url));
      auto build = node.trigger("p", "unit");
      id = "n-" + std::to_string(build["id"].get<std::int64_t>()) + "-http.hook";
      node.wait_build("p", "unit", "1");
      json pending;
      REQUIRE_MESSAGE(eventually([&] {
                        auto ns = notifications(node, "?status=pending");
                        if (ns.size() != 1 || ns[0]["attempts"] < 2) return false;
                        pending = ns[0];
                        return true;
                      }),
                      node.tail());
      CHECK(pending["id"] == id);
      CHECK(pending["last_error"].is_string());
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    // still pending after the restart, and still retried while the receiver is down
    REQUIRE_MESSAGE(eventually([&] {
                      auto ns = notifications(node, "?status=pending");
                      return ns.size() == 1 && ns[0]["id"] == id;
                    }),
                    node.tail());
    receiver.fail_next(1);
    receiver.start();
    REQUIRE_MESSAGE(
        eventually([&] { return notifications(node, "?status=delivered").size() == 1; }),
        node.tail());
    auto got = receiver.requests();
    REQUIRE(got.size() >= 2);  // the 500, then the 200
    CHECK(got.back().answered == 200);
    check_same_id(got, id);
    CHECK(notifications(node, "?status=pending").empty());
    // delivered: gone from the store (with the next group commit), so a second restart sends
    // nothing again
    std::this_thread::sleep_for(300ms);
    node.server().process().stop(SIGKILL);
    runtime_node again(args);
    std::this_thread::sleep_for(500ms);
    CHECK(receiver.requests().size() == got.size());
    CHECK(notifications(again).empty());
  }

  TEST_CASE("a build orphaned by a kill -9 sends its failure notification at restart") {
    temp_dir dir;
    http_receiver receiver;
    std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db")};
    std::int64_t id = 0;
    {
      runtime_node node(args);
      node.set_pipeline("p", replace_all(R"hcl(
job "slow" {
  task "t" {
    run "shell" { cmd = "sleep 30" }
  }
}
notification "http" "hook" {
  params { url = "@URL@" }
  on = ["failure"]
}
)hcl",
                                         "@URL@", receiver.url("/n")));
      id = node.trigger("p", "slow")["id"].get<std::int64_t>();
      node.wait_started("p", "slow", "1");
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    REQUIRE_MESSAGE(eventually([&] { return receiver.requests().size() == 1; }), node.tail());
    auto got = receiver.requests();
    check_same_id(got, "n-" + std::to_string(id) + "-http.hook");
    auto body = json::parse(got[0].body);
    CHECK(body["build"]["status"] == "errored");
    CHECK(body["build"]["reason"] == "orphaned: server stopped during build");
    CHECK(body["event"] == "failure");
  }

  TEST_CASE("on_trigger hooks of reached jobs are sent before the version's builds are created") {
    temp_dir dir;
    dir.write("check", R"([{"ref":"abc123"}])"
                       "\n");
    http_receiver receiver;
    runtime_node node;
    node.set_pipeline("p", replace_all(replace_all(R"hcl(
resource_type "filever" {
  check "shell" {
    cmd = "cat @DIR@/check"
  }
  pull "shell" {
    cmd = "echo pulled $version_ref"
  }
}
resource "filever" "src" {
  check_interval = "@every 1h"
}
job "a" {
  get "filever" "src" { trigger = true }
  task "t" {
    run "shell" { cmd = "echo a" }
  }
  on_trigger {
    notify "http" "hook" { status = "queued" }
    notify "log" "team" { status = "queued" }
  }
}
job "b" {
  get "filever" "src" {
    trigger = true
    passed  = ["a"]
  }
  task "t" {
    run "shell" { cmd = "echo b" }
  }
  on_trigger {
    notify "http" "hook" {
      status  = "queued"
      message = "b too: $version_ref"
    }
  }
}
notification "http" "hook" {
  params { url = "@URL@" }
  message = "$BUILD_PIPELINE_NAME/$BUILD_JOB_NAME #[$BUILD_NUMBER] $notify_status ref=$version_ref"
}
notification_type "log" {
  notify "shell" { cmd = "echo $NOTIFY_MESSAGE" }
}
notification "log" "team" {}
)hcl",
                                                   "@URL@", receiver.url("/n")),
                                       "@DIR@", dir.path()));
    auto versions = node.wait_versions("p", "filever.src", 1);
    auto vid = std::to_string(versions[0]["id"].get<std::int64_t>());
    REQUIRE_MESSAGE(eventually([&] { return receiver.requests().size() == 2; }), node.tail());
    std::map<std::string, json> by_job;
    for (const auto& r : receiver.requests()) {
      auto body = json::parse(r.body);
      CHECK(r.headers.at("x-pikoci-delivery") == body["id"]);
      by_job[body["job"].get<std::string>()] = body;
    }
    REQUIRE(by_job.size() == 2);
    CHECK(by_job["a"]["id"] == "t-filever.src-" + vid + "-a-0");
    CHECK(by_job["a"]["message"] == "p/a #[] queued ref=abc123");
    CHECK(by_job["a"]["event"] == "trigger");
    CHECK(by_job["a"]["build"].is_null());
    CHECK(by_job["a"]["params"]["status"] == "queued");
    CHECK(by_job["a"]["trigger"]["version"]["ref"] == "abc123");
    // b is reached through `passed`: told when the version triggers a, not when b's build comes
    CHECK(by_job["b"]["id"] == "t-filever.src-" + vid + "-b-0");
    CHECK(by_job["b"]["message"] == "b too: abc123");

    auto a = node.wait_build("p", "a", "1");
    CHECK(a["status"] == "succeeded");
    auto b = node.wait_builds("p", "b", 1);
    CHECK(b[0]["status"] == "succeeded");
    // enqueued (their created_at) no later than the build the version triggered
    json sent;
    REQUIRE_MESSAGE(eventually([&] {
                      sent = notifications(node, "?status=delivered");
                      return sent.size() == 2;
                    }),
                    node.tail());
    for (const auto& n : sent) {
      CHECK(n["build_id"] == 0);
      CHECK(n["build_number"] == "");
      CHECK(n["created_at"].get<std::string>() <= a["created_at"].get<std::string>());
    }
    // a type with a notify command is not run for on_trigger yet: said in the log
    CHECK(node.server().process().tail(2000).find("event=notify.on_trigger_unsupported") !=
          std::string::npos);
    // the same version checked again triggers nothing and notifies nothing
    node.check("p", "filever.src");
    std::this_thread::sleep_for(500ms);
    CHECK(receiver.requests().size() == 2);
    CHECK(node.builds("p", "a").size() == 1);
  }
}
