// Durability with RocksDB (SPEC §8) through the real binary: a node killed with SIGKILL and
// started again on the same directory has everything it acknowledged, and stores it cannot use
// are refused without being touched.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> rocksdb_args(const temp_dir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// Starts a node and expects it to refuse: exit code and output.
command_result refused(const std::vector<std::string>& args) {
  std::vector<std::string> cmd{node_binary(), "--role",       "server",     "--port",
                               "0",           "--jwt-secret", "test-secret"};
  cmd.insert(cmd.end(), args.begin(), args.end());
  return run_command(cmd, 20s);
}

}  // namespace

TEST_SUITE("integration.durability") {
  TEST_CASE("restart: pipelines, builds, numbering, pauses, rules and the queue come back") {
    temp_dir dir;
    auto args = rocksdb_args(dir, {"--concurrency", "1", "--max-in-flight", "1"});
    auto runs = dir.file("runs");
    {
      runtime_node node(args);
      node.set_pipeline("p", recording_job("slow", runs, "30") + recording_job("fast", runs, "0") +
                                 recording_job("idle", runs, "0"));
      CHECK(node.put("/pipelines/p/concurrency", R"({"mode":"serial"})").status == 200);
      CHECK(node.post("/pipelines/p/jobs/idle/pause").status == 200);
      node.trigger("p", "slow");
      node.wait_started("p", "slow", "1");
      for (int i = 0; i < 3; ++i) node.trigger("p", "fast");
      CHECK(node.get("/queue").json()["queued"] == 3);
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    // the running build went with the node; the queued ones run now, in their order
    auto slow = node.wait_build("p", "slow", "1");
    CHECK(slow["status"] == "errored");
    CHECK(slow["reason"] == "orphaned: server stopped during build");
    auto fast = node.wait_builds("p", "fast", 3);
    CHECK(numbers_of(fast) == "3,2,1");
    for (const auto& b : fast) CHECK(b["status"] == "succeeded");
    CHECK(fast[2]["started_at"] <= fast[1]["started_at"]);  // milliseconds: may be equal
    CHECK(fast[1]["started_at"] <= fast[0]["started_at"]);
    // numbering continues; pause and rule are kept
    CHECK(node.trigger("p", "fast")["number"] == "4");
    CHECK(node.job("p", "idle")["paused"] == true);
    CHECK(node.get("/pipelines/p").json()["pipeline"]["concurrency"]["mode"] == "serial");
    // each build ran once
    auto lines = dir.lines("runs");
    CHECK(std::set<std::string>(lines.begin(), lines.end()).size() == lines.size());
  }

  TEST_CASE("restart: versions, pins and the check schedule come back; no check is due early") {
    temp_dir dir;
    dir.write("check", R"([{"ref":"v1"},{"ref":"v2"}])");
    auto hcl = replace_all(R"hcl(
resource_type "filever" {
  check "shell" {
    cmd = "echo check >> @DIR@/checks; cat @DIR@/check"
  }
}
resource "filever" "src" {
  check_interval = "@every 1h"
}
)hcl",
                           "@DIR@", dir.path());
    auto args = rocksdb_args(dir);
    json before;
    {
      runtime_node node(args);
      node.set_pipeline("v", hcl);
      auto versions = node.wait_versions("v", "filever.src", 2);
      auto v1 = versions[1]["id"].get<std::int64_t>();
      CHECK(node.post("/pipelines/v/resources/filever.src/pin", json{{"version_id", v1}}.dump())
                .status == 200);
      REQUIRE(eventually(
          [&] { return !node.resource("v", "filever.src")["last_check_at"].is_null(); }));
      before = node.resource("v", "filever.src");
      std::this_thread::sleep_for(300ms);  // the check state goes with the next group commit
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    auto after = node.resource("v", "filever.src");
    CHECK(after["pinned_version_id"] == before["pinned_version_id"]);
    CHECK(after["last_check_at"] == before["last_check_at"]);
    CHECK(after["next_check_at"] == before["next_check_at"]);
    CHECK(after["webhook_token"] == before["webhook_token"]);
    auto versions = node.versions("v", "filever.src");
    REQUIRE(versions.size() == 2);
    CHECK(versions[0]["version"]["ref"] == "v2");
    std::this_thread::sleep_for(500ms);
    CHECK(dir.lines("checks").size() == 1);  // due in an hour, not at start-up
  }

  TEST_CASE("retention: only the newest finished builds per job are kept, across restarts") {
    temp_dir dir;
    auto args = rocksdb_args(dir, {"--max-builds-per-job", "2", "--concurrency", "1"});
    {
      runtime_node node(args);
      node.set_pipeline("r", recording_job("a", dir.file("runs"), "0"));
      for (int i = 1; i <= 4; ++i) {
        node.trigger("r", "a");
        node.wait_build("r", "a", std::to_string(i));
      }
      REQUIRE(eventually([&] { return numbers_of(node.builds("r", "a")) == "4,3"; }));
      CHECK(node.get("/pipelines/r/jobs/a/builds/1").status == 404);
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    CHECK(numbers_of(node.builds("r", "a")) == "4,3");
    CHECK(node.trigger("r", "a")["number"] == "5");
  }

  TEST_CASE("crash points: the node dies at each named point; after a restart nothing is lost") {
    for (const char* point : {"after_batch_write", "before_ack", "after_spawn", "before_status"}) {
      CAPTURE(point);
      temp_dir dir;
      auto args = rocksdb_args(dir, {"--concurrency", "1"});
      auto runs = dir.file("runs");
      {
        runtime_node node(args);
        node.set_pipeline("c", recording_job("a", runs, "0"));
      }
      std::optional<json> acknowledged;
      {
        runtime_node node(args, {{"PIKOCI_CRASH_AT", point}});
        auto r = node.post("/pipelines/c/jobs/a/trigger");
        if (r.status == 201) acknowledged = r.json()["build"];
        // it dies at the point, one way or another
        CHECK(node.server().process().wait_exit(20s).has_value());
      }
      runtime_node node(args);
      auto builds = node.builds("c", "a");
      if (acknowledged) {
        auto b = node.get("/builds/" + std::to_string((*acknowledged)["id"].get<std::int64_t>()));
        CHECK_MESSAGE(b.status == 200, "acknowledged build lost at ", point);
      }
      // whatever was recorded is over or runs now; nothing runs twice; numbering continues
      for (const auto& b : builds) node.wait_build("c", "a", b["number"].get<std::string>());
      auto lines = dir.lines("runs");
      CHECK(std::set<std::string>(lines.begin(), lines.end()).size() == lines.size());
      auto next = node.trigger("c", "a")["number"].get<std::string>();
      CHECK(std::stoi(next) == static_cast<int>(builds.size()) + 1);
    }
  }

  TEST_CASE("restart: a deleted pipeline stays deleted") {
    temp_dir dir;
    auto args = rocksdb_args(dir);
    {
      runtime_node node(args);
      node.set_pipeline("gone", recording_job("a", dir.file("runs"), "0"));
      node.set_pipeline("kept", recording_job("a", dir.file("runs"), "0"));
      CHECK(node.del("/pipelines/gone").status == 204);
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    auto list = node.get("/pipelines").json()["pipelines"];
    REQUIRE(list.size() == 1);
    CHECK(list[0]["name"] == "kept");
  }

  TEST_CASE("kill -9 loop: no acknowledged build is lost, none runs twice") {
    temp_dir dir;
    auto args = rocksdb_args(
        dir, {"--concurrency", "2", "--max-in-flight", "2", "--max-queue-size", "10000",
              "--max-builds-per-job", "1000000"});  // no retention: every build stays findable
    auto runs = dir.file("runs");
    std::mt19937 rng(20261122);
    std::set<std::int64_t> acknowledged;
    std::map<std::string, std::set<std::string>> numbers;  // job → numbers seen acknowledged
    const int cycles = 20;
    for (int cycle = 0; cycle < cycles; ++cycle) {
      runtime_node node(args);
      if (cycle == 0)
        node.set_pipeline("k", recording_job("a", runs, "0.01") + recording_job("b", runs, "0"));
      std::atomic<bool> stop{false};
      std::mutex mu;
      std::vector<std::thread> clients;
      for (int c = 0; c < 2; ++c)
        clients.emplace_back([&, c] {
          while (!stop) {
            auto r = node.post(std::string("/pipelines/k/jobs/") + (c ? "b" : "a") + "/trigger");
            std::this_thread::sleep_for(10ms);  // bounded load: the queue drains in seconds
            if (r.status != 201) continue;      // the node is going away
            auto b = r.json()["build"];
            std::lock_guard<std::mutex> l(mu);
            acknowledged.insert(b["id"].get<std::int64_t>());
            CHECK_MESSAGE(numbers[b["job"]].insert(b["number"]).second,
                          "number reused: ", b.dump());
          }
        });
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 400));
      kill(node.server().process().pid(), SIGKILL);
      stop = true;
      for (auto& t : clients) t.join();
      node.server().process().stop(SIGKILL);
    }
    runtime_node node(args);
    // every acknowledged build is there; everything settles
    for (auto id : acknowledged) {
      auto r = node.get("/builds/" + std::to_string(id));
      CHECK_MESSAGE(r.status == 200, "build ", id, " lost");
    }
    REQUIRE(eventually(
        [&] {
          auto q = node.get("/queue").json();
          return q["queued"] == 0 && q["in_flight"] == 0;
        },
        60s));
    auto lines = dir.lines("runs");
    std::map<std::string, int> ran;
    for (const auto& l : lines) ++ran[l];
    for (const auto& [id, n] : ran) CHECK_MESSAGE(n == 1, "build ", id, " ran ", n, " times");
    MESSAGE("acknowledged builds: " << acknowledged.size() << ", runs: " << lines.size());
    CHECK(acknowledged.size() > 0);
  }

  TEST_CASE("export from a memory node; a RocksDB node starts from it with the same data") {
    temp_dir dir;
    auto runs = dir.file("runs");
    json before_builds, before_pipeline;
    {
      runtime_node mem({"--concurrency", "1"});
      mem.set_pipeline("e", recording_job("a", runs, "0") + recording_job("b", runs, "0"));
      CHECK(mem.post("/pipelines/e/jobs/b/pause").status == 200);
      mem.trigger("e", "a");
      mem.trigger("e", "a");
      mem.wait_builds("e", "a", 2);
      before_builds = mem.builds("e", "a");
      before_pipeline = mem.get("/pipelines/e").json()["pipeline"];
      // only admins may export
      CHECK(mem.call("GET", "/admin/export", "", user_token("write")).status == 403);
      auto r = run_command({node_binary(), "client", "--url", mem.server().url(), "--token",
                            mem.token(), "export", "--output", dir.file("snapshot")});
      REQUIRE_MESSAGE(r.exit_code == 0, r.output);
      CHECK(r.output.find("exported to") != std::string::npos);
      // the target exists now: refused, untouched
      r = run_command({node_binary(), "client", "--url", mem.server().url(), "--token", mem.token(),
                       "export", "--output", dir.file("snapshot")});
      CHECK(r.exit_code == 2);
    }
    runtime_node rocks({"--db-system", "rocksdb", "--db-path", dir.file("snapshot")});
    CHECK(rocks.builds("e", "a") == before_builds);
    auto after = rocks.get("/pipelines/e").json()["pipeline"];
    CHECK(after["config"] == before_pipeline["config"]);
    CHECK(after["created_at"] == before_pipeline["created_at"]);
    CHECK(rocks.job("e", "b")["paused"] == true);
    CHECK(rocks.trigger("e", "a")["number"] == "3");
  }

  TEST_CASE("stores that cannot be used are refused and left untouched") {
    temp_dir dir;
    // a file
    dir.write("file", "not a store");
    auto r = refused({"--db-system", "rocksdb", "--db-path", dir.file("file")});
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("is not a directory") != std::string::npos);
    CHECK(dir.read("file") == "not a store");
    // a directory with something else in it
    std::filesystem::create_directories(dir.file("other"));
    std::ofstream(dir.file("other/notes.txt")) << "mine";
    r = refused({"--db-system", "rocksdb", "--db-path", dir.file("other")});
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("without a RocksDB store") != std::string::npos);
    CHECK(dir.read("other/notes.txt") == "mine");
    // locked by a running node
    {
      runtime_node node(rocksdb_args(dir));
      r = refused(rocksdb_args(dir));
      CHECK(r.exit_code == 1);
      CHECK(r.output.find("in use by another process") != std::string::npos);
      CHECK(node.healthy());
    }
    // corrupt
    temp_dir broken;
    {
      runtime_node node(rocksdb_args(broken));
      node.set_pipeline("p", recording_job("a", broken.file("runs"), "0"));
    }
    for (const auto& e : std::filesystem::directory_iterator(broken.file("db")))
      if (e.path().filename().string().rfind("MANIFEST", 0) == 0) {
        std::ofstream f(e.path(), std::ios::binary | std::ios::trunc);
        f << "garbage";
      }
    r = refused(rocksdb_args(broken));
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("store.open_failed") != std::string::npos);
  }
}
