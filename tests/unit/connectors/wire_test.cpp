// The Kafka wire codec: every message round-trips, the format is pinned, and hostile input only
// ever produces decode_error.
#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "connectors/kafka/wire.hpp"

using namespace pikoci;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

work::command_spec cmd(const std::string& script) {
  return work::command_spec{
      {"/bin/sh", {"-ec", "$cmd"}}, {{"cmd", script}, {"param_x", "1"}}, {"a1", "a 2"}, ""};
}

work::step_plan task(const std::string& name, const std::string& script) {
  work::step_plan s;
  s.kind = work::step_kind::task;
  s.name = name;
  s.command = cmd(script);
  return s;
}

/// A plan with every member set somewhere.
work::build_plan rich_plan() {
  work::build_plan p;
  p.build_id = 4242;
  p.attempt = 3;
  p.pipeline = "main";
  p.job = "build";
  p.number = "7.1";
  p.env = {{"BUILD_ID", "4242"}, {"BUILD_NAME", "7.1"}, {"EMPTY", ""}};
  p.timeout = 90min;

  work::service_plan db;
  db.name = "db";
  db.start = cmd("postgres");
  db.ready = cmd("pg_isready");
  db.interval = 250ms;
  db.timeout = 30s;
  db.stop = cmd("pg_ctl stop");
  work::service_plan bare;
  bare.name = "bare";
  bare.start = work::command_spec{{"/usr/bin/redis", {}}, {}, {}, ""};
  p.services = {db, bare};

  work::step_plan get;
  get.kind = work::step_kind::get;
  get.name = "repo";
  get.command = work::command_spec{{"git-resource", {"get", "$args"}}, {{"uri", "x"}}, {}, ""};
  get.version =
      json{{"ref", "abc"}, {"meta", {{"n", 1}, {"ok", true}, {"list", {1, 2.5, nullptr}}}}};
  get.attempts = 2;
  get.timeout = 5s;
  work::hook_plan on_fail;
  on_fail.kind = work::hook_kind::on_failure;
  on_fail.name = "0:on_failure";
  on_fail.steps = {task("notify", "echo failed")};
  get.hooks = {on_fail};

  work::step_plan unit = task("unit", "make test");
  unit.inputs = {"repo"};
  unit.outputs = {"reports", "bin"};
  unit.timeout = 10min;
  unit.attempts = 0;

  work::step_plan inner;
  inner.kind = work::step_kind::in_parallel;
  inner.name = "inner";
  inner.children = {task("i1", "true"), task("i2", "true")};
  inner.limit = 1;

  work::step_plan push;
  push.kind = work::step_kind::put;
  push.name = "image";
  push.command = cmd("docker push");
  work::hook_plan push_ok;
  push_ok.kind = work::hook_kind::on_success;
  push_ok.name = "1.2:on_success";
  push_ok.command = cmd("echo pushed");
  work::hook_plan push_ensure;
  push_ensure.kind = work::hook_kind::ensure;
  push_ensure.name = "1.2:ensure";
  push_ensure.steps = {task("cleanup", "rm -rf x")};
  push.hooks = {push_ok, push_ensure};

  work::step_plan par;
  par.kind = work::step_kind::in_parallel;
  par.name = "in_parallel";
  par.children = {unit, inner, push};
  par.limit = 2;
  par.fail_fast = true;

  work::step_plan noop;
  noop.kind = work::step_kind::task;
  noop.name = "noop";  // no command, no timeout

  p.steps = {get, par, noop};

  work::hook_plan job_cancel;
  job_cancel.kind = work::hook_kind::on_cancel;
  job_cancel.name = "on_cancel";
  job_cancel.command = cmd("echo cancelled");
  work::hook_plan job_ensure;
  job_ensure.kind = work::hook_kind::ensure;
  job_ensure.name = "ensure";
  job_ensure.steps = {task("always", "true")};
  p.job_hooks = {job_cancel, job_ensure};
  return p;
}

work::step_ref ref() {
  return work::step_ref{"1.2", "put", "image", "1", false};
}

std::vector<wire::envelope> samples() {
  std::vector<wire::envelope> out;
  auto add = [&](wire::message m, std::string worker = "", std::string token = "") {
    out.push_back(wire::envelope{std::move(worker), std::move(token), 1700000000123, std::move(m)});
  };
  add(wire::run_build{4242, 3, {"linux", "docker"}, rich_plan(), std::nullopt});
  add(wire::run_check{17, "repo", {"linux"}, cmd("check"), 42s, {}, std::nullopt});
  add(wire::run_build{4242, 3, {}, rich_plan(), wire::route{"pikoci.c1.input", 3}});
  add(wire::run_check{17, "repo", {"linux"}, cmd("check"), 42s, {},
                     wire::route{"pikoci.c1.input", 63}});
  add(wire::cancel_build{4242, 3, "cancelled by alice"});
  add(wire::drain{"w1"});
  add(wire::recorded{4242, 3});
  add(wire::drain{""});
  add(wire::accepted{4242, 3}, "w1", "s3cret");
  add(wire::step_started{4242, 3, work::step_ref{"job:h1", "hook", "ensure", "", true}}, "w1",
      "s3cret");
  add(wire::log_chunk{4242, 3, ref(), 18446744073709551615u, "line 1\nline \"2\"\t\x01\n"}, "w1",
      "s3cret");
  add(wire::step_finished{4242, 3, ref(),
                          work::step_result{work::status::failed,
                                            {{"GET_REPO_REF", "abc"}, {"TASK_X_Y", ""}},
                                            {json{{"digest", "sha256:1"}}, json::object()}}},
      "w1", "s3cret");
  add(wire::build_decided{4242, 3, work::build_result{work::status::errored, "boom"}}, "w1",
      "s3cret");
  add(wire::build_finished{4242, 3, work::build_result{work::status::cancelled, "asked"}}, "w1",
      "s3cret");
  add(wire::check_finished{17, "repo",
                           work::check_result{
                               {json{{"ref", "a"}}, json{{"ref", "b"}}}, std::nullopt, "log text"}},
      "w1", "s3cret");
  add(wire::check_finished{18, "repo", work::check_result{{}, "exit status 1", "fatal: no"}}, "w1",
      "s3cret");
  add(wire::heartbeat{{"linux"},
                      {"default", "gpu"},
                      4,
                      {{4242, 3}, {9, 1}},
                      "draining",
                      {{"p.jobs", 0}, {"p.jobs.tags.gpu", 5}}},
      "w1", "s3cret");
  add(wire::heartbeat{});
  add(wire::probe{"server-1234", 18446744073709551615u});
  return out;
}

std::string error_of(std::string_view text) {
  try {
    wire::decode(text);
  } catch (const wire::decode_error& e) {
    return e.what();
  }
  return "<no error>";
}

/// The encoding of `e` with `edit` applied to its JSON.
template <class F>
std::string edited(const wire::envelope& e, F edit) {
  json j = json::parse(wire::encode(e));
  edit(j);
  return j.dump();
}

wire::envelope rich_run_build() {
  return wire::envelope{"", "", 1, wire::run_build{4242, 3, {"linux"}, rich_plan(), std::nullopt}};
}

}  // namespace

TEST_SUITE("wire") {
  TEST_CASE("every message type round-trips") {
    auto all = samples();
    std::vector<bool> seen(std::variant_size_v<wire::message>);
    for (const auto& e : all) {
      CAPTURE(wire::type_name(e.body));
      auto text = wire::encode(e);
      auto d = wire::decode(text);
      CHECK(wire::encode(d) == text);
      CHECK(d.body.index() == e.body.index());
      CHECK(d.worker == e.worker);
      CHECK(d.token == e.token);
      CHECK(d.sent_at_ms == 1700000000123);
      seen[e.body.index()] = true;
    }
    for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i]);
  }

  TEST_CASE("a decoded run_build carries the whole plan") {
    auto d = wire::decode(wire::encode(rich_run_build()));
    auto& m = std::get<wire::run_build>(d.body);
    CHECK(m.build_id == 4242);
    CHECK(m.attempt == 3);
    CHECK(m.tags == std::vector<std::string>{"linux"});
    const auto& p = m.plan;
    CHECK(p.build_id == 4242);
    CHECK(p.attempt == 3);
    CHECK(p.pipeline == "main");
    CHECK(p.job == "build");
    CHECK(p.number == "7.1");
    CHECK(p.timeout == work::millis(90min));
    CHECK(p.env.at("EMPTY").empty());
    CHECK(p.env.at("BUILD_ID") == "4242");

    REQUIRE(p.services.size() == 2);
    CHECK(p.services[0].name == "db");
    CHECK(p.services[0].start.tmpl.path == "/bin/sh");
    CHECK(p.services[0].start.params.at("cmd") == "postgres");
    REQUIRE(p.services[0].ready);
    CHECK(p.services[0].ready->params.at("cmd") == "pg_isready");
    REQUIRE(p.services[0].stop);
    CHECK(p.services[0].interval == 250ms);
    CHECK(p.services[0].timeout == 30s);
    CHECK_FALSE(p.services[1].ready);
    CHECK_FALSE(p.services[1].stop);
    CHECK(p.services[1].interval == 1s);
    CHECK(p.services[1].start.tmpl.args.empty());

    REQUIRE(p.steps.size() == 3);
    const auto& get = p.steps[0];
    CHECK(get.kind == work::step_kind::get);
    CHECK(get.version["meta"]["list"][1] == 2.5);
    CHECK(get.version["meta"]["list"][2].is_null());
    CHECK(get.attempts == 2);
    CHECK(get.timeout == work::millis(5s));
    CHECK(get.command->tmpl.args == std::vector<std::string>{"get", "$args"});
    REQUIRE(get.hooks.size() == 1);
    CHECK(get.hooks[0].kind == work::hook_kind::on_failure);
    CHECK_FALSE(get.hooks[0].command);
    REQUIRE(get.hooks[0].steps.size() == 1);
    CHECK(get.hooks[0].steps[0].command->params.at("cmd") == "echo failed");

    const auto& par = p.steps[1];
    CHECK(par.kind == work::step_kind::in_parallel);
    CHECK(par.limit == 2);
    CHECK(par.fail_fast);
    REQUIRE(par.children.size() == 3);
    CHECK(par.children[0].inputs == std::vector<std::string>{"repo"});
    CHECK(par.children[0].outputs == std::vector<std::string>{"reports", "bin"});
    CHECK(par.children[0].attempts == 0);
    CHECK(par.children[0].command->args == std::vector<std::string>{"a1", "a 2"});
    CHECK(par.children[1].kind == work::step_kind::in_parallel);
    CHECK(par.children[1].children.size() == 2);
    CHECK(par.children[1].limit == 1);
    CHECK_FALSE(par.children[1].fail_fast);
    const auto& push = par.children[2];
    CHECK(push.kind == work::step_kind::put);
    REQUIRE(push.hooks.size() == 2);
    CHECK(push.hooks[0].kind == work::hook_kind::on_success);
    CHECK(push.hooks[0].command->params.at("cmd") == "echo pushed");
    CHECK(push.hooks[1].kind == work::hook_kind::ensure);
    CHECK(push.hooks[1].steps[0].name == "cleanup");

    const auto& noop = p.steps[2];
    CHECK_FALSE(noop.command);
    CHECK_FALSE(noop.timeout);
    CHECK(noop.version.is_null());

    REQUIRE(p.job_hooks.size() == 2);
    CHECK(p.job_hooks[0].kind == work::hook_kind::on_cancel);
    CHECK(p.job_hooks[0].name == "on_cancel");
    CHECK(p.job_hooks[0].command->params.at("cmd") == "echo cancelled");
    CHECK(p.job_hooks[0].steps.empty());
    CHECK(p.job_hooks[1].steps[0].name == "always");
  }

  TEST_CASE("decoded events carry their fields") {
    auto all = samples();
    for (const auto& e : all) {
      auto d = wire::decode(wire::encode(e));
      if (auto* l = std::get_if<wire::log_chunk>(&d.body)) {
        CHECK(l->seq == 18446744073709551615u);
        CHECK(l->chunk == "line 1\nline \"2\"\t\x01\n");
        CHECK(l->step.id == "1.2");
        CHECK(l->step.parent == "1");
      } else if (auto* s = std::get_if<wire::step_started>(&d.body)) {
        CHECK(s->step.job_hook);
        CHECK(s->step.type == "hook");
      } else if (auto* f = std::get_if<wire::step_finished>(&d.body)) {
        CHECK(f->result.st == work::status::failed);
        CHECK(f->result.exports.at("GET_REPO_REF") == "abc");
        CHECK(f->result.versions.at(0)["digest"] == "sha256:1");
        CHECK(f->result.versions.at(1) == json::object());
      } else if (auto* c = std::get_if<wire::check_finished>(&d.body)) {
        if (c->sequence == 17) {
          CHECK_FALSE(c->result.error);
          CHECK(c->result.versions.size() == 2);
        } else {
          CHECK(c->result.error == std::optional<std::string>("exit status 1"));
          CHECK(c->result.log == "fatal: no");
        }
      } else if (auto* h = std::get_if<wire::heartbeat>(&d.body)) {
        if (d.worker == "w1") {
          CHECK(h->running == std::vector<std::pair<std::int64_t, int>>{{4242, 3}, {9, 1}});
          CHECK(h->concurrency == 4);
          CHECK(h->status == "draining");
        }
      } else if (auto* r = std::get_if<wire::run_check>(&d.body)) {
        CHECK(r->timeout == 42s);
        CHECK(r->sequence == 17);
        CHECK(r->command.params.at("cmd") == "check");
      } else if (auto* b = std::get_if<wire::build_decided>(&d.body)) {
        CHECK(b->result.st == work::status::errored);
        CHECK(b->result.reason == "boom");
      }
    }
  }

  TEST_CASE("the JSON shape is pinned") {
    wire::envelope cancel{"", "", 1700000000000, wire::cancel_build{42, 2, "user"}};
    CHECK(wire::encode(cancel) ==
          R"({"v":1,"type":"cancel_build","worker":"","token":"","sent_at_ms":1700000000000,)"
          R"("body":{"build_id":42,"attempt":2,"reason":"user"}})");
    wire::envelope hb{
        "w1", "tok", 5,
        wire::heartbeat{{"linux"}, {"default"}, 2, {{42, 1}}, "healthy", {{"pikoci.jobs", 3}}}};
    CHECK(wire::encode(hb) ==
          R"({"v":1,"type":"heartbeat","worker":"w1","token":"tok","sent_at_ms":5,"body":)"
          R"({"tags":["linux"],"queues":["default"],"concurrency":2,)"
          R"("running":[{"build_id":42,"attempt":1}],"status":"healthy",)"
          R"("partitions":[{"topic":"pikoci.jobs","partition":3}]}})");
    // a heartbeat without partitions (they are optional) decodes
    auto old = wire::decode(
        R"({"v":1,"type":"heartbeat","worker":"w1","token":"t","sent_at_ms":5,"body":)"
        R"({"tags":[],"queues":["jobs"],"concurrency":1,"running":[],"status":"healthy"}})");
    CHECK(std::get<wire::heartbeat>(old.body).partitions.empty());
    wire::envelope done{
        "w1", "tok", 5,
        wire::step_finished{
            42, 1, work::step_ref{"0", "get", "repo", "", false},
            work::step_result{work::status::succeeded, {{"GET_REPO_REF", "a"}}, {}}}};
    CHECK(wire::encode(done) ==
          R"({"v":1,"type":"step_finished","worker":"w1","token":"tok","sent_at_ms":5,"body":)"
          R"({"build_id":42,"attempt":1,"step":{"id":"0","type":"get","name":"repo","parent":"",)"
          R"("job_hook":false},"result":{"status":"succeeded","exports":{"GET_REPO_REF":"a"},)"
          R"("versions":[]}}})");
  }

  TEST_CASE("plan fields use snake_case names, _ms durations and null for empty optionals") {
    auto j = json::parse(wire::encode(rich_run_build()));
    const auto& plan = j["body"]["plan"];
    CHECK(plan["timeout_ms"] == 5400000);
    CHECK(plan["services"][0]["interval_ms"] == 250);
    CHECK(plan["services"][1]["ready"].is_null());
    CHECK(plan["services"][1]["stop"].is_null());
    CHECK(plan["steps"][0]["kind"] == "get");
    CHECK(plan["steps"][0]["hooks"][0]["kind"] == "on_failure");
    CHECK(plan["steps"][1]["kind"] == "in_parallel");
    CHECK(plan["steps"][2]["command"].is_null());
    CHECK(plan["steps"][2]["timeout_ms"].is_null());
    CHECK(plan["job_hooks"][0]["kind"] == "on_cancel");
    CHECK(plan["steps"][0]["command"]["tmpl"]["path"] == "git-resource");
  }

  TEST_CASE("optional fields may be absent or null") {
    auto text = edited(rich_run_build(), [](json& j) {
      auto& plan = j["body"]["plan"];
      plan.erase("timeout_ms");
      plan["services"][0].erase("ready");
      plan["services"][0]["stop"] = nullptr;
      plan["steps"][0].erase("command");
    });
    auto d = wire::decode(text);
    const auto& p = std::get<wire::run_build>(d.body).plan;
    CHECK_FALSE(p.timeout);
    CHECK_FALSE(p.services[0].ready);
    CHECK_FALSE(p.services[0].stop);
    CHECK_FALSE(p.steps[0].command);

    wire::envelope check{"w", "t", 1, wire::check_finished{1, "r", {}}};
    auto no_error = edited(check, [](json& j) { j["body"]["result"].erase("error"); });
    CHECK_FALSE(std::get<wire::check_finished>(wire::decode(no_error).body).result.error);
  }

  TEST_CASE("unknown fields are ignored") {
    auto text = edited(rich_run_build(), [](json& j) {
      j["extra"] = 1;
      j["body"]["plan"]["steps"][0]["future"] = {1, 2};
    });
    CHECK(std::get<wire::run_build>(wire::decode(text).body).plan.steps.size() == 3);
  }

  TEST_CASE("type names and Kafka keys") {
    CHECK(std::string(wire::type_name(wire::message{wire::run_build{}})) == "run_build");
    CHECK(std::string(wire::type_name(wire::message{wire::heartbeat{}})) == "heartbeat");
    CHECK(std::string(wire::type_name(wire::message{wire::check_finished{}})) == "check_finished");
    CHECK(wire::key_of(wire::run_build{4242, 1, {}, {}, std::nullopt}) == "4242");
    CHECK(wire::key_of(wire::log_chunk{7, 1, {}, 0, ""}) == "7");
    CHECK(wire::key_of(wire::cancel_build{8, 1, ""}) == "8");
    CHECK(wire::key_of(wire::build_finished{9, 2, {}}) == "9");
    CHECK(wire::key_of(wire::run_check{17, "r", {}, {}, 1s, {}, std::nullopt}) == "check:17");
    CHECK(wire::key_of(wire::check_finished{18, "r", {}}) == "check:18");
    CHECK(wire::key_of(wire::heartbeat{}).empty());
    CHECK(wire::key_of(wire::probe{"s", 1}).empty());
    CHECK(wire::key_of(wire::drain{"w"}).empty());
  }

  TEST_CASE("decode refuses malformed envelopes") {
    CHECK(error_of("hello").rfind("not JSON: ", 0) == 0);
    CHECK(error_of("").rfind("not JSON: ", 0) == 0);
    CHECK(error_of(R"({"v":1} trailing)").rfind("not JSON: ", 0) == 0);
    CHECK(error_of("[1,2]") == "message is not a JSON object");
    CHECK(error_of("42") == "message is not a JSON object");
    wire::envelope e{"", "", 1, wire::accepted{1, 1}};
    CHECK(error_of(edited(e, [](json& j) { j["v"] = 2; })) ==
          "v: unsupported wire format version 2 (this node reads version 1)");
    CHECK(error_of(edited(e, [](json& j) { j["v"] = -1; })) ==
          "v: unsupported wire format version -1 (this node reads version 1)");
    CHECK(error_of(edited(e, [](json& j) { j["v"] = "1"; })) == "v: expected integer");
    CHECK(error_of(edited(e, [](json& j) { j.erase("v"); })) == "v: missing");
    CHECK(error_of(edited(e, [](json& j) { j["type"] = "reboot"; })) ==
          "type: unknown message type \"reboot\"");
    CHECK(error_of(edited(e, [](json& j) { j.erase("body"); })) == "body: missing");
    CHECK(error_of(edited(e, [](json& j) { j["body"] = json::array(); })) ==
          "body: expected object");
    CHECK(error_of(edited(e, [](json& j) { j["token"] = nullptr; })) == "token: expected string");
    CHECK(error_of(edited(e, [](json& j) { j["sent_at_ms"] = 1.5; })) ==
          "sent_at_ms: expected integer");
  }

  TEST_CASE("decode names the offending field") {
    auto e = rich_run_build();
    CHECK(error_of(edited(e, [](json& j) { j["body"]["plan"]["steps"][2].erase("kind"); })) ==
          "body.plan.steps[2].kind: missing");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["plan"]["steps"][2]["kind"] = 5; })) ==
          "body.plan.steps[2].kind: expected string");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["plan"]["steps"][2]["kind"] = "approve"; })) ==
          "body.plan.steps[2].kind: unknown value \"approve\"");
    CHECK(error_of(edited(e, [](json& j) {
            j["body"]["plan"]["steps"][1]["children"][1]["children"][0]["fail_fast"] = 1;
          })) == "body.plan.steps[1].children[1].children[0].fail_fast: expected boolean");
    CHECK(error_of(edited(e, [](json& j) {
            j["body"]["plan"]["steps"][0]["hooks"][0]["kind"] = "on_error";
          })) == "body.plan.steps[0].hooks[0].kind: unknown value \"on_error\"");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["plan"]["env"]["BUILD_ID"] = 4242; })) ==
          "body.plan.env.BUILD_ID: expected string");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["plan"]["services"][0]["start"] = "x"; })) ==
          "body.plan.services[0].start: expected object");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["tags"] = "linux"; })) ==
          "body.tags: expected array");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["plan"]["timeout_ms"] = -1; })) ==
          "body.plan.timeout_ms: expected integer >= 0 and <= 1000000000000, got -1");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["plan"]["steps"][0]["limit"] = 1e300; })) ==
          "body.plan.steps[0].limit: expected integer");
    CHECK(error_of(R"({"v":1,"type":"accepted","worker":"","token":"","sent_at_ms":1,)"
                   R"("body":{"build_id":99999999999999999999999,"attempt":1}})") ==
          "body.build_id: expected integer");
    CHECK(error_of(R"({"v":1,"type":"log_chunk","worker":"","token":"","sent_at_ms":1,"body":)"
                   R"({"build_id":1,"attempt":1,"step":{"id":"","type":"","name":"","parent":"",)"
                   R"("job_hook":false},"seq":-1,"chunk":""}})") ==
          "body.seq: expected integer >= 0, got -1");
  }

  TEST_CASE("decode refuses out-of-range identities") {
    wire::envelope e{"w", "t", 1, wire::accepted{1, 1}};
    CHECK(error_of(edited(e, [](json& j) { j["body"]["attempt"] = 0; })) ==
          "body.attempt: expected integer >= 1 and <= 2147483647, got 0");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["attempt"] = -3; })) ==
          "body.attempt: expected integer >= 1 and <= 2147483647, got -3");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["attempt"] = 4294967297; })) ==
          "body.attempt: expected integer >= 1 and <= 2147483647, got 4294967297");
    CHECK(error_of(edited(e, [](json& j) { j["body"]["build_id"] = 0; })) ==
          "body.build_id: expected integer >= 1 and <= 9223372036854775807, got 0");
    CHECK(error_of(edited(rich_run_build(), [](json& j) { j["body"]["plan"]["attempt"] = 0; })) ==
          "body.plan.attempt: expected integer >= 1 and <= 2147483647, got 0");
    wire::envelope hb{"w", "t", 1, wire::heartbeat{}};
    CHECK(error_of(edited(hb, [](json& j) { j["body"]["concurrency"] = 0; })) ==
          "body.concurrency: expected integer >= 1 and <= 2147483647, got 0");
    CHECK(error_of(edited(hb, [](json& j) {
            j["body"]["running"] = {{{"build_id", 5}, {"attempt", 0}}};
          })) == "body.running[0].attempt: expected integer >= 1 and <= 2147483647, got 0");
    CHECK(error_of(edited(hb, [](json& j) { j["body"]["status"] = "sleepy"; })) ==
          "body.status: unknown value \"sleepy\"");
    wire::envelope fin{"w", "t", 1, wire::build_finished{1, 1, {}}};
    CHECK(error_of(edited(fin, [](json& j) { j["body"]["result"]["status"] = "Succeeded"; })) ==
          "body.result.status: unknown value \"Succeeded\"");
  }

  TEST_CASE("a plan holds only plan step kinds and a run ends only with a run's outcome") {
    auto e = rich_run_build();
    for (const char* kind : {"service", "if_chain"})
      CHECK(error_of(edited(e, [&](json& j) { j["body"]["plan"]["steps"][2]["kind"] = kind; })) ==
            std::string("body.plan.steps[2].kind: unknown value \"") + kind + "\"");
    wire::envelope fin{"w", "t", 1, wire::build_finished{1, 1, {}}};
    for (const char* status : {"pending", "started", "skipped", "warning"})
      CHECK(error_of(edited(fin, [&](json& j) { j["body"]["result"]["status"] = status; })) ==
            std::string("body.result.status: unknown value \"") + status + "\"");
  }

  TEST_CASE("an unknown value is quoted, escaped and cut after 64 bytes") {
    wire::envelope e{"", "", 1, wire::accepted{1, 1}};
    CHECK(error_of(edited(e, [](json& j) { j["type"] = "a\"b\n"; })) ==
          R"(type: unknown message type "a\"b\n")");
    CHECK(error_of(edited(e, [](json& j) { j["type"] = std::string(70, 'x'); })) ==
          "type: unknown message type \"" + std::string(64, 'x') + "\"...");
    // cut inside a character: the message stays valid UTF-8
    CHECK(error_of(edited(e, [](json& j) { j["type"] = std::string(63, 'x') + "\xC3\xA9z"; })) ==
          "type: unknown message type \"" + std::string(63, 'x') + "\\xc3\"...");
  }

  TEST_CASE("decode refuses deep nesting and oversize input") {
    CHECK(error_of(std::string(100000, '[')) == "JSON nested deeper than 64 levels");
    CHECK(error_of(std::string(100000, '{')) == "JSON nested deeper than 64 levels");
    std::string deep = R"({"v":1,"type":"accepted","worker":"","token":"","sent_at_ms":1,)"
                       R"("body":{"build_id":1,"attempt":1,"x":)" +
                       std::string(70, '[') + std::string(70, ']') + "}}";
    CHECK(error_of(deep) == "JSON nested deeper than 64 levels");
    // brackets inside strings do not count
    wire::envelope chunk{"w", "t", 1, wire::log_chunk{1, 1, {}, 0, std::string(1000, '[')}};
    CHECK(std::get<wire::log_chunk>(wire::decode(wire::encode(chunk)).body).chunk.size() == 1000);
    // a version nested within the limit is fine
    json v = 1;
    for (int i = 0; i < 40; ++i) v = json::array({v});
    auto e = rich_run_build();
    std::get<wire::run_build>(e.body).plan.steps[0].version = v;
    auto text = wire::encode(e);
    CHECK(wire::encode(wire::decode(text)) == text);

    std::string big(wire::max_message_bytes + 1, ' ');
    CHECK(error_of(big) == "message of 16777217 bytes exceeds the limit of 16777216");
  }

  TEST_CASE("log chunks with invalid UTF-8 encode without throwing") {
    std::string bytes = "ok \xff\xfe end \xe2\x82";  // stray bytes and a cut-off euro sign
    wire::envelope e{"w", "t", 1, wire::log_chunk{1, 1, ref(), 3, bytes}};
    std::string text;
    CHECK_NOTHROW(text = wire::encode(e));
    auto d = wire::decode(text);
    auto chunk = std::get<wire::log_chunk>(d.body).chunk;
    CHECK(chunk.rfind("ok ", 0) == 0);
    CHECK(chunk.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD
    CHECK(chunk.find(" end ") != std::string::npos);
    CHECK(wire::encode(d) == text);
    // valid multi-byte text passes through untouched
    wire::envelope euro{"w", "t", 1, wire::log_chunk{1, 1, ref(), 4, "5 \xe2\x82\xac"}};
    CHECK(std::get<wire::log_chunk>(wire::decode(wire::encode(euro)).body).chunk ==
          "5 \xe2\x82\xac");
    // invalid UTF-8 elsewhere (a step name, an export, a version) does not throw either
    wire::envelope fin{"w\xff", "t", 1,
                       wire::step_finished{1, 1, work::step_ref{"0", "task", "x\xc0", "", false},
                                           work::step_result{work::status::succeeded,
                                                             {{"K\xff", "v\xff"}},
                                                             {json{{"a", "\xff"}}}}}};
    CHECK_NOTHROW(wire::decode(wire::encode(fin)));
  }

  TEST_CASE("mutated encodings decode or throw decode_error, nothing else") {
    std::vector<std::string> corpus;
    for (const auto& e : samples()) corpus.push_back(wire::encode(e));
    std::mt19937 rng(20240607);
    const std::string interesting = "{}[]\",:0123456789-.eE\\ntfu";
    int decoded = 0;
    int refused = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string s = corpus[rng() % corpus.size()];
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits && !s.empty(); ++k) {
        std::size_t pos = rng() % s.size();
        switch (rng() % 5) {
          case 0:
            s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
            break;
          case 1:
            s.insert(pos, 1, interesting[rng() % interesting.size()]);
            break;
          case 2:
            s.insert(pos, 1, static_cast<char>(rng() % 256));
            break;
          case 3:
            s.erase(pos, 1 + rng() % 8);
            break;
          default: {
            std::size_t len = 1 + rng() % 16;
            s.insert(pos, s.substr(rng() % s.size(), len));
            break;
          }
        }
      }
      try {
        auto d = wire::decode(s);
        ++decoded;
        auto again = wire::encode(d);
        if (wire::encode(wire::decode(again)) != again) FAIL("re-encoding is unstable: " << s);
      } catch (const wire::decode_error&) {
        ++refused;
      } catch (const std::exception& ex) {
        FAIL("unexpected exception " << ex.what() << " for " << s);
      } catch (...) {
        FAIL("unexpected non-std exception for " << s);
      }
    }
    CHECK(decoded + refused == 20000);
    CHECK(decoded > 0);
    CHECK(refused > 0);
  }

  TEST_CASE("structured mutations decode or throw decode_error, nothing else") {
    // Field-level edits get past the JSON parser, so they exercise the validation itself.
    std::vector<json> corpus;
    for (const auto& e : samples()) corpus.push_back(json::parse(wire::encode(e)).flatten());
    const std::vector<json> values{nullptr,
                                   true,
                                   0,
                                   1,
                                   -1,
                                   2,
                                   1.5,
                                   "",
                                   "x",
                                   "1",
                                   "get",
                                   "on_failure",
                                   "succeeded",
                                   "healthy",
                                   18446744073709551615u,
                                   -9223372036854775807 - 1};
    std::mt19937 rng(7);
    int decoded = 0;
    int refused = 0;
    for (int i = 0; i < 5000; ++i) {
      json flat = corpus[rng() % corpus.size()];
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < edits && !flat.empty(); ++k) {
        auto it = flat.begin();
        std::advance(it, static_cast<long>(rng() % flat.size()));
        if (rng() % 4 == 0)
          flat.erase(it);
        else
          *it = values[rng() % values.size()];
      }
      std::string s;
      try {
        s = flat.unflatten().dump();
      } catch (const json::exception&) {
        continue;  // not representable (e.g. an array index turned into a gap)
      }
      try {
        auto d = wire::decode(s);
        ++decoded;
        auto again = wire::encode(d);
        if (wire::encode(wire::decode(again)) != again) FAIL("re-encoding is unstable: " << s);
      } catch (const wire::decode_error&) {
        ++refused;
      } catch (const std::exception& ex) {
        FAIL("unexpected exception " << ex.what() << " for " << s);
      }
    }
    CHECK(decoded > 0);
    CHECK(refused > 0);
  }

  TEST_CASE("a reply travels with run_build and run_check, and only when there is one") {
    wire::envelope b{"", "", 1, wire::run_build{4242, 3, {}, rich_plan(), wire::route{"p.in", 3}}};
    auto j = json::parse(wire::encode(b));
    CHECK(j["body"]["reply"] == json{{"topic", "p.in"}, {"partition", 3}});
    auto d = std::get<wire::run_build>(wire::decode(wire::encode(b)).body);
    REQUIRE(d.reply);
    CHECK(d.reply->topic == "p.in");
    CHECK(d.reply->partition == 3);
    // without one the message is as servers without replies send it, and decodes without one
    CHECK_FALSE(json::parse(wire::encode(rich_run_build()))["body"].contains("reply"));
    CHECK_FALSE(std::get<wire::run_build>(wire::decode(wire::encode(rich_run_build())).body).reply);
    auto null_reply = edited(rich_run_build(), [](json& j) { j["body"]["reply"] = nullptr; });
    CHECK_FALSE(std::get<wire::run_build>(wire::decode(null_reply).body).reply);

    wire::envelope c{"", "", 1, wire::run_check{5, "r", {}, cmd("x"), 1s, {}, wire::route{"a", 0}}};
    auto dc = std::get<wire::run_check>(wire::decode(wire::encode(c)).body);
    REQUIRE(dc.reply);
    CHECK(dc.reply->topic == "a");
    CHECK(dc.reply->partition == 0);
    c.body = wire::run_check{5, "r", {}, cmd("x"), 1s, {}, std::nullopt};
    CHECK_FALSE(json::parse(wire::encode(c))["body"].contains("reply"));
  }

  TEST_CASE("a reply that is not a topic name or a partition 0..63 refuses the message") {
    auto with = [](json reply) {
      return error_of(edited(rich_run_build(), [&](json& j) { j["body"]["reply"] = reply; }));
    };
    auto ok = [&](json reply) { return with(std::move(reply)) == "<no error>"; };
    CHECK(ok({{"topic", "pikoci.c1.input"}, {"partition", 0}}));
    CHECK(ok({{"topic", "A-z_0.9"}, {"partition", 63}}));
    CHECK(ok({{"topic", std::string(249, 'x')}, {"partition", 1}}));
    CHECK(with({{"topic", std::string(250, 'x')}, {"partition", 1}}) ==
          "body.reply.topic: topic name of 250 bytes (at most 249)");
    CHECK(with({{"topic", ""}, {"partition", 1}}) == "body.reply.topic: empty topic name");
    CHECK(with({{"topic", "."}, {"partition", 1}}) ==
          "body.reply.topic: topic name \".\" is not allowed");
    CHECK(with({{"topic", ".."}, {"partition", 1}}).find("is not allowed") != std::string::npos);
    for (const std::string& bad : std::vector<std::string>{"a b", "a/b", "a\nb", "t\xc3\xa9", "a:b",
                                                           "a*", std::string("a\0b", 3)})
      CHECK(with({{"topic", bad}, {"partition", 1}}).find("has characters other than") !=
            std::string::npos);
    CHECK(with({{"topic", "t"}, {"partition", 64}}) ==
          "body.reply.partition: expected integer >= 0 and <= 63, got 64");
    CHECK(with({{"topic", "t"}, {"partition", -1}}) ==
          "body.reply.partition: expected integer >= 0 and <= 63, got -1");
    CHECK(with({{"topic", "t"}, {"partition", 1.5}}) == "body.reply.partition: expected integer");
    CHECK(with({{"topic", "t"}, {"partition", "3"}}) == "body.reply.partition: expected integer");
    CHECK(with({{"topic", "t"}}) == "body.reply.partition: missing");
    CHECK(with({{"partition", 3}}) == "body.reply.topic: missing");
    CHECK(with({{"topic", 7}, {"partition", 3}}) == "body.reply.topic: expected string");
    CHECK(with("pikoci.c1.input") == "body.reply: expected object");
    CHECK(with(json::array({"t", 3})) == "body.reply: expected object");
    // a long hostile name is cut in the message
    CHECK(with({{"topic", std::string(100, '/')}, {"partition", 3}}).size() < 200);
    // the same rules for checks
    wire::envelope c{"", "", 1, wire::run_check{5, "r", {}, cmd("x"), 1s, {}, std::nullopt}};
    CHECK(error_of(edited(c, [](json& j) {
            j["body"]["reply"] = {{"topic", "t"}, {"partition", 99}};
          })).rfind("body.reply.partition: ", 0) == 0);
    CHECK(wire::check_topic_name("pikoci.events").empty());
    CHECK_FALSE(wire::check_topic_name("pikoci events").empty());
  }

  TEST_CASE("random replies decode or throw decode_error, and decoded ones are valid") {
    std::mt19937 rng(22);
    const std::string alphabet = "abzAZ09._-/ :*\"\\\x01\x7f\xc3\xa9";
    const std::vector<json> partitions{0,
                                       1,
                                       63,
                                       64,
                                       -1,
                                       2147483648LL,
                                       1.0,
                                       0.5,
                                       "1",
                                       nullptr,
                                       json::array(),
                                       18446744073709551615u};
    int decoded = 0;
    int refused = 0;
    for (int i = 0; i < 3000; ++i) {
      std::string topic;
      std::size_t len = rng() % 4 == 0 ? 240 + rng() % 20 : rng() % 12;
      for (std::size_t k = 0; k < len; ++k) topic += alphabet[rng() % alphabet.size()];
      json reply = {{"topic", topic}, {"partition", partitions[rng() % partitions.size()]}};
      if (rng() % 10 == 0) reply.erase(rng() % 2 == 0 ? "topic" : "partition");
      bool check = rng() % 2 == 0;
      wire::envelope e =
          check ? wire::envelope{"", "", 1,
                                 wire::run_check{5, "r", {}, cmd("x"), 1s, {}, std::nullopt}}
                : rich_run_build();
      std::string text;
      try {
        text = edited(e, [&](json& j) { j["body"]["reply"] = reply; });
      } catch (const json::exception&) {
        continue;  // not UTF-8: refused by the JSON writer before the wire sees it
      }
      try {
        auto d = wire::decode(text);
        const auto& r = check ? std::get<wire::run_check>(d.body).reply
                              : std::get<wire::run_build>(d.body).reply;
        REQUIRE(r);
        CHECK(wire::check_topic_name(r->topic).empty());
        CHECK(r->partition >= 0);
        CHECK(r->partition <= 63);
        CHECK(wire::encode(wire::decode(wire::encode(d))) == wire::encode(d));
        ++decoded;
      } catch (const wire::decode_error&) {
        ++refused;
      }
    }
    CHECK(decoded > 0);
    CHECK(refused > 0);
  }

  TEST_CASE("bytes that are not UTF-8 are replaced when encoded and refused when decoded") {
    wire::envelope e{"w", "t", 1, wire::log_chunk{1, 1, {}, 1, "caf\xE9 \xFF\xFE"}};
    auto d = wire::decode(wire::encode(e));
    CHECK(std::get<wire::log_chunk>(d.body).chunk == "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD");
    // a peer that sends raw bytes (or a lone surrogate escape) gets its message refused, never
    // turned into a string the server cannot serialize again
    auto with_chunk = [](const std::string& text) {
      auto encoded = wire::encode({"w", "t", 1, wire::log_chunk{1, 1, {}, 1, "@@"}});
      return encoded.replace(encoded.find("@@"), 2, text);
    };
    CHECK_NOTHROW(wire::decode(with_chunk("ok")));
    CHECK_THROWS_AS(wire::decode(with_chunk("\xE9")), wire::decode_error);
    std::string escaped = with_chunk("\\udc80");
    CHECK_THROWS_AS(wire::decode(escaped), wire::decode_error);
  }
  TEST_CASE("a conditional step travels with its branches; forged chains are refused") {
    work::build_plan p = rich_plan();
    work::step_plan chain;
    chain.kind = work::step_kind::if_chain;
    chain.name = "prod";
    work::branch_plan first{work::branch_kind::if_, "prod", "$TASK_X_ENV == 'prod'",
                            {task("deploy", "true")}};
    work::step_plan nested = chain;
    nested.name = "inner";
    nested.branches = {work::branch_plan{work::branch_kind::if_, "inner", "yes", {}}};
    work::branch_plan other{work::branch_kind::else_if, "staging", "$A < 3", {nested}};
    work::branch_plan rest{work::branch_kind::else_, "", "", {task("skip", "true")}};
    chain.branches = {first, other, rest};
    p.steps = {chain};
    wire::envelope e{"", "", 1, wire::run_build{4242, 3, {}, p, std::nullopt}};
    auto d = wire::decode(wire::encode(e));
    const auto& got = std::get<wire::run_build>(d.body).plan.steps.at(0);
    CHECK(got.kind == work::step_kind::if_chain);
    REQUIRE(got.branches.size() == 3);
    CHECK(got.branches[0].condition == "$TASK_X_ENV == 'prod'");
    CHECK(got.branches[0].steps.at(0).name == "deploy");
    CHECK(got.branches[1].kind == work::branch_kind::else_if);
    CHECK(got.branches[1].steps.at(0).branches.at(0).label == "inner");
    CHECK(got.branches[2].kind == work::branch_kind::else_);
    CHECK(got.branches[2].label.empty());
    CHECK(wire::encode(d) == wire::encode(e));

    auto forged = [&](auto edit) {
      return error_of(edited(e, [&](json& j) { edit(j["body"]["plan"]["steps"][0]); }));
    };
    CHECK(forged([](json& s) { s["branches"] = json::array(); }) ==
          "body.plan.steps[0]: a conditional step starts with an \"if\" branch");
    CHECK(forged([](json& s) { s["branches"][0]["kind"] = "else_if"; }) ==
          "body.plan.steps[0]: a conditional step starts with an \"if\" branch");
    CHECK(forged([](json& s) { s["branches"][1]["kind"] = "else"; }) ==
          "body.plan.steps[0]: branch 1 (else) is out of place in a conditional step");
    CHECK(forged([](json& s) { s["branches"][2]["kind"] = "if"; }) ==
          "body.plan.steps[0]: branch 2 (if) is out of place in a conditional step");
    CHECK(forged([](json& s) { s["branches"][2]["condition"] = "x"; }) ==
          "body.plan.steps[0]: an \"else\" branch has no condition");
    CHECK(forged([](json& s) { s["branches"][0]["kind"] = "when"; }) ==
          "body.plan.steps[0].branches[0].kind: unknown value \"when\"");
    CHECK(forged([](json& s) { s["branches"][0]["steps"] = "x"; }) ==
          "body.plan.steps[0].branches[0].steps: expected array");
    CHECK(forged([](json& s) { s["kind"] = "task"; }) ==
          "body.plan.steps[0]: branches on a step of kind \"task\"");
    // chains nested past the JSON depth limit are refused before they are parsed
    std::string deep = "{\"kind\":\"task\",\"name\":\"t\"}";
    for (int i = 0; i < 20; ++i)
      deep = "{\"kind\":\"if\",\"branches\":[{\"kind\":\"if\",\"steps\":[" + deep + "]}]}";
    auto text = edited(e, [](json& j) { j["body"]["plan"]["steps"] = "DEEP"; });
    text.replace(text.find("\"DEEP\""), 6, "[" + deep + "]");
    CHECK(error_of(text) == "JSON nested deeper than 64 levels");
  }

  TEST_CASE("a step ends with a run's outcome or skipped (a branch not taken)") {
    wire::envelope done{"w", "t", 1,
                        wire::step_finished{1, 1, work::step_ref{"0.1", "else_if", "b", "0", false},
                                            work::step_result{work::status::skipped, {}, {}}}};
    auto d = wire::decode(wire::encode(done));
    CHECK(std::get<wire::step_finished>(d.body).result.st == work::status::skipped);
    for (const char* status : {"pending", "started", "warning"})
      CHECK(error_of(edited(done, [&](json& j) { j["body"]["result"]["status"] = status; })) ==
            std::string("body.result.status: unknown value \"") + status + "\"");
  }
}
