// The Kafka dispatcher's cluster rules that need no broker: which build a worker's message is
// about (the ownership filter) and how many of a shared worker's slots one node may fill.
#include <doctest/doctest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "actors/model/ids.hpp"
#include "connectors/kafka/dispatcher.hpp"

using namespace pikoci;

namespace {

/// A partitioned build id of partition `k`.
std::int64_t id_in(int k, std::int64_t t = 1000) {
  return (t << model::id_source::partition_bits) | k;
}

}  // namespace

TEST_SUITE("connectors.kafka_dispatcher") {
  TEST_CASE("every build event names its build; heartbeats, checks and probes name none") {
    auto id = id_in(5);
    CHECK(kafka::build_of(wire::accepted{id, 1}) == id);
    CHECK(kafka::build_of(wire::step_started{id, 2, {}}) == id);
    CHECK(kafka::build_of(wire::log_chunk{id, 1, {}, 3, "x"}) == id);
    CHECK(kafka::build_of(wire::step_finished{id, 1, {}, {}}) == id);
    CHECK(kafka::build_of(wire::build_decided{id, 1, {}}) == id);
    CHECK(kafka::build_of(wire::build_finished{id, 1, {}}) == id);
    CHECK(kafka::build_of(wire::heartbeat{}) == std::nullopt);
    CHECK(kafka::build_of(wire::check_finished{7, "git:r", {}}) == std::nullopt);
    CHECK(kafka::build_of(wire::probe{"s", 1}) == std::nullopt);
  }

  TEST_CASE("a build is owned by the node where its id's partition is active") {
    domain::cluster::partition_table table;
    table.set(3, domain::cluster::partition_state::active);
    table.set(4, domain::cluster::partition_state::moving);
    auto owns = [&](std::int64_t id) {
      return table.active(model::id_source::partition_of(id));
    };
    CHECK(owns(id_in(3)));
    CHECK_FALSE(owns(id_in(4)));  // being handed off: the new owner decides
    CHECK_FALSE(owns(id_in(5)));
  }

  TEST_CASE("a worker's slots for one node leave out the builds it runs for other nodes") {
    auto mine = [](std::int64_t id) { return model::id_source::partition_of(id) < 6; };
    std::vector<std::pair<std::int64_t, int>> running{
        {id_in(1), 1}, {id_in(2), 1}, {id_in(7), 1}, {id_in(9), 2}};
    // 2 of its 4 running builds are another node's: 6 - 2 slots here (ours count in the queue)
    CHECK(kafka::shared_slots(6, running, mine) == 4);
    CHECK(kafka::shared_slots(6, {}, mine) == 6);
    // never below zero: oversubscribed by the other nodes
    CHECK(kafka::shared_slots(1, running, mine) == 0);
    // single mode owns every build: its slots are the concurrency
    CHECK(kafka::shared_slots(4, running, [](std::int64_t) { return true; }) == 4);
  }

  TEST_CASE("the input topic of a cluster") {
    kafka::dispatcher_cluster c;
    c.name = "c1";
    kafka::topics names;
    names.prefix = "pikoci";
    CHECK(c.input(names) == "pikoci.c1.input");
  }
}
