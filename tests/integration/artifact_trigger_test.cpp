// The built-in `artifact` and `trigger` resource types and the versions puts print, driven over
// HTTP like a user would: a cron → build → artifact → deploy-staging → deploy-prod chain where
// each downstream job gets the exact artifact version the put made and sees its files, the
// artifact routes refusing hostile input, trigger events reaching every pipeline that declares
// the same trigger, and $CACHE_DIR kept across builds.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// The flags that keep a node's artifacts and caches inside the test's directory.
std::vector<std::string> store_flags(const temp_dir& dir) {
  return {"--artifact-dir", dir.file("artifacts"), "--cache-root", dir.file("cache")};
}

const char* const chain = R"(
resource "cron" "tick" {
  check_interval = "@every 1h"
}

resource "artifact" "bin" {
  check_interval = "@every 1h"
  params {
    dir = "bin-in"
  }
}

job "build" {
  get "cron" "tick" {
    trigger = true
  }
  task "compile" {
    run "shell" {
      cmd = "mkdir -p out/sub && echo built-$BUILD_NUMBER > out/app.txt && echo nested > out/sub/n.txt"
    }
  }
  put "artifact" "bin" {
    dir = "out"
  }
}

job "deploy-staging" {
  get "artifact" "bin" {
    trigger = true
    passed  = ["build"]
  }
  task "deploy" {
    run "shell" {
      cmd = "cat bin-in/app.txt bin-in/sub/n.txt; echo sha=$GET_BIN_SHA"
    }
  }
}

job "deploy-prod" {
  get "artifact" "bin" {
    trigger = true
    passed  = ["deploy-staging"]
  }
  task "deploy" {
    run "shell" {
      cmd = "cat bin-in/app.txt; echo sha=$GET_BIN_SHA"
    }
  }
}
)";

/// The version the build's get of `name` used.
json input_version(const json& build, const std::string& name) {
  for (const auto& in : build["inputs"])
    if (in.value("name", "") == name) return in["version"];
  return nullptr;
}

/// Waits until `job` has `count` finished builds; the newest, in full (steps and logs).
json newest_build(runtime_node& node, const std::string& pipeline, const std::string& job,
                  std::size_t count) {
  auto list = node.wait_builds(pipeline, job, count, 30s);
  return node.build(pipeline, job, list[0]["number"].get<std::string>());
}

bool is_sha(const json& v) {
  return v.is_string() && std::regex_match(v.get<std::string>(), std::regex("[0-9a-f]{64}"));
}

}  // namespace

TEST_SUITE("integration.artifacts") {
  TEST_CASE(
      "artifact: cron → build → artifact → deploy-staging → deploy-prod, each gets the put's "
      "version") {
    temp_dir dir;
    runtime_node node(store_flags(dir));
    node.set_pipeline("chain", chain);

    node.check("chain", "cron.tick");
    auto built = newest_build(node, "chain", "build", 1);
    REQUIRE_MESSAGE(built["status"] == "succeeded", built.dump(2), node.tail());
    auto stored = node.wait_versions("chain", "artifact.bin", 1, 10s);
    REQUIRE(stored.size() == 1);
    auto v1 = stored[0]["version"];
    CHECK(is_sha(v1["sha"]));
    CHECK(step_logs(built, "bin").find("stored artifact " + v1["sha"].get<std::string>()) !=
          std::string::npos);

    auto staging = newest_build(node, "chain", "deploy-staging", 1);
    CHECK_MESSAGE(staging["status"] == "succeeded", staging.dump(2));
    CHECK(input_version(staging, "bin") == v1);
    auto log = step_logs(staging, "deploy");
    CHECK_MESSAGE(log.find("built-1") != std::string::npos, log);
    CHECK(log.find("nested") != std::string::npos);
    CHECK(log.find("sha=" + v1["sha"].get<std::string>()) != std::string::npos);

    auto prod = newest_build(node, "chain", "deploy-prod", 1);
    CHECK_MESSAGE(prod["status"] == "succeeded", prod.dump(2));
    CHECK(input_version(prod, "bin") == v1);
    CHECK(step_logs(prod, "deploy").find("built-1") != std::string::npos);

    // a second tick: a second artifact, and the chain follows it
    std::this_thread::sleep_for(1100ms);  // `date` of the cron type changes every second
    node.check("chain", "cron.tick");
    auto built2 = newest_build(node, "chain", "build", 2);
    REQUIRE(built2["status"] == "succeeded");
    auto stored2 = node.wait_versions("chain", "artifact.bin", 2, 10s);
    auto v2 = stored2[0]["version"];
    CHECK(v2 != v1);
    auto staging2 = newest_build(node, "chain", "deploy-staging", 2);
    CHECK(input_version(staging2, "bin") == v2);
    CHECK(step_logs(staging2, "deploy").find("built-2") != std::string::npos);
    auto prod2 = newest_build(node, "chain", "deploy-prod", 2);
    CHECK(input_version(prod2, "bin") == v2);

    // a check lists nothing new (the puts are recorded already): still two versions
    node.check("chain", "artifact.bin");
    std::this_thread::sleep_for(700ms);
    CHECK(node.versions("chain", "artifact.bin").size() == 2);

    // the node's store holds them; deleting the pipeline deletes them
    CHECK(std::filesystem::is_directory(dir.file("artifacts/chain/artifact.bin/data")));
    CHECK(node.del("/pipelines/chain").status == 204);
    CHECK(!std::filesystem::exists(dir.file("artifacts/chain")));
  }

  TEST_CASE("artifact: with RocksDB they live next to the store and outlive a restart") {
    temp_dir dir;
    std::vector<std::string> flags{"--db-system",  "rocksdb",      "--db-path",
                                   dir.file("db"), "--cache-root", dir.file("cache")};
    std::string sha;
    {
      runtime_node node(flags);
      node.set_pipeline("chain", chain);
      node.check("chain", "cron.tick");
      REQUIRE(newest_build(node, "chain", "deploy-prod", 1)["status"] == "succeeded");
      sha = node.versions("chain", "artifact.bin")[0]["version"]["sha"].get<std::string>();
    }
    CHECK(std::filesystem::exists(
        dir.file("db-artifacts/chain/artifact.bin/data/" + sha + ".tar.gz")));
    runtime_node node(flags);
    node.trigger("chain", "deploy-prod");
    auto again = newest_build(node, "chain", "deploy-prod", 2);
    CHECK_MESSAGE(again["status"] == "succeeded", again.dump(2));
    CHECK(step_logs(again, "deploy").find("built-1") != std::string::npos);
  }

  TEST_CASE("artifact: base_dir keeps the store in a directory of the worker") {
    temp_dir dir;
    runtime_node node(store_flags(dir));
    node.set_pipeline("local", replace_all(R"(
resource "artifact" "out" {
  check_interval = "@every 1h"
  params {
    dir      = "got"
    base_dir = "@DIR@/shared"
  }
}
job "make" {
  task "t" {
    run "shell" {
      cmd = "mkdir -p o && echo local-file > o/f.txt"
    }
  }
  task "no-node-credentials" {
    run "shell" {
      cmd = "echo url=[$PIKOCI_NODE_URL] token=[$PIKOCI_NODE_TOKEN]"
    }
  }
  put "artifact" "out" {
    dir = "o"
  }
}
job "use" {
  get "artifact" "out" {
    trigger = true
    passed  = ["make"]
  }
  task "t" {
    run "shell" {
      cmd = "cat got/f.txt"
    }
  }
}
)",
                                           "@DIR@", dir.path()));
    node.trigger("local", "make");
    auto use = newest_build(node, "local", "use", 1);
    CHECK_MESSAGE(use["status"] == "succeeded", use.dump(2));
    CHECK(step_logs(use, "t").find("local-file") != std::string::npos);
    // the node's URL and token go to its own handlers only, never to a task
    auto make = node.build("local", "make", "1");
    CHECK_MESSAGE(
        step_logs(make, "no-node-credentials").find("url=[] token=[]") != std::string::npos,
        step_logs(make, "no-node-credentials"));
    CHECK(std::filesystem::is_directory(dir.file("shared/local/artifact.out/data")));
    CHECK(!std::filesystem::exists(dir.file("artifacts/local")));
  }

  TEST_CASE("artifact: a pipeline cannot hand the node's token to a program of its choosing") {
    temp_dir dir;
    runtime_node node(store_flags(dir));
    // a `tar` of the pipeline's, first in a PATH the pipeline sets, would read the token from
    // the environment of the handler that runs it
    std::filesystem::create_directories(dir.file("evil"));
    std::ofstream(dir.file("evil/tar")) << "#!/bin/sh\ntr '\\0' '\\n' < /proc/$PPID/environ > "
                                        << dir.file("stolen") << "\nexit 1\n";
    std::filesystem::permissions(dir.file("evil/tar"), std::filesystem::perms::owner_all);
    node.set_pipeline("steal", replace_all(R"(
job "j" {
  task "prepare" {
    run "shell" {
      cmd = "mkdir -p x && echo data > x/f"
    }
  }
  task "t" {
    run "pikoci-node" {
      handler         = "artifact.push"
      PATH            = "@DIR@/evil"
      LD_PRELOAD      = "@DIR@/nothing.so"
      put_dir         = "x"
      PIKOCI_RESOURCE = "steal/artifact.x"
    }
  }
}
)",
                                           "@DIR@", dir.path()));
    node.trigger("steal", "j");
    auto b = node.wait_build("steal", "j", "1", 30s);
    // the real tar ran (the worker's PATH), and the pipeline's loader variable was dropped
    CHECK_MESSAGE(b["status"] == "succeeded", b.dump(2));
    CHECK(step_logs(b, "t").find("stored artifact") != std::string::npos);
    CHECK(!std::filesystem::exists(dir.file("stolen")));
  }

  TEST_CASE("artifact: the routes take only worker tokens and refuse hostile input") {
    temp_dir dir;
    auto flags = store_flags(dir);
    flags.insert(flags.end(), {"--max-artifact-size", "1"});
    runtime_node node(flags);
    auto worker = worker_token();
    auto base = std::string("/artifacts/p1/artifact.a");
    CHECK(node.call("GET", base, "", "").status == 401);
    CHECK(node.call("GET", base, "", node.token()).status == 403);
    CHECK(node.call("POST", base, "bytes", node.token()).status == 403);

    auto up = node.call("POST", base, "not really a tar.gz", worker);
    REQUIRE_MESSAGE(up.status == 201, up.body);
    auto v = json::parse(up.body);
    CHECK(is_sha(v["sha"]));
    auto got = node.call("GET", base + "/" + v["sha"].get<std::string>(), "", worker);
    CHECK(got.status == 200);
    CHECK(got.body == "not really a tar.gz");
    auto listed = json::parse(node.call("GET", base, "", worker).body);
    CHECK(listed["versions"] == json::array({v}));
    CHECK(json::parse(
              node.call("GET", base + "?after=" + v["timestamp"].get<std::string>(), "", worker)
                  .body)["versions"] == json::array());

    // hostile names, shas and timestamps
    CHECK(node.call("GET", "/artifacts/..%2F..%2Fetc/x", "", worker).status / 100 == 4);
    CHECK(node.call("GET", "/artifacts/p1/..", "", worker).status / 100 == 4);
    CHECK(node.call("GET", base + "/../../../etc/passwd", "", worker).status / 100 == 4);
    CHECK(node.call("GET", base + "/" + std::string(64, 'g'), "", worker).status == 404);
    CHECK(node.call("GET", base + "/" + std::string(64, 'a'), "", worker).status == 404);
    CHECK(node.call("GET", base + "?after=1;rm", "", worker).status == 400);
    CHECK(node.call("POST", base, "", worker).status == 400);
    // larger than --max-artifact-size (1 MiB): refused before the body is read
    CHECK(node.call("POST", base, std::string(1100 * 1024, 'x'), worker).status == 413);
    // ordinary routes keep their own body limit
    CHECK(
        node.call("PUT", "/pipelines/x", std::string(5 * 1024 * 1024, ' '), node.token()).status ==
        413);
    CHECK(node.healthy());
  }

  TEST_CASE("artifact: $CACHE_DIR (cache = true) persists across builds") {
    temp_dir dir;
    runtime_node node(store_flags(dir));
    node.set_pipeline("cached", R"HCL(
resource_type "counter" {
  cache = true
  check "shell" {
    cmd = "echo '[{\"v\":\"1\"}]'"
  }
  pull "shell" {
    cmd = "n=$(cat $CACHE_DIR/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > $CACHE_DIR/n; echo pulls=$n dir=$CACHE_DIR"
  }
  push "shell" {
    cmd = "echo pushed >> $CACHE_DIR/pushes; echo pushes=$(wc -l < $CACHE_DIR/pushes)"
  }
}
resource "counter" "c" {
  check_interval = "@every 1h"
}
job "j" {
  get "counter" "c" {}
  put "counter" "c" {}
}
)HCL");
    node.check("cached", "counter.c");
    node.wait_versions("cached", "counter.c", 1, 10s);
    node.trigger("cached", "j");
    auto b1 = node.wait_build("cached", "j", "1", 30s);
    REQUIRE_MESSAGE(b1["status"] == "succeeded", b1.dump(2));
    node.trigger("cached", "j");
    auto b2 = node.wait_build("cached", "j", "2", 30s);
    REQUIRE(b2["status"] == "succeeded");
    auto pulls = step_logs(b2, "c");
    CHECK_MESSAGE(
        pulls.find("pulls=2 dir=" + dir.file("cache/main/cached/counter.c")) != std::string::npos,
        pulls);
    CHECK(all_logs(b2).find("pushes=2") != std::string::npos);
  }
}

/// A user-defined type whose push prints the version it made (`{"tag": $put_tag}`).
const char* const release_pipeline = R"HCL(
resource_type "release" {
  push "shell" {
    cmd = "echo pushing; echo '[{\"tag\":\"'$put_tag'\"}]'"
  }
  pull "shell" {
    cmd = "echo pulled tag=$version_tag"
  }
}
resource "release" "rel" {}
job "publish" {
  put "release" "rel" {
    tag = "@TAG@"
  }
}
job "announce" {
  get "release" "rel" {
    trigger = true
    passed  = ["publish"]
  }
}
)HCL";

TEST_SUITE("integration.put_versions") {
  TEST_CASE(
      "put: versions a user-defined push prints are recorded and passed jobs get exactly them") {
    temp_dir dir;
    runtime_node node(store_flags(dir));
    node.set_pipeline("pv", replace_all(release_pipeline, "@TAG@", "v1"));
    node.trigger("pv", "publish");
    auto announced = newest_build(node, "pv", "announce", 1);
    CHECK_MESSAGE(announced["status"] == "succeeded", announced.dump(2));
    CHECK(input_version(announced, "rel") == json{{"tag", "v1"}});
    CHECK(step_logs(announced, "rel").find("pulled tag=v1") != std::string::npos);

    node.set_pipeline("pv", replace_all(release_pipeline, "@TAG@", "v2"));
    node.trigger("pv", "publish");
    auto second = newest_build(node, "pv", "announce", 2);
    CHECK(input_version(second, "rel") == json{{"tag", "v2"}});
    CHECK(node.versions("pv", "release.rel").size() == 2);
  }
}

TEST_SUITE("integration.trigger_type") {
  TEST_CASE(
      "trigger: a put reaches every pipeline declaring the same trigger, and passed gets it") {
    temp_dir dir;
    runtime_node node(store_flags(dir));
    node.set_pipeline("up", R"(
resource "trigger" "release" {}
job "announce" {
  put "trigger" "release" {
    version = "1.2.3"
  }
}
job "after" {
  get "trigger" "release" {
    trigger = true
    passed  = ["announce"]
  }
  task "t" {
    run "shell" {
      cmd = "echo after=$GET_RELEASE_VERSION"
    }
  }
}
)");
    const char* const downstream = R"(
resource "trigger" "release" {}
job "deploy" {
  get "trigger" "release" {
    trigger = true
  }
  task "show" {
    run "shell" {
      cmd = "echo got=$GET_RELEASE_VERSION from=$GET_RELEASE_TRIGGER_PIPELINE/$GET_RELEASE_TRIGGER_JOB/$GET_RELEASE_TRIGGER_BUILD id=$GET_RELEASE_TRIGGER_ID"
    }
  }
}
)";
    node.set_pipeline("down1", downstream);
    node.set_pipeline("down2", downstream);
    node.set_pipeline("other", R"(
resource "trigger" "unrelated" {}
job "x" {
  get "trigger" "unrelated" {
    trigger = true
  }
}
)");
    node.trigger("up", "announce");
    auto put = node.wait_build("up", "announce", "1", 30s);
    REQUIRE_MESSAGE(put["status"] == "succeeded", put.dump(2));
    auto event = node.wait_versions("up", "trigger.release", 1, 10s)[0]["version"];
    CHECK(event["version"] == "1.2.3");
    CHECK(event["trigger_pipeline"] == "up");
    CHECK(event["trigger_job"] == "announce");
    CHECK(event["trigger_build"] == "1");
    CHECK(event["trigger_id"].is_string());

    auto after = newest_build(node, "up", "after", 1);
    CHECK(after["status"] == "succeeded");
    CHECK(input_version(after, "release") == event);
    CHECK(step_logs(after, "t").find("after=1.2.3") != std::string::npos);

    for (const char* p : {"down1", "down2"}) {
      auto b = newest_build(node, p, "deploy", 1);
      CHECK_MESSAGE(b["status"] == "succeeded", b.dump(2));
      CHECK(input_version(b, "release") == event);
      CHECK(step_logs(b, "show").find("got=1.2.3 from=up/announce/1 id=" +
                                      event["trigger_id"].get<std::string>()) != std::string::npos);
    }
    std::this_thread::sleep_for(700ms);
    CHECK(node.builds("other", "x").empty());
    CHECK(node.versions("other", "trigger.unrelated").empty());

    // a second put: one new event each, one new build each
    node.trigger("up", "announce");
    node.wait_build("up", "announce", "2", 30s);
    CHECK(node.wait_builds("down1", "deploy", 2, 30s).size() == 2);
    CHECK(node.wait_builds("down2", "deploy", 2, 30s).size() == 2);
  }
}
