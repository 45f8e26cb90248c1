// `on_trigger` notify hooks (reference §1.9, docs/notifications.md): which jobs a triggering
// version reaches through `passed` chains, and the message a hook of a built-in type renders
// (no build yet: BUILD_NUMBER empty, version_<k> of the version, notify_<k> of the step).
#include <doctest/doctest.h>

#include "actors/model/notification.hpp"
#include "actors/server/resolve.hpp"
#include "config/pipeline/load.hpp"
#include "tests/unit/server/plan_fixture.hpp"

using namespace pikoci;
using nlohmann::json;
using pikoci::test::load;

namespace {

std::string names(const std::vector<const pipeline::job*>& jobs) {
  std::string out;
  for (const auto* j : jobs) out += (out.empty() ? "" : ",") + j->name;
  return out;
}

// a → b → c through `passed` (c's get has no trigger: still reached), d apart, e passed from d
const char* chain_hcl = R"(
resource_type "t" {
  check "shell" { cmd = "echo '[]'" }
}
resource "t" "src" {}
resource "t" "other" {}
job "a" {
  get "t" "src" { trigger = true }
}
job "b" {
  get "t" "src" {
    trigger = true
    passed  = ["a"]
  }
}
job "c" {
  get "t" "src" { passed = ["b"] }
}
job "d" {
  get "t" "other" { trigger = true }
}
job "e" {
  get "t" "other" {
    trigger = true
    passed  = ["d"]
  }
}
)";

}  // namespace

TEST_SUITE("server.on_trigger") {
  TEST_CASE("a version reaches the jobs it triggers and, transitively, those passed from them") {
    auto cfg = load(chain_hcl);
    CHECK(names(server::reachable_jobs(cfg, {"a"})) == "a,b,c");
    CHECK(names(server::reachable_jobs(cfg, {"b"})) == "b,c");
    CHECK(names(server::reachable_jobs(cfg, {"d"})) == "d,e");
    CHECK(names(server::reachable_jobs(cfg, {"a", "d"})) == "a,b,c,d,e");
    CHECK(names(server::reachable_jobs(cfg, {})).empty());
    CHECK(names(server::reachable_jobs(cfg, {"gone"})).empty());
  }

  TEST_CASE("a passed list naming several jobs is reached from any of them") {
    auto cfg = load(R"(
resource_type "t" {
  check "shell" { cmd = "echo '[]'" }
}
resource "t" "src" {}
job "a" {
  get "t" "src" { trigger = true }
}
job "x" {
  get "t" "src" { trigger = true }
}
job "both" {
  get "t" "src" {
    trigger = true
    passed  = ["a", "x"]
  }
}
)");
    CHECK(names(server::reachable_jobs(cfg, {"x"})) == "x,both");
  }

  TEST_CASE("an on_trigger hook renders with the version's variables and an empty build number") {
    auto cfg = load(R"(
job "a" {
  on_trigger {
    notify "http" "hook" {
      status  = "queued"
      message = "$BUILD_PIPELINE_NAME/$BUILD_JOB_NAME #[$BUILD_NUMBER] $notify_status $version_ref"
    }
    notify "slack" "team" { status = "queued" }
  }
}
notification "http" "hook" {
  params { url = "http://ci.example.com/in" }
}
notification "slack" "team" {
  params {
    webhook_url = "https://hooks.slack.com/services/X"
    base_url    = "http://127.0.0.1:9"
  }
  message = "$BUILD_JOB_NAME queued by $${version_ref}/$${version_meta_sha}"
}
)");
    const auto& job = *cfg.find_job("a");
    REQUIRE(job.on_trigger.size() == 2);
    model::trigger_event t{"p", "a", "t.src", 42,
                           json{{"ref", "abc123"}, {"meta", {{"sha", "f0"}}}}};
    auto env = model::trigger_env(t, job.on_trigger[0].params);
    CHECK(env.at("BUILD_NUMBER").empty());
    CHECK(env.at("BUILD_JOB_NAME") == "a");
    CHECK(env.at("version_ref") == "abc123");
    CHECK(env.at("notify_status") == "queued");

    auto now = model::parse_time("2026-11-23T10:00:00.000Z");
    const auto& hook = *cfg.find_notification("http.hook");
    auto m = model::render_trigger(hook, "http", t, job.on_trigger[0], 0, now);
    CHECK(m.id == "t-t.src-42-a-0");
    CHECK(m.status == model::delivery_status::pending);
    CHECK(m.url == "http://ci.example.com/in");
    CHECK(m.build_id == 0);
    CHECK(m.build_number.empty());
    CHECK(m.created_at == now);
    auto body = json::parse(m.body);
    CHECK(body["id"] == m.id);
    CHECK(body["message"] == "p/a #[] queued abc123");
    CHECK(body["event"] == "trigger");
    CHECK(body["build"].is_null());
    CHECK(body["params"]["status"] == "queued");
    CHECK(body["trigger"]["resource"] == "t.src");
    CHECK(body["trigger"]["version_id"] == 42);
    CHECK(body["trigger"]["version"]["ref"] == "abc123");

    auto s = model::render_trigger(*cfg.find_notification("slack.team"), "slack", t,
                                   job.on_trigger[1], 1, now);
    CHECK(s.id == "t-t.src-42-a-1");
    CHECK(s.url == "http://127.0.0.1:9/services/X");
    CHECK(json::parse(s.body) == json{{"text", "a queued by abc123/f0"}});
  }

  TEST_CASE("without a message an on_trigger hook says which version triggers which job") {
    pipeline::notification n;
    n.canonical = "http.h";
    pipeline::step s;
    s.params["status"] = "queued";
    model::trigger_event t{"p", "deploy", "git.repo", 7, json{{"ref", "v1"}}};
    auto m = model::render_trigger(n, "http", t, s, 0, {});
    // no url: recorded failed at once, like any message of a built-in type
    CHECK(m.status == model::delivery_status::failed);
    CHECK(m.last_error == "notification \"http.h\" has no url param");
    CHECK(json::parse(m.body)["message"] == "Version 7 of git.repo triggers p/deploy");
  }
}
