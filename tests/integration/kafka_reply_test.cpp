// Where a worker sends its events, against a real Apache Kafka broker (docs/workers.md): a
// run_build or run_check whose message names a `reply` has every event of that build or check
// produced to that topic-partition and none to `<prefix>.events`; a reply outside the worker's
// topic prefix is refused (counted in the log), and that work never runs. Builds without a reply
// are what the other kafka.workers tests run.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/kafka/admin.hpp"
#include "connectors/kafka/client.hpp"
#include "connectors/kafka/tail.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci;
using namespace pikoci::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// A message as the server writes it (the wire format of docs/workers.md, version 1).
std::string envelope(const std::string& type, json body) {
  return json{{"v", 1},      {"type", type},    {"worker", ""},
              {"token", ""}, {"sent_at_ms", 1}, {"body", std::move(body)}}
      .dump();
}

json shell(const std::string& script) {
  return {{"tmpl", {{"path", "/bin/sh"}, {"args", {"-ec", "$cmd"}}}},
          {"params", {{"cmd", script}}},
          {"args", json::array()}};
}

/// A build of one task printing `line`, as a server would send it.
std::string hand_made_build(std::int64_t id, const std::string& line, json reply) {
  json task{{"kind", "task"},
            {"name", "say"},
            {"command", shell("echo " + line)},
            {"timeout_ms", nullptr},
            {"attempts", 0},
            {"inputs", json::array()},
            {"outputs", json::array()},
            {"version", nullptr},
            {"hooks", json::array()},
            {"children", json::array()},
            {"limit", 0},
            {"fail_fast", false}};
  json plan{{"build_id", id},
            {"attempt", 1},
            {"pipeline", "hand"},
            {"job", "made"},
            {"number", "1"},
            {"services", json::array()},
            {"steps", json::array({task})},
            {"job_hooks", json::array()},
            {"timeout_ms", nullptr},
            {"env", json::object()}};
  return envelope("run_build", {{"build_id", id},
                                {"attempt", 1},
                                {"tags", json::array()},
                                {"plan", std::move(plan)},
                                {"reply", std::move(reply)}});
}

/// Every record of `topic`'s partitions [0, partitions), parsed, by Kafka key.
std::multimap<std::string, json> read_all(const std::string& brokers, const std::string& topic,
                                          int partitions, int first = 0) {
  std::multimap<std::string, json> out;
  for (int p = first; p < partitions; ++p) {
    kafka::tail t(brokers, topic, p);
    auto r = t.catch_up(
        0,
        [&](std::vector<kafka::record>&& batch) {
          for (auto& rec : batch)
            if (rec.value) out.emplace(rec.key, json::parse(*rec.value));
        },
        1000, 30s);
    INFO(topic << "[" << p << "] " << (r.error ? r.error->message : ""));
    REQUIRE(r.ok());
  }
  return out;
}

/// The message types under `key`.
std::set<std::string> types_of(const std::multimap<std::string, json>& all,
                               const std::string& key) {
  std::set<std::string> out;
  auto [from, to] = all.equal_range(key);
  for (auto it = from; it != to; ++it) out.insert(it->second["type"].get<std::string>());
  return out;
}

}  // namespace

TEST_SUITE("kafka.reply") {
  TEST_CASE("events of a build or check with a reply go to that partition, none to .events") {
    auto brokers = kafka_broker::shared().bootstrap();
    kafka_server server(brokers);
    worker_proc worker(server, "reply-w1");
    const auto& prefix = server.prefix;
    const std::string input = prefix + ".input";
    kafka::admin admin(brokers);
    auto made = admin.create_topics({{input, 13, 1, {}}}, 20s);
    INFO(made.error);
    REQUIRE(made.error.empty());

    kafka::producer out(brokers);
    const std::int64_t build_id = 7700001;
    const std::int64_t check_seq = 7700002;
    const json to_input_3{{"topic", input}, {"partition", 3}};
    auto send = [&](const std::string& topic, const std::string& key, const std::string& text) {
      REQUIRE(out.produce(topic, key, text));
      REQUIRE(out.flush(10s));
    };
    send(prefix + ".jobs", std::to_string(build_id),
         hand_made_build(build_id, "reply-line", to_input_3));
    const std::string check_key = "check:" + std::to_string(check_seq);
    send(prefix + ".checks", check_key,
         envelope("run_check", {{"sequence", check_seq},
                                {"resource", "repo"},
                                {"tags", json::array()},
                                {"command", shell("echo '[{\"ref\":\"r1\"}]'")},
                                {"timeout_ms", 30000},
                                {"reply", to_input_3}}));
    // a reply outside the worker's prefix: refused, never run
    const std::int64_t foreign_id = 7700003;
    send(prefix + ".jobs", std::to_string(foreign_id),
         hand_made_build(foreign_id, "never", {{"topic", "elsewhere.in"}, {"partition", 0}}));

    // everything arrives on input[3]
    const std::string key = std::to_string(build_id);
    std::multimap<std::string, json> on_input;
    bool arrived = eventually(
        [&] {
          on_input = read_all(brokers, input, 4, 3);
          return types_of(on_input, key).count("build_finished") == 1 &&
                 types_of(on_input, check_key).count("check_finished") == 1;
        },
        60s);
    INFO(worker.proc->tail());
    REQUIRE(arrived);
    CHECK(types_of(on_input, key) == std::set<std::string>{"accepted", "step_started", "log_chunk",
                                                           "step_finished", "build_decided",
                                                           "build_finished"});
    std::string output;
    for (auto [it, end] = on_input.equal_range(key); it != end; ++it) {
      const auto& m = it->second;
      if (m["type"] == "log_chunk") output += m["body"]["chunk"].get<std::string>();
      if (m["type"] == "build_finished") CHECK(m["body"]["result"]["status"] == "succeeded");
      CHECK(m["worker"] == "reply-w1");
    }
    CHECK(output.find("reply-line") != std::string::npos);
    auto checked = on_input.find(check_key);
    REQUIRE(checked != on_input.end());
    const auto& result = checked->second["body"]["result"];
    CHECK(result["error"].is_null());
    CHECK(result["versions"] == json::array({{{"ref", "r1"}}}));
    // the other partitions of the input topic got nothing
    for (int p : {0, 2, 4, 12}) {
      kafka::tail t(brokers, input, p);
      auto w = t.watermarks();
      REQUIRE(w);
      CHECK(w->second == 0);
    }

    // the events topic had the worker's heartbeats and nothing of the build or the check
    auto events = read_all(brokers, prefix + ".events", 8);
    CHECK(events.count(key) == 0);
    CHECK(events.count(check_key) == 0);
    int heartbeats = 0;
    for (const auto& [k, m] : events)
      if (m["type"] == "heartbeat" && m["worker"] == "reply-w1") ++heartbeats;
    CHECK(heartbeats > 0);

    // the foreign reply was counted and dropped: nothing of that build anywhere
    CHECK(worker.proc->wait_for_line("outside the topic prefix " + prefix, 10s).has_value());
    CHECK(events.count(std::to_string(foreign_id)) == 0);
    CHECK(on_input.count(std::to_string(foreign_id)) == 0);
  }
}
