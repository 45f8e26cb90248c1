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

#include "connectors/kafka/admin.hpp"
#include "connectors/kafka/client.hpp"
#include "connectors/kafka/tail.hpp"
#include "connectors/kafka/wire.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci;
using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

work::command_spec shell(const std::string& script) {
  return work::command_spec{{"/bin/sh", {"-ec", "$cmd"}}, {{"cmd", script}}, {}, ""};
}

/// A build of one task printing `line`, as a server would send it.
wire::run_build hand_made_build(std::int64_t id, const std::string& line,
                                std::optional<wire::route> reply) {
  wire::run_build m;
  m.build_id = id;
  m.attempt = 1;
  m.plan.build_id = id;
  m.plan.attempt = 1;
  m.plan.pipeline = "hand";
  m.plan.job = "made";
  m.plan.number = std::to_string(id);
  work::step_plan t;
  t.kind = work::step_kind::task;
  t.name = "say";
  t.command = shell("echo " + line);
  m.plan.steps.push_back(t);
  m.reply = std::move(reply);
  return m;
}

/// Every record of every partition of `topic` (of `partitions`), decoded, by Kafka key.
std::multimap<std::string, wire::envelope> read_all(const std::string& brokers,
                                                    const std::string& topic, int partitions) {
  std::multimap<std::string, wire::envelope> out;
  for (int p = 0; p < partitions; ++p) {
    kafka::tail t(brokers, topic, p);
    auto r = t.catch_up(
        0,
        [&](std::vector<kafka::record>&& batch) {
          for (auto& rec : batch)
            if (rec.value) out.emplace(rec.key, wire::decode(*rec.value));
        },
        1000, 30s);
    INFO(topic << "[" << p << "] " << (r.error ? r.error->message : ""));
    REQUIRE(r.ok());
  }
  return out;
}

/// The wire type names of the messages under `key`.
std::set<std::string> types_of(const std::multimap<std::string, wire::envelope>& all,
                               const std::string& key) {
  std::set<std::string> out;
  auto [from, to] = all.equal_range(key);
  for (auto it = from; it != to; ++it) out.insert(wire::type_name(it->second.body));
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
    auto send = [&](const std::string& topic, wire::message m) {
      auto key = wire::key_of(m);
      REQUIRE(out.produce(topic, key, wire::encode(wire::stamped("", "", std::move(m)))));
      REQUIRE(out.flush(10s));
    };
    send(prefix + ".jobs", hand_made_build(build_id, "reply-line", wire::route{input, 3}));
    wire::run_check check;
    check.sequence = check_seq;
    check.resource = "repo";
    check.command = shell("echo '[{\"ref\":\"r1\"}]'");
    check.timeout = 30s;
    check.reply = wire::route{input, 3};
    send(prefix + ".checks", check);
    // a reply outside the worker's prefix: refused, never run
    const std::int64_t foreign_id = 7700003;
    send(prefix + ".jobs", hand_made_build(foreign_id, "never", wire::route{"elsewhere.in", 0}));

    // everything arrives on input[3]
    const std::string key = std::to_string(build_id);
    std::multimap<std::string, wire::envelope> on_input;
    bool arrived = eventually(
        [&] {
          kafka::tail t(brokers, input, 3);
          on_input.clear();
          auto r = t.catch_up(0, [&](std::vector<kafka::record>&& batch) {
            for (auto& rec : batch)
              if (rec.value) on_input.emplace(rec.key, wire::decode(*rec.value));
          });
          return r.ok() && types_of(on_input, key).count("build_finished") == 1 &&
                 types_of(on_input, "check:" + std::to_string(check_seq)).count("check_finished");
        },
        60s);
    INFO(worker.proc->tail());
    REQUIRE(arrived);
    CHECK(types_of(on_input, key) == std::set<std::string>{"accepted", "step_started", "log_chunk",
                                                           "step_finished", "build_decided",
                                                           "build_finished"});
    std::string output;
    for (auto [it, end] = on_input.equal_range(key); it != end; ++it) {
      if (auto* c = std::get_if<wire::log_chunk>(&it->second.body)) output += c->chunk;
      if (auto* f = std::get_if<wire::build_finished>(&it->second.body))
        CHECK(f->result.st == work::status::succeeded);
      CHECK(it->second.worker == "reply-w1");
    }
    CHECK(output.find("reply-line") != std::string::npos);
    auto checked = on_input.find("check:" + std::to_string(check_seq));
    REQUIRE(checked != on_input.end());
    const auto& result = std::get<wire::check_finished>(checked->second.body).result;
    CHECK_FALSE(result.error);
    REQUIRE(result.versions.size() == 1);
    CHECK(result.versions[0]["ref"] == "r1");
    // the other partitions of the input topic got nothing
    for (int p : {0, 2, 4, 12}) {
      kafka::tail t(brokers, input, p);
      auto w = t.watermarks();
      REQUIRE(w);
      CHECK(w->second == 0);
    }

    // the events topic had the worker's heartbeats (listing the build while it ran) and nothing
    // of the build or the check
    auto events = read_all(brokers, prefix + ".events", 8);
    CHECK(events.count(key) == 0);
    CHECK(events.count("check:" + std::to_string(check_seq)) == 0);
    bool listed = false;
    for (auto [it, end] = events.equal_range(""); it != end; ++it)
      if (auto* hb = std::get_if<wire::heartbeat>(&it->second.body))
        for (const auto& r : hb->running) listed = listed || r.first == build_id;
    CHECK(listed);

    // the foreign reply was counted and dropped: nothing of that build anywhere
    CHECK(worker.proc->wait_for_line("outside the topic prefix " + prefix, 10s).has_value());
    CHECK(events.count(std::to_string(foreign_id)) == 0);
    CHECK(on_input.count(std::to_string(foreign_id)) == 0);
  }
}
