// Notifications as the outbox carries them (actors/model/notification.hpp): which notifications
// fire for a build, how their messages and requests are rendered, the stored form, and the
// backoff between attempts.

#include <doctest/doctest.h>

#include <set>

#include "actors/model/notification.hpp"
#include "config/pipeline/load.hpp"

using namespace pikoci;
using model::build_status;
using nlohmann::json;

namespace {

pipeline::pipeline_config load_ok(const std::string& src) {
  auto r = pipeline::load("p.hcl", src, {});
  INFO(r.diags.format("p.hcl"));
  REQUIRE(r.config.has_value());
  return std::move(*r.config);
}

model::build_record build_of(const std::string& job, build_status st) {
  model::build_record b;
  b.id = 17;
  b.pipeline = "p";
  b.job = job;
  b.number = "3";
  b.status = st;
  b.reason = st == build_status::failed ? "step \"t\" failed: exit status 1" : "";
  return b;
}

const char* jobs_hcl = R"(
job "build" {}
job "deploy" {
  for_each = toset(["eu", "us"])
}
)";

}  // namespace

TEST_SUITE("model.notification") {
  TEST_CASE("built-in http, slack and discord types need no notification_type declaration") {
    auto cfg = load_ok(std::string(jobs_hcl) + R"(
notification "http" "hook" {
  params { url = "http://127.0.0.1:1/x" }
  on = ["all"]
}
notification "slack" "team" {
  params { webhook_url = "https://hooks.slack.com/services/T/B/X" }
  on = ["failure"]
}
notification "discord" "ops" {
  params { webhook_url = "https://discord.com/api/webhooks/1/abc" }
  on = ["success"]
}
)");
    CHECK(model::delivery_kind(cfg, "http") == "http");
    CHECK(model::delivery_kind(cfg, "slack") == "slack");
    CHECK(model::delivery_kind(cfg, "discord") == "discord");
  }

  TEST_CASE("a declared type with a notify command replaces the built-in; a source names one") {
    auto cfg = load_ok(std::string(jobs_hcl) + R"(
notification_type "slack" {
  notify "exec" {
    path = "echo"
    args = ["$NOTIFY_MESSAGE"]
  }
}
notification_type "chat" {
  source = "pikoci://discord"
}
notification "slack" "team" { on = ["all"] }
notification "chat" "ops" {
  params { webhook_url = "http://127.0.0.1:1/d" }
  on = ["all"]
}
)");
    CHECK(model::delivery_kind(cfg, "slack") == "");
    CHECK(model::delivery_kind(cfg, "chat") == "discord");
    auto ms = model::automatic_notifications(cfg, build_of("build", build_status::succeeded), {});
    REQUIRE(ms.size() == 1);  // the command type is not the outbox's
    CHECK(ms[0].notification == "chat.ops");
    CHECK(json::parse(ms[0].body) == json{{"content", "Build p/build #3 succeeded"}});
  }

  TEST_CASE("an unknown notification type is still an error") {
    auto r = pipeline::load("p.hcl", std::string(jobs_hcl) + R"(
notification "pager" "x" { on = ["all"] }
)",
                            {});
    CHECK_FALSE(r.config.has_value());
  }

  TEST_CASE("final statuses map to events: success, failure, cancel; skipped fires nothing") {
    CHECK(model::event_of(build_status::succeeded) == "success");
    CHECK(model::event_of(build_status::failed) == "failure");
    CHECK(model::event_of(build_status::warning) == "failure");
    CHECK(model::event_of(build_status::errored) == "failure");
    CHECK(model::event_of(build_status::cancelled) == "cancel");
    CHECK(model::event_of(build_status::skipped) == "");
    CHECK(model::event_of(build_status::started) == "");
  }

  TEST_CASE("on, jobs and exclude decide which builds fire; for_each groups name instances") {
    auto cfg = load_ok(std::string(jobs_hcl) + R"(
notification "http" "all" {
  params { url = "http://h/a" }
  on = ["all"]
}
notification "http" "failures" {
  params { url = "http://h/f" }
  on = ["failure", "cancel"]
}
notification "http" "deploys" {
  params { url = "http://h/d" }
  on = ["success"]
  jobs = ["deploy"]
}
notification "http" "not-eu" {
  params { url = "http://h/n" }
  on = ["all"]
  exclude = ["deploy--eu"]
}
notification "http" "manual" {
  params { url = "http://h/m" }
}
)");
    auto names = [&](const std::string& job, build_status st) {
      std::vector<std::string> out;
      for (const auto& m : model::automatic_notifications(cfg, build_of(job, st), {}))
        out.push_back(m.notification);
      return out;
    };
    using v = std::vector<std::string>;
    CHECK(names("build", build_status::succeeded) == v{"http.all", "http.not-eu"});
    CHECK(names("build", build_status::failed) == v{"http.all", "http.failures", "http.not-eu"});
    CHECK(names("build", build_status::cancelled) == v{"http.all", "http.failures", "http.not-eu"});
    CHECK(names("deploy--eu", build_status::succeeded) == v{"http.all", "http.deploys"});
    CHECK(names("deploy--us", build_status::succeeded) ==
          v{"http.all", "http.deploys", "http.not-eu"});
    CHECK(names("build", build_status::skipped).empty());
  }

  TEST_CASE("messages expand $VAR and ${VAR}, unknown ones empty, and a literal \\n") {
    std::map<std::string, std::string> env{{"BUILD_JOB_NAME", "unit"}, {"BUILD_NUMBER", "3"}};
    CHECK(model::expand_message("$BUILD_JOB_NAME #${BUILD_NUMBER}\\nnext: $NOPE.", env) ==
          "unit #3\nnext: .");
    CHECK(model::expand_message("cost: 5$ and ${unclosed", env) == "cost: 5$ and ${unclosed");
    auto b = build_of("build", build_status::failed);
    b.input_values["env"] = "prod";
    b.inputs.push_back({"src", "git.src", 5, json{{"ref", "abc"}}});
    auto full = model::message_env(b);
    CHECK(full["notify_build_status"] == "failed");
    CHECK(full["BUILD_STATUS"] == "failed");
    CHECK(full["BUILD_PIPELINE_NAME"] == "p");
    CHECK(full["INPUT_env"] == "prod");
    CHECK(full["GET_SRC_REF"] == "abc");
  }

  TEST_CASE("http, slack and discord bodies; the id is stable; base_url replaces the host") {
    auto cfg = load_ok(std::string(jobs_hcl) + R"(
notification "http" "hook" {
  params {
    url      = "https://example.com/hooks/ci?x=1"
    base_url = "http://127.0.0.1:8099/"
  }
  message = "$BUILD_PIPELINE_NAME/$BUILD_JOB_NAME #$BUILD_NUMBER: $notify_build_status"
  on = ["all"]
}
notification "slack" "team" {
  params { webhook_url = "https://hooks.slack.com/services/T/B/X" }
  message = "line one\nline two"
  on = ["all"]
}
notification "discord" "nourl" { on = ["all"] }
)");
    auto b = build_of("build", build_status::failed);
    auto ms = model::automatic_notifications(cfg, b, model::parse_time("2026-11-23T10:00:00.000Z"));
    REQUIRE(ms.size() == 3);
    const auto& http = ms[0];
    CHECK(http.id == "n-17-http.hook");
    CHECK(http.kind == "http");
    CHECK(http.url == "http://127.0.0.1:8099/hooks/ci?x=1");
    auto body = json::parse(http.body);
    CHECK(body["id"] == http.id);
    CHECK(body["pipeline"] == "p");
    CHECK(body["job"] == "build");
    CHECK(body["build"] == json{{"id", 17},
                                {"number", "3"},
                                {"status", "failed"},
                                {"reason", "step \"t\" failed: exit status 1"}});
    CHECK(body["event"] == "failure");
    CHECK(body["status"] == "failed");
    CHECK(body["message"] == "p/build #3: failed");
    // the same build and notification always give the same id
    CHECK(model::automatic_notifications(cfg, b, {})[0].id == http.id);
    CHECK(json::parse(ms[1].body) == json{{"text", "line one\nline two"}});
    CHECK(ms[1].url == "https://hooks.slack.com/services/T/B/X");
    CHECK(ms[2].status == model::delivery_status::failed);
    CHECK(ms[2].last_error == "notification \"discord.nourl\" has no webhook_url param");
    pipeline::notification secret;
    secret.canonical = "slack.s";
    secret.params["webhook_url"] = "__pikoci_secret:vault:kv/ci:slack__";
    auto s = model::render(secret, "slack", b, "failure", std::nullopt, {});
    CHECK(s.status == model::delivery_status::failed);
    CHECK(s.last_error ==
          "notification \"slack.s\": the server does not resolve secret-backed params of built-in "
          "types");
  }

  TEST_CASE("the stored record reads back the same message") {
    model::notification_message m;
    m.id = "n-1-http.x";
    m.pipeline = "p";
    m.job = "j";
    m.build_id = 1;
    m.build_number = "1";
    m.notification = "http.x";
    m.kind = "http";
    m.url = "http://h/x";
    m.body = R"({"a":1})";
    m.created_at = model::parse_time("2026-11-23T10:00:00.000Z");
    m.attempts = 3;
    m.next_attempt_at = model::parse_time("2026-11-23T10:00:05.250Z");
    m.last_error = "HTTP status 500";
    auto back = model::notification_message::from_record(m.to_record());
    CHECK(back.id == m.id);
    CHECK(back.url == m.url);
    CHECK(back.body == m.body);
    CHECK(back.attempts == 3);
    CHECK(back.next_attempt_at == m.next_attempt_at);
    CHECK(back.last_error == m.last_error);
    CHECK(back.status == model::delivery_status::pending);
    CHECK(back.to_json() == m.to_json());
    CHECK_THROWS(model::notification_message::from_record(R"({"type":"build"})"));
  }

  TEST_CASE("backoff doubles from the base up to the cap, with full jitter below the ceiling") {
    model::backoff_policy p;  // 1 s, ×2, 5 min
    using ms = std::chrono::milliseconds;
    CHECK(p.ceiling(1) == ms(1000));
    CHECK(p.ceiling(2) == ms(2000));
    CHECK(p.ceiling(5) == ms(16000));
    CHECK(p.ceiling(9) == ms(256000));
    CHECK(p.ceiling(10) == ms(300000));
    CHECK(p.ceiling(5000) == ms(300000));
    std::mt19937_64 rng(42);
    for (int attempts : {1, 3, 12}) {
      std::set<std::int64_t> seen;
      for (int i = 0; i < 500; ++i) {
        auto d = p.delay(attempts, rng);
        CHECK(d >= ms(1));
        CHECK(d <= p.ceiling(attempts));
        seen.insert(d.count());
      }
      CHECK(seen.size() > 100);  // spread out, not a fixed delay
    }
    model::backoff_policy tiny{ms(10), 2.0, ms(40)};
    CHECK(tiny.ceiling(4) == ms(40));
  }
}
