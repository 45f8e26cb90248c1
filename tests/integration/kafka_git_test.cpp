// The built-in git type on remote workers over a real Kafka broker: the check and the build's
// get run `pikoci-node builtin git.*` on a `--role worker` process, with its own cache root.
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/support/git_forge.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

TEST_SUITE("kafka.git") {
  TEST_CASE("a new commit triggers a build on a remote worker that sees it checked out") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    temp_dir dir;
    local_repo r(dir.path(), dir.file("repo.git"));
    worker_proc w(server, "wg", {"--cache-root", dir.file("worker-cache")});
    server->set_pipeline(
        "p",
        "resource \"git\" \"src\" {\n  check_interval = \"@every 1h\"\n  params {\n"
        "    url = \"file://" +
            r.bare +
            "\"\n    name = \"code\"\n  }\n}\n"
            "job \"build\" {\n  get \"git\" \"src\" {\n    trigger = true\n  }\n"
            "  task \"show\" {\n    run \"shell\" {\n"
            "      cmd = \"cat code/hello.txt; git -C code rev-parse HEAD\"\n    }\n  }\n}\n");
    server->check_and_wait("p", "git.src", 60s);
    auto versions = server->wait_versions("p", "src", 1, 60s);
    CHECK(versions[0]["version"]["ref"] == r.head());
    auto sha2 = r.commit("hello.txt", "two");
    r.push();
    server->check_and_wait("p", "git.src", 60s);
    server->wait_versions("p", "src", 2, 60s);
    auto builds = server->wait_builds("p", "build", 2, 60s);
    auto last = server->build("p", "build", builds[0]["number"].get<std::string>());
    INFO(all_logs(last));
    CHECK(last["status"] == "succeeded");
    CHECK(last["worker"] == "wg");
    CHECK(step_logs(last, "show").find("two\n" + sha2) != std::string::npos);
    CHECK(std::filesystem::exists(dir.file("worker-cache/main/p/git.src/mirror.git/HEAD")));
  }
}
