// The stored records: each round trip, and how damaged records read back (a missing field takes
// its default, a field of the wrong type throws or is ignored exactly as restoring always did).
#include <doctest/doctest.h>

#include <stdexcept>

#include "persistence/records.hpp"

using namespace pikoci::persistence;
using nlohmann::json;

namespace {

pipeline_record full_record() {
  pipeline_record r;
  r.name = "p";
  r.text = "job \"a\" {}";
  r.vars = {{"env", "prod"}};
  r.created_at = "2026-11-23T10:00:00.000Z";
  r.updated_at = "2026-11-23T11:00:00.000Z";
  r.paused = true;
  r.mode = "group";
  r.group_template = "{{ .Job }}";
  r.cancel_running = true;
  r.git_secret = "s3cret";
  r.deliveries = {"d1", "d2"};
  r.jobs["a"] = {false, 7};
  r.jobs["b"] = {true, 0};
  r.resources["git.repo"] = {std::int64_t{3}, std::string("tok")};
  r.resources["cron.t"] = {std::nullopt, std::string("")};
  return r;
}

}  // namespace

TEST_SUITE("persistence.records") {
  TEST_CASE("a pipeline record reads back as written, in the stored shape") {
    auto r = full_record();
    auto j = to_json(r);
    CHECK(j["concurrency"] ==
          json{{"mode", "group"}, {"group_template", "{{ .Job }}"}, {"cancel_running", true}});
    CHECK(j["jobs"]["a"] == json{{"paused", false}, {"baseline", 7}});
    CHECK(j["resources"]["cron.t"] == json{{"pinned", nullptr}, {"webhook_token", ""}});
    CHECK(j["git_webhook"] == json{{"secret", "s3cret"}, {"deliveries", {"d1", "d2"}}});
    auto back = pipeline_from_json(json::parse(j.dump()));
    CHECK(back.name == "p");
    CHECK(back.text == r.text);
    CHECK(back.vars == r.vars);
    CHECK(back.created_at == r.created_at);
    CHECK(back.updated_at == r.updated_at);
    CHECK(back.paused);
    CHECK(back.mode == "group");
    CHECK(back.group_template == "{{ .Job }}");
    CHECK(back.cancel_running);
    CHECK(back.git_secret == "s3cret");
    CHECK(back.deliveries == std::vector<std::string>{"d1", "d2"});
    CHECK(job_settings_of(back, "a").paused == false);
    CHECK(job_settings_of(back, "a").baseline == 7);
    CHECK(job_settings_of(back, "b").paused == true);
    CHECK(resource_settings_of(back, "git.repo").pinned == 3);
    CHECK(resource_settings_of(back, "git.repo").webhook_token == "tok");
    CHECK_FALSE(resource_settings_of(back, "cron.t").pinned);
    CHECK(to_json(back) == j);
  }

  TEST_CASE("missing pipeline fields take their defaults") {
    auto r = pipeline_from_json({{"jobs", json::object()}, {"resources", json::object()}});
    CHECK(r.text.empty());
    CHECK(r.vars == json::object());
    CHECK(r.created_at.empty());
    CHECK_FALSE(r.paused);
    CHECK(r.mode.empty());
    CHECK(r.group_template.empty());
    CHECK_FALSE(r.cancel_running);
    CHECK(r.git_secret.empty());
    CHECK(r.deliveries.empty());
    // a job or resource without settings: the pipeline's pause, baseline 0, a new token
    auto j = job_settings_of(r, "a");
    CHECK_FALSE(j.paused);
    CHECK(j.baseline == 0);
    auto res = resource_settings_of(r, "x.y");
    CHECK_FALSE(res.pinned);
    CHECK_FALSE(res.webhook_token);
    // an entry without the field
    auto partial = pipeline_from_json(
        {{"jobs", {{"a", {{"baseline", 4}}}}}, {"resources", {{"x.y", {{"pinned", 2}}}}}});
    CHECK_FALSE(job_settings_of(partial, "a").paused);
    CHECK(job_settings_of(partial, "a").baseline == 4);
    CHECK(resource_settings_of(partial, "x.y").pinned == 2);
    CHECK_FALSE(resource_settings_of(partial, "x.y").webhook_token);
  }

  TEST_CASE("damaged pipeline fields read back as restoring always read them") {
    // times that are not text: "" (the owner uses now)
    auto times = pipeline_from_json({{"created_at", 5}, {"updated_at", nullptr}});
    CHECK(times.created_at.empty());
    CHECK(times.updated_at.empty());
    // vars of any JSON type are kept
    CHECK(pipeline_from_json({{"vars", 3}}).vars == 3);
    // a git_webhook that is not an object is ignored; delivery ids that are not text skipped
    CHECK(pipeline_from_json({{"git_webhook", "x"}}).git_secret.empty());
    auto git = pipeline_from_json({{"git_webhook", {{"deliveries", {"a", 1, nullptr, "b"}}}}});
    CHECK(git.deliveries == std::vector<std::string>{"a", "b"});
    // a pin that is not a number: not pinned
    auto pin = pipeline_from_json({{"resources", {{"x.y", {{"pinned", "3"}}}}}});
    CHECK_FALSE(resource_settings_of(pin, "x.y").pinned);
    // wrong types of other top-level fields throw, as does a document that is not an object
    CHECK_THROWS_AS(pipeline_from_json({{"text", 1}}), std::exception);
    CHECK_THROWS_AS(pipeline_from_json({{"paused", "yes"}}), std::exception);
    CHECK_THROWS_AS(pipeline_from_json({{"concurrency", "serial"}}), std::exception);
    CHECK_THROWS_AS(pipeline_from_json({{"concurrency", {{"mode", 1}}}}), std::exception);
    CHECK_THROWS_AS(pipeline_from_json({{"git_webhook", {{"secret", 1}}}}), std::exception);
    CHECK_THROWS_AS(pipeline_from_json(json::array()), std::exception);
    // what loading needs before the whole record: the text and vars alone
    CHECK(pipeline_text({{"text", "job"}, {"paused", "yes"}}) == "job");
    CHECK(pipeline_text(json::object()).empty());
    CHECK_THROWS_AS(pipeline_text({{"text", 1}}), std::exception);
    CHECK(pipeline_vars({{"vars", 3}}) == 3);
    CHECK(pipeline_vars(json::object()) == json::object());
  }

  TEST_CASE("damaged job and resource settings fail only for the names asked for") {
    auto r = pipeline_from_json(
        {{"jobs", {{"a", {{"paused", 1}}}, {"b", {{"paused", true}}}, {"c", "x"}}},
         {"resources", {{"x.y", {{"webhook_token", 5}}}, {"x.z", {{"pinned", 1}}}}}});
    CHECK_THROWS_AS(job_settings_of(r, "a"), std::exception);
    CHECK_THROWS_AS(job_settings_of(r, "c"), std::exception);
    CHECK(job_settings_of(r, "b").paused == true);
    CHECK_THROWS_AS(resource_settings_of(r, "x.y"), std::exception);
    CHECK(resource_settings_of(r, "x.z").pinned == 1);
    // without the member at all, every name fails (the settings were lost)
    auto none = pipeline_from_json(json::object());
    CHECK_THROWS_WITH(job_settings_of(none, "a"),
                      "[json.exception.type_error.306] cannot use value() with null");
    CHECK_THROWS_AS(resource_settings_of(none, "x.y"), std::exception);
  }

  TEST_CASE("version records round trip and need every field") {
    version_entry v{12, "git.repo", {{"ref", "abc"}}, "2026-11-23T10:00:00.000Z"};
    auto j = to_json(v);
    CHECK(j == json{{"id", 12},
                    {"resource", "git.repo"},
                    {"version", {{"ref", "abc"}}},
                    {"created_at", "2026-11-23T10:00:00.000Z"}});
    auto back = version_from_json(j);
    CHECK(back.id == 12);
    CHECK(back.resource == "git.repo");
    CHECK(back.version == v.version);
    CHECK(back.created_at == v.created_at);
    for (const char* field : {"id", "resource", "version", "created_at"}) {
      auto damaged = j;
      damaged.erase(field);
      CHECK_THROWS_AS(version_from_json(damaged), std::exception);
    }
    auto wrong = j;
    wrong["id"] = "12";
    CHECK_THROWS_AS(version_from_json(wrong), std::exception);
  }

  TEST_CASE("usage records round trip and need every field") {
    usage_entry u{"deploy", false, true, {{"src", 3}, {"lib", 1}}};
    auto j = to_json(u);
    CHECK(j == json{{"job", "deploy"},
                    {"pending", false},
                    {"passed", true},
                    {"gets", {{"lib", 1}, {"src", 3}}}});
    auto back = usage_from_json(j);
    CHECK(back.job == "deploy");
    CHECK_FALSE(back.pending);
    CHECK(back.passed);
    CHECK(back.gets == u.gets);
    for (const char* field : {"job", "pending", "passed", "gets"}) {
      auto damaged = j;
      damaged.erase(field);
      CHECK_THROWS_AS(usage_from_json(damaged), std::exception);
    }
    auto wrong = j;
    wrong["gets"] = {{"src", "x"}};
    CHECK_THROWS_AS(usage_from_json(wrong), std::exception);
  }

  TEST_CASE("check records round trip; damaged ones read as never checked") {
    check_entry c{std::string("2026-11-23T10:00:00.000Z"), std::string("boom")};
    auto j = to_json(c);
    CHECK(j == json{{"last_check_at", "2026-11-23T10:00:00.000Z"}, {"check_error", "boom"}});
    auto back = check_from_json(j);
    CHECK(back.last_check_at == c.last_check_at);
    CHECK(back.check_error == "boom");
    auto ok = check_from_json({{"last_check_at", "t"}, {"check_error", nullptr}});
    CHECK(ok.last_check_at == "t");
    CHECK_FALSE(ok.check_error);
    CHECK_FALSE(check_from_json({{"last_check_at", "t"}, {"check_error", 1}}).check_error);
    // not checked: the error is not read either
    auto never = check_from_json({{"last_check_at", 1}, {"check_error", "boom"}});
    CHECK_FALSE(never.last_check_at);
    CHECK_FALSE(never.check_error);
    CHECK_FALSE(check_from_json(json(nullptr)).last_check_at);
    CHECK_FALSE(check_from_json(json::array()).last_check_at);
  }
}
