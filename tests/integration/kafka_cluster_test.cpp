// Several server nodes in one cluster (`--cluster`), against a real broker: pipelines spread over
// the nodes and any node answers for any pipeline; builds run on remote workers and their events
// reach the owning node; a killed owner's partitions move to the others, whose running builds are
// adopted (not run again) and whose pending ones run; a node leaving with SIGQUIT hands its
// partitions over; a node joining takes some; users and the pipeline list are the same on every
// node.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/client.hpp"
#include "connectors/kafka/tail.hpp"
#include "node/cluster_events.hpp"
#include "persistence/partitioning.hpp"
#include "tests/support/cluster_nodes.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/sse_client.hpp"

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

/// A pipeline with a resource (so it has a webhook token) and a job; with no worker its builds
/// wait in the owner's queue.
const char* const probe_pipeline = R"hcl(
resource_type "probe" {
  check "shell" { cmd = "echo '[]'" }
  pull "shell" { cmd = "true" }
}
resource "probe" "src" {
  check_interval = "@every 1h"
}
job "j" {
  task "t" {
    run "shell" { cmd = "true" }
  }
}
)hcl";

/// The ids of a list of build summaries, or of queue entries (`{"build": <summary>}`).
std::set<std::int64_t> ids_of(const json& list) {
  std::set<std::int64_t> out;
  if (!list.is_array()) return out;
  for (const auto& x : list) {
    const auto& b = x.contains("build") ? x["build"] : x;
    if (b.contains("id") && b["id"].is_number_integer()) out.insert(b["id"].get<std::int64_t>());
  }
  return out;
}

bool includes(const std::set<std::int64_t>& all, const std::set<std::int64_t>& some) {
  return std::includes(all.begin(), all.end(), some.begin(), some.end());
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

  TEST_CASE("a build id, a webhook token and the node-wide reads are answered alike by every node") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 3; ++i) c.start(i);
    REQUIRE_MESSAGE(eventually([&] { return c.settled(3); }, 60s), c.view().dump(), c.tails());

    // pipelines until every node owns one; no worker: their builds wait in their owner's queue
    std::map<int, std::string> owned;  // node index -> one of its pipelines
    std::vector<std::string> names;
    for (int i = 0; i < 24 && owned.size() < 3; ++i) {
      auto name = "g" + std::to_string(i);
      c.nodes[0]->set_pipeline(name, probe_pipeline);
      names.push_back(name);
      int o = c.index_of(c.owner_url(pikoci::persistence::partition_of(name, partitions)));
      REQUIRE_MESSAGE(o >= 0, c.view().dump());
      owned.emplace(o, name);
    }
    REQUIRE_MESSAGE(owned.size() == 3, c.view().dump());

    // a build id names its partition: a node that does not own it answers with the owner's build
    int owner = owned.begin()->first;
    const auto p = owned.begin()->second;
    int other = (owner + 1) % 3;
    auto first = c.nodes[other]->trigger(p, "j");
    REQUIRE_MESSAGE(first["id"].is_number_integer(), first.dump());
    auto id = first["id"].get<std::int64_t>();
    auto by_id = c.nodes[other]->get("/builds/" + std::to_string(id));
    REQUIRE_MESSAGE(by_id.status == 200, by_id.body, c.tails());
    CHECK(by_id.json()["build"]["pipeline"] == p);
    CHECK(by_id.json()["build"]["id"] == id);
    // an id naming no partition of the cluster: the node that gets it answers (404)
    CHECK(c.nodes[other]->get("/builds/" + std::to_string(id | 63)).status == 404);

    // a webhook token: any node finds its pipeline through the catalog and forwards it there
    auto res = c.nodes[other]->resource(p, "probe.src");
    REQUIRE_MESSAGE(res["webhook_token"].is_string(), res.dump());
    std::string token = res["webhook_token"];
    http_response hook;
    CHECK_MESSAGE(eventually(
                      [&] {
                        hook = c.nodes[other]->call("POST", "/webhooks/" + token, "", "");
                        return hook.status == 202;
                      },
                      10s),
                  hook.status, " ", hook.body, c.tails());
    CHECK(hook.json()["resource"] == "probe.src");
    auto unknown = c.nodes[other]->call("POST", "/webhooks/no-such-token", "", "");
    CHECK(unknown.status == 404);
    // a new token is found too, the old one no longer
    auto renewed = c.nodes[other]->post("/pipelines/" + p + "/resources/probe.src/webhook-token");
    REQUIRE_MESSAGE(renewed.status == 200, renewed.body);
    std::string fresh = renewed.json()["resource"]["webhook_token"];
    CHECK(eventually(
        [&] { return c.nodes[other]->call("POST", "/webhooks/" + fresh, "", "").status == 202; },
        10s));
    CHECK(c.nodes[other]->call("POST", "/webhooks/" + token, "", "").status == 404);

    // one waiting build on every node: every node's /queue, /builds, /dashboard and /stats has
    // all of them
    std::set<std::int64_t> waiting{id};
    for (const auto& [i, name] : owned)
      waiting.insert(c.nodes[0]->trigger(name, "j")["id"].get<std::int64_t>());
    for (std::size_t n = 0; n < c.nodes.size(); ++n) {
      CAPTURE(n);
      auto q = c.nodes[n]->get("/queue");
      REQUIRE_MESSAGE(q.status == 200, q.body);
      auto qj = q.json();
      CHECK_MESSAGE(includes(ids_of(qj["pending"]), waiting), qj.dump());
      CHECK(qj["queued"].get<std::int64_t>() >= static_cast<std::int64_t>(waiting.size()));
      CHECK_FALSE(qj.contains("partial"));
      auto all = c.nodes[n]->get("/builds?limit=0").json();
      CHECK_MESSAGE(includes(ids_of(all["builds"]), waiting), all.dump());
      auto newest = c.nodes[n]->get("/builds?limit=2").json();
      CHECK(newest["builds"].size() == 2);
      auto dash = c.nodes[n]->get("/dashboard").json();
      CHECK_MESSAGE(dash["pipelines"].size() == names.size(), dash.dump());
      auto stats = c.nodes[n]->get("/stats").json();
      CHECK(stats["queue_depth"].get<std::int64_t>() >= static_cast<std::int64_t>(waiting.size()));
    }
    // with the local header a node answers for itself only: the first build is not on `other`
    auto own = http_request("GET", c.nodes[other]->server().url() + "/api/v1/queue", "",
                            {{"Authorization", "Bearer " + c.nodes[other]->token()},
                             {"X-Pikoci-Local", "1"}});
    REQUIRE_MESSAGE(own.status == 200, own.body);
    CHECK(ids_of(own.json()["pending"]).count(id) == 0);
    auto at_owner = http_request("GET", c.nodes[owner]->server().url() + "/api/v1/queue", "",
                                 {{"Authorization", "Bearer " + c.nodes[owner]->token()},
                                  {"X-Pikoci-Local", "1"}});
    CHECK(ids_of(at_owner.json()["pending"]).count(id) == 1);
  }

  TEST_CASE("a put to a trigger resource starts the followers owned by another node") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 2; ++i) c.start(i);
    REQUIRE_MESSAGE(c.stable(2), c.view().dump(), c.tails());
    auto w = cluster_worker(*c.nodes[0], c.brokers, "tw");
    // a putting pipeline and a follower whose partitions are owned by different nodes
    std::string app, follower;
    for (int i = 0; i < 64 && follower.empty(); ++i) {
      auto name = "t" + std::to_string(i);
      auto owner = c.owner_url(pikoci::persistence::partition_of(name, partitions));
      if (app.empty()) {
        app = name;
      } else if (owner != c.owner_url(pikoci::persistence::partition_of(app, partitions))) {
        follower = name;
      }
    }
    REQUIRE_MESSAGE(!follower.empty(), c.view().dump());
    c.nodes[0]->set_pipeline(app, R"hcl(
resource "trigger" "release" {}
job "publish" {
  put "trigger" "release" {
    version = "1.4.0"
  }
}
)hcl");
    c.nodes[1]->set_pipeline(follower, R"hcl(
resource "trigger" "release" {}
job "rebuild" {
  get "trigger" "release" {
    trigger = true
  }
  task "show" {
    run "shell" { cmd = "echo release $GET_RELEASE_VERSION from $GET_RELEASE_TRIGGER_PIPELINE" }
  }
}
)hcl");
    c.nodes[1]->trigger(app, "publish");
    auto put = c.nodes[0]->wait_build(app, "publish", "1", 60s);
    REQUIRE_MESSAGE(put["status"] == "succeeded", put.dump(), c.tails());
    auto followed = c.nodes[0]->wait_build(follower, "rebuild", "1", 60s);
    CHECK_MESSAGE(followed["status"] == "succeeded", followed.dump(), c.tails());
    CHECK(all_logs(followed).find("release 1.4.0 from " + app) != std::string::npos);
    // one event, one build
    std::this_thread::sleep_for(2s);
    CHECK(c.nodes[1]->builds(follower, "rebuild").size() == 1);

    // Anyone who can write to the input topic can send trigger records: a signed one with its
    // body changed, and one that is not a record at all, are both refused and start nothing.
    int k = pikoci::persistence::partition_of(follower, partitions);
    auto input = c.prefix + "." + c.name + ".input";
    std::optional<std::string> signed_record;
    pikoci::kafka::tail reader(c.brokers, input, k);
    auto read = reader.catch_up(0, [&](std::vector<pikoci::kafka::record>&& rs) {
      for (auto& r : rs)
        if (r.key == "#trigger" && r.value) signed_record = *r.value;
    });
    REQUIRE_MESSAGE(read.ok(), read.error->message);
    REQUIRE(signed_record);
    auto forged = json::parse(*signed_record);
    auto body = forged["body"].get<std::string>();
    REQUIRE(body.find("1.4.0") != std::string::npos);
    forged["body"] = replace_all(body, "1.4.0", "6.6.6");  // the signature is the original's
    int owner = c.index_of(c.owner_url(k));
    REQUIRE(owner >= 0);
    auto refusals = [&] {
      auto out = c.nodes[owner]->server().process().output();
      std::size_t n = 0;
      for (auto at = out.find("event=cluster.trigger_refused"); at != std::string::npos;
           at = out.find("event=cluster.trigger_refused", at + 1))
        ++n;
      return n;
    };
    auto before = refusals();
    {
      pikoci::kafka::producer out(c.brokers);
      REQUIRE(out.produce(input, "#trigger", forged.dump(), k));
      REQUIRE(out.produce(input, "#trigger", "{not json", k));
      REQUIRE(out.flush(10s));
    }
    CHECK_MESSAGE(eventually([&] { return refusals() >= before + 2; }, 20s), c.tails());
    std::this_thread::sleep_for(2s);
    CHECK(c.nodes[1]->builds(follower, "rebuild").size() == 1);
    CHECK(c.nodes[1]->server().process().output().find("6.6.6") == std::string::npos);
  }

  TEST_CASE("a build's stream relayed by another node resumes on a survivor after its owner is killed") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 2; ++i) c.start(i);
    REQUIRE_MESSAGE(c.stable(2), c.view().dump(), c.tails());
    auto w1 = cluster_worker(*c.nodes[0], c.brokers, "w1");
    c.nodes[0]->set_pipeline("talk", R"hcl(
job "j" {
  task "one" {
    run "shell" { cmd = "echo first-a; echo first-b" }
  }
  task "two" {
    run "shell" { cmd = "sleep 5; echo second" }
  }
  task "three" {
    run "shell" { cmd = "echo third" }
  }
}
)hcl");
    int owner = c.index_of(c.owner_url(pikoci::persistence::partition_of("talk", partitions)));
    REQUIRE_MESSAGE(owner >= 0, c.view().dump());
    auto other = static_cast<std::size_t>(1 - owner);
    auto& relay = *c.nodes[other];
    relay.trigger("talk", "j");
    auto url = [](runtime_node& n) {
      return n.server().url() + "/api/v1/pipelines/talk/jobs/j/builds/1/events";
    };
    // the stream through the node that does not own the pipeline, until step one is over
    std::string id;
    {
      sse_client s(url(relay), relay.token());
      auto one_done = [](const std::vector<sse_event>& ev) {
        for (const auto& e : ev)
          if (e.type == "step" && e.data["name"] == "one" && !e.data["finished_at"].is_null())
            return true;
        return false;
      };
      REQUIRE_MESSAGE(s.wait(one_done, 60s), c.tails());
      for (const auto& e : s.events()) {
        CHECK_MESSAGE(!e.id.empty(), e.type);  // the relayed stream keeps the owner's ids
        if (e.type == "step" && e.data["name"] == "one" && !e.data["finished_at"].is_null())
          id = e.id;
      }
    }
    REQUIRE(!id.empty());
    // the client's connection breaks right after step one ended; the owner dies meanwhile
    REQUIRE(eventually([&] { return relay.build("talk", "j", "1")["status"] == "started"; }, 10s));
    c.kill(static_cast<std::size_t>(owner));
    sse_client again(url(relay), std::vector<std::string>{"Authorization: Bearer " + relay.token(),
                                                          "Last-Event-ID: " + id},
                     120s);
    REQUIRE_MESSAGE(again.wait_closed(90s), c.tails());
    auto rest = again.events();
    CAPTURE(id);
    CAPTURE(c.tails());
    REQUIRE(!rest.empty());
    std::string text;
    for (const auto& e : rest)
      if (e.type == "log") text += e.data.value("chunk", "");
    CHECK(rest.front().type == "build");
    for (const auto& e : rest) CHECK(e.type != "reset");
    CHECK(text.find("first-") == std::string::npos);  // step one's output is not sent again
    CHECK(text.find("third") != std::string::npos);
    CHECK(rest.back().type == "end");
    CHECK(rest.back().data["status"] == "succeeded");
  }

  TEST_CASE("GET /events on any node shows every pipeline's events, through the status topic") {
    auto& broker = kafka_broker::shared();
    cluster c(broker.bootstrap());
    for (int i = 0; i < 2; ++i) c.start(i);
    REQUIRE_MESSAGE(c.stable(2), c.view().dump(), c.tails());
    // a pipeline owned by node 0, another pipeline anywhere; node 1 is where they are watched
    std::string mine, other;
    for (int i = 0; i < 64 && mine.empty(); ++i) {
      auto name = "ev" + std::to_string(i);
      if (c.index_of(c.owner_url(pikoci::persistence::partition_of(name, partitions))) == 0)
        mine = name;
      else if (other.empty())
        other = name;
    }
    if (other.empty()) other = mine + "x";
    REQUIRE_MESSAGE(!mine.empty(), c.view().dump());
    auto& a = *c.nodes[0];
    auto& b = *c.nodes[1];
    auto url = [](runtime_node& n, const std::string& query) {
      return n.server().url() + "/api/v1/events" + query;
    };
    sse_client at_owner(url(a, ""), a.token(), 120s);
    sse_client all(url(b, ""), b.token(), 120s);
    for (auto* s : {&at_owner, &all}) REQUIRE(s->wait_open());
    // `?pipeline=` on node 1 takes a pipeline it does not own, once its catalog has it
    auto watch = [&](const std::string& p) {
      std::unique_ptr<sse_client> s;
      REQUIRE_MESSAGE(eventually(
                          [&] {
                            s = std::make_unique<sse_client>(url(b, "?pipeline=" + p), b.token(),
                                                             120s);
                            // a 404 answer ends at once, a stream stays open
                            return s->wait_open(5s) && !s->wait_closed(1s);
                          },
                          20s),
                      s->status(), " ", s->error_body());
      return s;
    };

    b.set_pipeline(mine, probe_pipeline);
    b.set_pipeline(other, probe_pipeline);
    auto only_ptr = watch(mine), only_other_ptr = watch(other);
    auto& only = *only_ptr;
    auto& only_other = *only_other_ptr;
    auto build = b.trigger(mine, "j");  // no worker: it waits in the owner's queue
    const auto id = build["id"];
    auto of = [](const sse_event& e, const std::string& type, const std::string& pipeline) {
      if (e.type != type || !e.data.is_object()) return false;
      return e.data.value("pipeline", e.data.value("name", std::string())) == pipeline;
    };
    auto has = [&](const std::string& type, const std::string& pipeline) {
      return [&, type, pipeline](const std::vector<sse_event>& ev) {
        return std::any_of(ev.begin(), ev.end(), [&](const sse_event& e) {
          return of(e, type, pipeline) && (type != "build" || e.data.value("id", json()) == id);
        });
      };
    };
    // node 1 owns nothing of `mine`, and sees its pipeline and build events
    CHECK_MESSAGE(all.wait(has("pipeline", mine), 30s), c.tails());
    CHECK_MESSAGE(all.wait(has("build", mine), 30s), c.tails());
    CHECK(only.wait(has("build", mine), 30s));
    CHECK(at_owner.wait(has("build", mine), 30s));  // the owner's own subscribers too

    // a record that is not JSON, one signed with another secret: logged and dropped
    const auto topic = c.prefix + "." + c.name + ".status";
    {
      pikoci::kafka::producer p(c.brokers);
      REQUIRE(p.produce(topic, mine, "garbage", 0));
      auto forged = pikoci::node::encode_status(
          "not-the-secret", {mine, "build", R"({"pipeline":")" + mine + R"(","forged":true})"});
      REQUIRE(forged);
      REQUIRE(p.produce(topic, mine, *forged, 0));
      REQUIRE(p.flush(10s));
    }
    CHECK_MESSAGE(b.server().process().wait_for_line("event=cluster.status_record_refused", 20s),
                  b.tail());
    // then real events: they come after the forged ones, which nobody got
    CHECK(b.post("/pipelines/" + other + "/pause").status == 200);
    CHECK(b.post("/pipelines/" + mine + "/pause").status == 200);
    auto paused = [&](const std::vector<sse_event>& ev) {
      return std::any_of(ev.begin(), ev.end(), [&](const sse_event& e) {
        return of(e, "pipeline", mine) && e.data.value("action", "") == "paused";
      });
    };
    REQUIRE_MESSAGE(all.wait(paused, 30s), c.tails());
    REQUIRE(at_owner.wait(paused, 30s));
    REQUIRE(only.wait(paused, 30s));
    CHECK(only_other.wait(has("pipeline", other), 30s));
    CHECK(b.healthy());
    CHECK(a.healthy());
    for (auto* n : {&a, &b}) {  // each node dropped both records
      auto out = n->server().process().output();
      int refused = 0;
      for (auto at = out.find("event=cluster.status_record_refused"); at != std::string::npos;
           at = out.find("event=cluster.status_record_refused", at + 1))
        ++refused;
      CHECK_MESSAGE(refused == 2, n->tail());
    }

    // `?pipeline=` filters; both nodes saw the same events, once each, in the same order, with
    // the same ids
    auto seen_all = all.events(), seen_owner = at_owner.events();
    for (const auto& e : seen_all) CHECK_FALSE(e.data.contains("forged"));
    for (const auto& e : only.events()) CHECK_MESSAGE(of(e, e.type, mine), e.type, e.data.dump());
    for (const auto& e : only_other.events())
      CHECK_MESSAGE(of(e, e.type, other), e.type, e.data.dump());
    auto line = [](const sse_event& e) { return e.id + " " + e.type + " " + e.data.dump(); };
    std::vector<std::string> on_b, on_a;
    for (const auto& e : seen_all) on_b.push_back(line(e));
    for (const auto& e : seen_owner) on_a.push_back(line(e));
    auto upto = std::find_if(on_a.begin(), on_a.end(), [&](const std::string& l) {
      return l.find("\"paused\"") != std::string::npos;
    });
    REQUIRE(upto != on_a.end());
    on_a.erase(upto + 1, on_a.end());
    on_b.resize(std::min(on_b.size(), on_a.size()));
    CHECK(on_a == on_b);
    std::set<std::string> ids;
    for (const auto& e : seen_all) CHECK(ids.insert(e.id).second);

    // a subscriber of node 0 reconnects to node 1 with its last id: node 1 sends what came after
    const auto build_at = std::find_if(seen_owner.begin(), seen_owner.end(), [&](const sse_event& e) {
      return of(e, "build", mine) && e.data.value("id", json()) == id;
    });
    REQUIRE(build_at != seen_owner.end());
    sse_client resumed(url(b, "?pipeline=" + mine),
                       std::vector<std::string>{"Authorization: Bearer " + b.token(),
                                                "Last-Event-ID: " + build_at->id},
                       60s);
    REQUIRE(resumed.wait(paused, 20s));
    auto again = resumed.events();
    REQUIRE(!again.empty());
    CHECK(again.front().type != "reset");
    for (const auto& e : again) {
      CHECK(e.type != "reset");
      CHECK_FALSE(of(e, "build", mine));  // the build event came before the id: not again
    }
  }
}
