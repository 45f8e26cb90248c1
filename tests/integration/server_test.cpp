// The server role as a user starts it: flags, health and version over HTTP, signals.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

TEST_SUITE("integration.server") {
  TEST_CASE("a server on port 0 serves health and version and stops cleanly on SIGTERM") {
    node_server node(
        {"--pipeline-name", "hello", "--pipeline-config", source_path("samples/hello.hcl")});
    auto health = http_get(node.url() + "/api/v1/health");
    REQUIRE_MESSAGE(health.status == 200, node.process().tail());
    auto h = health.json();
    CHECK(h["status"] == "ok");
    CHECK(h["db"] == "mem");
    CHECK(h["pubsub"] == "mem");
    CHECK(h["workers"].is_number_integer());
    CHECK(health.headers["content-type"] == "application/json");

    auto version = http_get(node.url() + "/api/v1/version");
    REQUIRE(version.status == 200);
    CHECK(version.json()["version"].is_string());
    CHECK(version.json()["commit"].is_string());

    CHECK(node.process().output().find("event=pipeline.created pipeline=hello") !=
          std::string::npos);
    CHECK(h["workers"] == 1);  // the embedded worker
    auto start = std::chrono::steady_clock::now();
    CHECK(node.process().stop(SIGTERM) == 0);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
  }

  TEST_CASE("unknown routes and methods get the JSON error envelope") {
    node_server node;
    auto missing = http_get(node.url() + "/api/v1/nope");
    CHECK(missing.status == 404);
    CHECK(missing.json()["error"]["code"] == "not_found");
    CHECK(missing.json()["error"]["message"].is_string());
    auto wrong = http_request("POST", node.url() + "/api/v1/health", "{}");
    CHECK(wrong.status == 405);
    CHECK(wrong.json()["error"]["code"] == "method_not_allowed");
    // garbage request line: the node keeps serving
    auto junk = http_request("BREW", node.url() + "/api/v1/health");
    CHECK(junk.status != 200);
    CHECK(http_get(node.url() + "/api/v1/health").status == 200);
  }

  TEST_CASE("a request body over the limit gets 413 and changes nothing") {
    node_server node;
    auto big =
        http_request("GET", node.url() + "/api/v1/health", std::string(4 * 1024 * 1024 + 1, 'x'));
    CHECK(big.status == 413);
    CHECK(big.json()["error"]["code"] == "payload_too_large");
    CHECK(http_get(node.url() + "/api/v1/health").status == 200);
  }

  TEST_CASE("flags can come from a --config file") {
    std::string path = "/tmp/pikoci-config-" + std::to_string(getpid()) + ".toml";
    std::ofstream(path) << "jwt-secret = \"from-file\"\nlog-level = \"debug\"\n";
    child_process p({node_binary(), "--config", path, "--host", "127.0.0.1", "--port", "0"});
    auto ready = p.wait_for_line("event=node.ready", 20s);
    std::remove(path.c_str());
    REQUIRE_MESSAGE(ready.has_value(), p.tail());
    CHECK(p.stop(SIGTERM) == 0);
  }

  TEST_CASE("SIGTERM cancels running builds, records them cancelled and exits promptly") {
    std::string path = "/tmp/pikoci-sleep-" + std::to_string(getpid()) + ".hcl";
    std::ofstream(path) << "job \"slow\" {\n  task \"sleep\" {\n    run \"exec\" {\n"
                           "      path = \"/bin/sleep\"\n      args = [\"60\"]\n    }\n  }\n}\n";
    node_server node({"--pipeline-name", "p", "--pipeline-config", path});
    std::remove(path.c_str());
    auto token = run_command({node_binary(), "user-token", "--jwt-secret", "test-secret"}).output;
    token = token.substr(0, token.find('\n'));
    auto trigger = http_request("POST", node.url() + "/api/v1/pipelines/p/jobs/slow/trigger", "",
                                {{"Authorization", "Bearer " + token}});
    REQUIRE_MESSAGE(trigger.status == 201, trigger.body);
    // wait until the sleep runs
    auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string status;
    while (std::chrono::steady_clock::now() < deadline && status != "started") {
      auto b = http_request("GET", node.url() + "/api/v1/builds/1", "",
                            {{"Authorization", "Bearer " + token}});
      status = b.json()["build"]["status"].get<std::string>();
      std::this_thread::sleep_for(20ms);
    }
    REQUIRE(status == "started");
    auto start = std::chrono::steady_clock::now();
    CHECK(node.process().stop(SIGTERM) == 0);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    auto out = node.process().output();
    CHECK_MESSAGE(
        out.find("event=build.finished pipeline=p job=slow build=1 number=1 "
                 "status=cancelled reason=\"cancelled: server stopping\"") != std::string::npos,
        node.process().tail());
    CHECK(out.find("cancelled_builds=1") != std::string::npos);
  }

  TEST_CASE("SIGQUIT stops the node and exits 0") {
    node_server node;
    CHECK(node.process().stop(SIGQUIT) == 0);
    CHECK(node.process().output().find("signal=SIGQUIT") != std::string::npos);
  }

  TEST_CASE("flags can come from environment variables") {
    node_server node({}, {{"DB_SYSTEM", "mem"}, {"LOG_LEVEL", "debug"}});
    CHECK(http_get(node.url() + "/api/v1/health").json()["db"] == "mem");
  }

  TEST_CASE("an invalid start-up pipeline stops start-up with its errors") {
    std::string path = "/tmp/pikoci-bad-" + std::to_string(getpid()) + ".hcl";
    std::ofstream(path) << "job \"x\" {\n  tsk \"t\" {\n  }\n}\n";
    auto r = run_command({node_binary(), "--port", "0", "--host", "127.0.0.1", "--jwt-secret", "s",
                          "--pipeline-name", "bad", "--pipeline-config", path});
    std::remove(path.c_str());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("event=pipeline.invalid") != std::string::npos);
    CHECK(r.output.find(":2:3 message=") != std::string::npos);
  }

  TEST_CASE("usage errors exit 2 with one line naming the flag") {
    auto unknown = run_command({node_binary(), "--bogus-flag", "1"});
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.output.find("--bogus-flag") != std::string::npos);

    auto bad_value = run_command({node_binary(), "--jwt-secret", "s", "--db-system", "sqlite"});
    CHECK(bad_value.exit_code == 2);
    CHECK(bad_value.output.find("db-system") != std::string::npos);

    auto no_secret = run_command({node_binary(), "--port", "0"}, 10s, {{"JWT_SECRET", ""}});
    CHECK(no_secret.exit_code == 2);
    CHECK(no_secret.output.find("--jwt-secret") != std::string::npos);

    auto no_worker = run_command({node_binary(), "--jwt-secret", "s", "--run-worker=false"});
    CHECK(no_worker.exit_code == 2);

    // not silently in memory: refused until the backend exists
    auto kafka = run_command({node_binary(), "--jwt-secret", "s", "--pubsub-system", "kafka"});
    CHECK(kafka.exit_code == 2);
    CHECK(kafka.output.find("kafka") != std::string::npos);
    auto db = run_command({node_binary(), "--jwt-secret", "s", "--db-system", "sqlite"});
    CHECK(db.exit_code == 2);
    CHECK(db.output.find("--db-system") != std::string::npos);
  }

  TEST_CASE("--help lists flags with their defaults and exits 0") {
    auto help = run_command({node_binary(), "--help"});
    CHECK(help.exit_code == 0);
    for (const char* f : {"--port", "--jwt-secret", "--db-system", "--max-in-flight",
                          "--pipeline-config", "--drain-timeout", "validate"})
      CHECK_MESSAGE(help.output.find(f) != std::string::npos, f);
    CHECK(help.output.find("8080") != std::string::npos);
    auto vhelp = run_command({node_binary(), "validate", "--help"});
    CHECK(vhelp.exit_code == 0);
    CHECK(vhelp.output.find("--var") != std::string::npos);
  }
}
