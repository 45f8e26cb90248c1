// The built-in fs resource type end to end: a watched directory that changes gives a new version
// and a build that gets its content; an unchanged one gives neither.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

TEST_SUITE("integration.fs") {
  TEST_CASE("fs: a change in a watched directory gives a version and a build; no change, none") {
    temp_dir dir;
    std::filesystem::create_directories(dir.file("watched/sub"));
    std::ofstream(dir.file("watched/sub/a.txt")) << "alpha\n";
    runtime_node node;
    node.set_pipeline(
        "p",
        "resource \"fs\" \"conf\" {\n  check_interval = \"@every 1h\"\n"
        "  params {\n    path = \"" +
            dir.file("watched") +
            "\"\n  }\n}\n"
            "job \"use\" {\n  get \"fs\" \"conf\" {\n    trigger = true\n  }\n"
            "  task \"show\" {\n    run \"shell\" {\n"
            "      cmd = \"cat sub/a.txt; echo hash=$GET_CONF_HASH\"\n    }\n  }\n}\n");
    node.check_and_wait("p", "fs.conf");
    auto versions = node.wait_versions("p", "conf", 1);
    auto hash1 = versions[0]["version"]["hash"].get<std::string>();
    auto builds = node.wait_builds("p", "use", 1, 30s);
    auto b1 = node.build("p", "use", builds[0]["number"].get<std::string>());
    INFO(all_logs(b1));
    CHECK(b1["status"] == "succeeded");
    CHECK(step_logs(b1, "show").find("alpha\nhash=" + hash1) != std::string::npos);

    node.check_and_wait("p", "fs.conf");
    CHECK(node.versions("p", "conf").size() == 1);
    std::this_thread::sleep_for(500ms);
    CHECK(node.builds("p", "use").size() == 1);

    std::ofstream(dir.file("watched/sub/a.txt")) << "beta\n";
    node.check_and_wait("p", "fs.conf");
    versions = node.wait_versions("p", "conf", 2);
    CHECK(versions[0]["version"]["hash"] != hash1);
    builds = node.wait_builds("p", "use", 2, 30s);
    auto b2 = node.build("p", "use", builds[0]["number"].get<std::string>());
    INFO(all_logs(b2));
    CHECK(step_logs(b2, "show").find("beta\n") != std::string::npos);
  }
}
