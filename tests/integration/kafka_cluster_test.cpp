// Several server nodes in one cluster (`--cluster`), against a real broker: pipelines spread over
// the nodes and any node answers for any pipeline; builds run on remote workers and their events
// reach the owning node; a killed owner's partitions move to the others, whose running builds are
// adopted (not run again) and whose pending ones run; a node leaving with SIGQUIT hands its
// partitions over; a node joining takes some; users and the pipeline list are the same on every
// node.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "persistence/partitioning.hpp"
#include "tests/support/cluster_nodes.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

constexpr int partitions = cluster_partitions;

TEST_SUITE("kafka.cluster") {
  TEST_CASE("three nodes share the pipelines, any node answers, a killed owner's builds go on") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 3; ++i) c.start(i);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(3); }, 60s), c.view().dump(), c.tails());
    auto w1 = cluster_worker(*c.nodes[0], c.brokers, "w1");
    auto w2 = cluster_worker(*c.nodes[1], c.brokers, "w2");

    // pipelines set through node 0 land on their owners; every node lists all of them
    std::vector<std::string> names;
    for (int i = 0; i < 8; ++i) names.push_back("p" + std::to_string(i));
    for (const auto& p : names) c.nodes[0]->set_pipeline(p, marking_pipeline(std::filesystem::path(c.dir.path()) / (p + ".marks"), "0"));
    std::set<std::string> owners;
    for (int k = 0; k < partitions; ++k) owners.insert(c.owner_url(k));
    CHECK(owners.size() == 3);  // every node owns some partitions
    for (auto& n : c.nodes)
      CHECK_MESSAGE(eventually([&] { return n->get("/pipelines").json()["pipelines"].size() == 8; }, 20s),
                    n->get("/pipelines").body);

    // triggers through node 1, builds read through node 2
    for (const auto& p : names) c.nodes[1]->trigger(p, "j");
    for (const auto& p : names) {
      auto b = c.nodes[2]->wait_build(p, "j", "1", 60s);
      CHECK_MESSAGE(b["status"] == "succeeded", p, " ", b.dump());
    }

    // a long build; its owner is killed while it runs: the new owner adopts it (it runs once)
    auto marks = std::filesystem::path(c.dir.path()) / "long.marks";
    c.nodes[0]->set_pipeline("long", marking_pipeline(marks, "4"));
    auto first = c.nodes[0]->trigger("long", "j");
    REQUIRE(eventually([&] { return c.nodes[0]->build("long", "j", "1")["status"] == "started"; }, 30s));
    int owner = c.index_of(c.owner_url(pikoci::persistence::partition_of("long", partitions)));
    REQUIRE_MESSAGE(owner >= 0, c.view().dump());
    auto killed_at = std::chrono::steady_clock::now();
    c.kill(owner);
    auto& survivor = c.any();
    auto done = survivor.wait_build("long", "j", "1", 60s);
    CHECK_MESSAGE(done["status"] == "succeeded", done.dump(), c.tails());
    CHECK(lines_in(marks) == 1);  // adopted, not run again
    // the new owner dispatches new builds
    survivor.trigger("long", "j");
    auto again = survivor.wait_build("long", "j", "2", 60s);
    CHECK(again["status"] == "succeeded");
    MESSAGE("owner killed -> next build done in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count()
            << " s");
    CHECK(lines_in(marks) == 2);
    (void)first;
  }
}
