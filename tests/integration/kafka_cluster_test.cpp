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

namespace {

/// The value of `name=` in a log line, or -1.
long long field_of(const std::string& line, const std::string& name) {
  auto at = line.find(" " + name + "=");
  if (at == std::string::npos) return -1;
  try {
    return std::stoll(line.substr(at + name.size() + 2));
  } catch (const std::exception&) {
    return -1;
  }
}

/// The first line of `text` containing `needle`, or "".
std::string line_with(const std::string& text, const std::string& needle) {
  auto at = text.find(needle);
  if (at == std::string::npos) return "";
  auto b = text.rfind('\n', at);
  b = b == std::string::npos ? 0 : b + 1;
  auto e = text.find('\n', at);
  return e == std::string::npos ? "" : text.substr(b, e - b);
}

}  // namespace

TEST_SUITE("kafka.cluster") {
  TEST_CASE("three nodes share the pipelines, any node answers, a killed owner's builds go on") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 3; ++i) c.start(i);
    REQUIRE_MESSAGE(c.stable(3), c.view().dump(), c.tails());
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

  TEST_CASE("a node whose store is damaged starts again from its newest checkpoint") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    c.extra = {"--checkpoint-interval", "1s"};
    auto& node = c.start(0);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(1); }, 60s), c.view().dump(), c.tails());
    node.set_pipeline("kept", marking_pipeline(c.db(0) / "marks", "0"));
    node.post("/pipelines/kept/pause");
    // a checkpoint taken after the change
    auto& proc = node.server().process();
    auto seen = proc.output().size();
    REQUIRE_MESSAGE(eventually([&] {
                      return proc.output().find("event=cluster.checkpoint ", seen) !=
                             std::string::npos;
                    }, 20s),
                    c.tails());
    proc.stop(SIGKILL);
    c.nodes[0].reset();
    // RocksDB cannot open a store whose CURRENT file names no manifest
    {
      std::ofstream current(c.db(0) / "CURRENT", std::ios::trunc);
      current << "MANIFEST-999999\n";
    }
    auto& again = c.start(0);
    auto out = again.server().process().output();
    CHECK_MESSAGE(out.find("event=store.from_checkpoint") != std::string::npos, out);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(1); }, 60s), c.tails());
    auto p = again.get("/pipelines/kept");
    CHECK_MESSAGE(p.status == 200, p.body);
    CHECK(p.json()["pipeline"]["paused"] == true);
    // the damaged store is kept aside, unchanged
    bool aside = false;
    for (const auto& e : std::filesystem::directory_iterator(c.dir.path()))
      aside = aside || e.path().filename().string().rfind("node0.damaged-", 0) == 0;
    CHECK(aside);
  }

  TEST_CASE("a standby replica keeps a warm copy: the node taking a killed owner's partition "
            "replays only what the copy missed") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    c.extra = {"--standby-replicas", "1"};
    c.start(0);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(1); }, 60s), c.view().dump(), c.tails());
    c.start(1);
    REQUIRE_MESSAGE(c.stable(2), c.view().dump(), c.tails());

    // writes to every partition, through both nodes
    for (int i = 0; i < 24; ++i)
      c.nodes[i % 2]->set_pipeline("s" + std::to_string(i),
                                   marking_pipeline(std::filesystem::path(c.dir.path()) / "m", "0"));
    // each partition has one standby, the node that does not own it, caught up with it
    auto warm = [&] {
      auto v = c.view();
      for (const auto& p : v["partitions"]) {
        if (p["partition"] == partitions) continue;  // G is every node's already
        const auto& s = p["standbys"];
        if (!s.is_array() || s.size() != 1 || s[0]["member"] == p["owner"] || s[0]["lag"] != 0)
          return false;
      }
      return true;
    };
    REQUIRE_MESSAGE(eventually(warm, 30s), c.view().dump(2), c.tails());

    // the owner of s0's partition is killed: the other node takes it from its warm copy
    const int k = pikoci::persistence::partition_of("s0", partitions);
    const int owner = c.index_of(c.owner_url(k));
    REQUIRE_MESSAGE(owner >= 0, c.view().dump(), c.tails());
    auto& standby = *c.nodes[1 - owner];
    const auto before = standby.server().process().output().size();
    c.nodes[owner]->server().process().stop(SIGKILL);
    c.nodes[owner].reset();
    const std::string needle = "event=cluster.restored partition=" + std::to_string(k) + " ";
    std::string restored;
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          restored = line_with(standby.server().process().output().substr(before),
                                               needle);
                          return !restored.empty();
                        },
                        60s),
                    standby.tail());
    MESSAGE(restored);
    CHECK(restored.find("from_checkpoint=true") != std::string::npos);
    CHECK(restored.find("wiped=false") != std::string::npos);
    CHECK(field_of(restored, "records") >= 0);
    CHECK(field_of(restored, "records") <= 5);  // what the copy had not read yet: next to nothing
    // the pipelines of k are served by the survivor, as written
    auto got = standby.get("/pipelines/s0");
    CHECK_MESSAGE(got.status == 200, got.body);
    auto listed = standby.get("/pipelines").json()["pipelines"];
    CHECK(listed.size() == 24);
  }
}
