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
#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

constexpr int partitions = 6;

/// The nodes of one cluster on a topic prefix of their own, each with its own RocksDB store.
struct cluster {
  std::string brokers;
  std::string prefix = fresh_prefix();
  std::string name = "c1";
  temp_dir dir;
  std::vector<std::unique_ptr<runtime_node>> nodes;  // null once stopped
  std::vector<std::string> extra;                    // flags every node gets
  int started = 0;

  explicit cluster(const std::string& b) : brokers(b) {}

  std::vector<std::string> args(int i) const {
    std::vector<std::string> a{"--pubsub-system",
            "kafka",
            "--kafka-brokers",
            brokers,
            "--kafka-topic-prefix",
            prefix,
            "--run-worker=false",
            "--cluster",
            name,
            "--cluster-partitions",
            std::to_string(partitions),
            "--admin-password",
            "cluster-admin-pw",
            "--db-system",
            "rocksdb",
            "--db-path",
            (std::filesystem::path(dir.path()) / ("node" + std::to_string(i))).string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  std::filesystem::path db(int i) const {
    return std::filesystem::path(dir.path()) / ("node" + std::to_string(i));
  }

  /// Starts node i (a new one when i == nodes.size()).
  runtime_node& start(std::size_t i) {
    if (i >= nodes.size()) nodes.resize(i + 1);
    nodes[i] = std::make_unique<runtime_node>(args(static_cast<int>(i)));
    ++started;
    return *nodes[i];
  }

  runtime_node& any() {
    for (auto& n : nodes)
      if (n) return *n;
    throw std::runtime_error("no node is running");
  }

  /// GET /cluster of a running node.
  json view() { return any().get("/cluster").json(); }

  /// Every partition (and G) is active on exactly one node, no node has one coming or going,
  /// every node sees `members` members and an owner for every partition.
  bool settled(std::size_t members) {
    int active = 0;
    for (auto& n : nodes) {
      if (!n) continue;
      auto c = n->get("/cluster").json();
      if (!c.is_object() || !c["members"].is_array() || c["members"].size() != members)
        return false;
      if (!c["partitions"].is_array() || c["partitions"].size() != partitions + 1) return false;
      for (const auto& p : c["partitions"]) {
        if (p["owner"].is_null()) return false;
        auto here = p.value("local_state", json());
        if (here == "active")
          ++active;
        else if (!here.is_null() && here != "idle")
          return false;
      }
    }
    return active == partitions + 1;
  }

  /// settled(members), and every member owns some partitions (the group gave each its share).
  bool balanced(std::size_t members) {
    if (!settled(members)) return false;
    for (const auto& m : view()["members"])
      if (!m["owned"].is_array() || m["owned"].empty()) return false;
    return true;
  }

  /// Waits until balanced(members) and no partition moved for 3 s: the group may take more than
  /// one round (a node's hello is heard before it joins the group), and a request in flight
  /// while its partition moves is not what these tests are about.
  bool stable(std::size_t members) {
    auto owners = [&] {
      std::vector<std::string> out;
      for (int k = 0; k < partitions; ++k) out.push_back(owner_url(k));
      return out;
    };
    if (!eventually([&] { return balanced(members); }, std::chrono::seconds(60))) return false;
    auto last = owners();
    return eventually(
        [&] {
          std::this_thread::sleep_for(std::chrono::seconds(3));
          auto now = owners();
          const bool same = now == last && balanced(members);
          last = now;
          return same;
        },
        std::chrono::seconds(60));
  }

  /// The node whose URL owns pipeline partition `k` now ("" when none).
  std::string owner_url(int k) {
    auto c = view();
    for (const auto& p : c["partitions"])
      if (p["partition"] == k && p["owner_url"].is_string()) return p["owner_url"];
    return "";
  }

  /// The index of the running node at `url`, or -1.
  int index_of(const std::string& url) {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i] && nodes[i]->server().url() == url) return static_cast<int>(i);
    return -1;
  }

  std::string tails() {
    std::string out;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i]) out += "---- node " + std::to_string(i) + "\n" + nodes[i]->tail() + "\n";
    return out;
  }
};

/// A `--role worker` process of the cluster, asking `server` first.
std::unique_ptr<child_process> cluster_worker(runtime_node& server, const std::string& brokers,
                                              const std::string& name) {
  std::vector<std::string> args{node_binary(),       "--role",         "worker",
                                "--pikoci-url",      server.server().url(),
                                "--pubsub-system",   "kafka",          "--kafka-brokers",
                                brokers,             "--worker-token", worker_token(),
                                "--name",            name,             "--concurrency",
                                "4"};
  auto p = std::make_unique<child_process>(args);
  REQUIRE_MESSAGE(p->wait_for_line("event=worker.ready", 30s), p->tail());
  return p;
}

/// A pipeline whose job appends a line to `marks` each time its task runs, after `sleep`.
std::string marking_pipeline(const std::filesystem::path& marks, const std::string& sleep) {
  return R"hcl(
job "j" {
  task "t" {
    run "shell" { cmd = "sleep )hcl" +
         sleep + "; echo ran >> " + marks.string() + R"hcl(" }
  }
}
)hcl";
}

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

int lines_in(const std::filesystem::path& p) {
  std::ifstream in(p);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
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
    c.nodes[owner]->server().process().stop(SIGKILL);
    c.nodes[owner].reset();
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
}
