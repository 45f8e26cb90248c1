// The built-in artifact type with remote workers over Kafka: a build on one worker puts an
// artifact, a build on another worker (another machine, as far as they know) gets it through the
// server's artifact routes, with the worker's own URL and token.
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

TEST_SUITE("kafka.artifacts") {
  TEST_CASE("a remote worker puts an artifact and a build on another remote worker gets it") {
    auto& broker = kafka_broker::shared();
    temp_dir dir;
    kafka_server server(broker.bootstrap(), {"--artifact-dir", dir.file("artifacts")});
    worker_proc builder(server, "w-build", {"--tags", "build", "--cache-root", dir.file("c1")});
    worker_proc deployer(server, "w-deploy", {"--tags", "deploy", "--cache-root", dir.file("c2")});
    server->set_pipeline("remote", R"(
resource "artifact" "bin" {
  check_interval = "@every 1h"
  params {
    dir = "in"
  }
}
job "build" {
  tags = ["build"]
  task "make" {
    run "shell" {
      cmd = "mkdir -p out && echo made-on-a-remote-worker > out/f.txt"
    }
  }
  put "artifact" "bin" {
    dir = "out"
  }
}
job "deploy" {
  tags = ["deploy"]
  get "artifact" "bin" {
    trigger = true
    passed  = ["build"]
  }
  task "show" {
    run "shell" {
      cmd = "cat in/f.txt"
    }
  }
}
)");
    server->trigger("remote", "build");
    auto built = server->wait_build("remote", "build", "1", 60s);
    REQUIRE_MESSAGE(built["status"] == "succeeded", built.dump(2), server->tail());
    CHECK(built["worker"] == "w-build");
    auto stored = server->wait_versions("remote", "artifact.bin", 1, 10s);
    REQUIRE(stored.size() == 1);
    auto deploys = server->wait_builds("remote", "deploy", 1, 60s);
    auto deploy = server->build("remote", "deploy", deploys[0]["number"].get<std::string>());
    CHECK_MESSAGE(deploy["status"] == "succeeded", deploy.dump(2));
    CHECK(deploy["worker"] == "w-deploy");
    CHECK(deploy["inputs"][0]["version"] == stored[0]["version"]);
    CHECK(step_logs(deploy, "show").find("made-on-a-remote-worker") != std::string::npos);
    // the files are on the server, not in a worker's directory
    CHECK(std::filesystem::is_directory(dir.file("artifacts/remote/artifact.bin/data")));
  }
}
