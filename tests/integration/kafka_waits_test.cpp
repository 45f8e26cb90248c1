// Why builds wait with remote workers, against a real Apache Kafka broker: the reason every
// waiting build gives (no worker, no worker with its tags), the build and the queue agreeing,
// stale workers leaving the list (after the grace, or at once with `workers forget`), and a build
// sent out again keeping each attempt's output under its marker (docs/concurrency.md "Why a build
// waits", docs/workers.md).
#include <doctest/doctest.h>

#include <csignal>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/sse_client.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

std::string job(const std::string& name, const std::string& script, const std::string& extra = "") {
  return "job \"" + name + "\" {\n" + extra +
         "  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/sh\"\n      args = [\"-c\", \"" +
         script + "\"]\n    }\n  }\n}\n";
}

/// `pikoci-node client ARGS` against the server, as its admin.
command_result client(runtime_node& node, std::vector<std::string> args) {
  std::vector<std::string> argv{node_binary(),       "client",  "--url",
                                node.server().url(), "--token", node.token()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 20s);
}

/// The blocked_by of the pending build `number` of `job` in GET /queue ("" when it is not there).
std::string queue_reason(runtime_node& node, const std::string& job, const std::string& number) {
  auto queue = node.get("/queue").json();
  for (const auto& p : queue["pending"])
    if (p["build"]["job"] == job && p["build"]["number"] == number)
      return p["blocked_by"].get<std::string>();
  return "";
}

/// Whether the build view and the queue both show the build pending because of `why`.
bool both_say(runtime_node& node, const std::string& job, const std::string& why) {
  auto b = node.build("p", job, "1");
  return b["status"] == "pending" && b.value("blocked_by", "") == why &&
         queue_reason(node, job, "1") == why;
}

}  // namespace

TEST_SUITE("kafka.waits") {
  TEST_CASE("no worker, then no worker with the tags: the build and the queue say why") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    server->set_pipeline("p",
                         job("gpu", "echo gpu", "  tags = [\"gpu\"]\n") + job("any", "echo any"));
    server->trigger("p", "gpu");
    server->trigger("p", "any");
    CHECK_MESSAGE(both_say(*server, "any", "no worker"), server->build("p", "any", "1").dump());
    CHECK(both_say(*server, "gpu", "no worker"));
    auto queue = server->get("/queue").json();
    CHECK(queue["in_flight"] == 0);
    CHECK(queue["started"].empty());
    CHECK(server->get("/stats").json()["blocked_by"]["no worker"] == 2);
    auto text = client(*server, {"queue"});
    CHECK(text.exit_code == 0);
    CHECK(text.output.find("blocked by no worker") != std::string::npos);
    // a worker without the tag: the untagged build runs, the tagged one says which tags it needs
    worker_proc plain(server, "plain", {"--tags", "linux"});
    CHECK(server->wait_build("p", "any", "1", 30s)["status"] == "succeeded");
    CHECK_MESSAGE(
        eventually([&] { return both_say(*server, "gpu", "no worker with tags [gpu]"); }, 10s),
        server->get("/queue").json().dump());
    CHECK(server->get("/queue").json()["started"].empty());
    auto shown = client(*server, {"builds", "get", "p", "gpu", "1"});
    CHECK(shown.output.find("blocked by no worker with tags [gpu]") != std::string::npos);
    worker_proc gpu(server, "gpu", {"--tags", "gpu"});
    CHECK(server->wait_build("p", "gpu", "1", 30s)["worker"] == "gpu");
  }

  TEST_CASE("kill -9: the worker leaves the list after the grace; workers forget removes one now") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap(), {"--worker-lease", "3s"});
    worker_proc a(server, "wa"), b(server, "wb"), c(server, "wc");
    // a live worker is not forgotten; an unknown one is not found
    CHECK(server->del("/workers/wa").status == 409);
    CHECK(server->del("/workers/nobody").status == 404);
    ::kill(a.proc->pid(), SIGKILL);
    ::kill(b.proc->pid(), SIGKILL);
    REQUIRE(eventually([&] { return server.worker("wa")["status"] == "stale"; }, 20s));
    REQUIRE(eventually([&] { return server.worker("wb")["status"] == "stale"; }, 20s));
    auto forgot = client(*server, {"workers", "forget", "wa"});
    CHECK_MESSAGE(forgot.exit_code == 0, forgot.output);
    CHECK(server.worker("wa").is_null());
    // the other one goes by itself three leases after it went stale
    CHECK(eventually([&] { return server.worker("wb").is_null(); }, 20s));
    CHECK(server.worker("wc")["status"] == "healthy");
    CHECK(server->server().process().output().find("event=worker.forgotten worker=wb") !=
          std::string::npos);
  }

  TEST_CASE("a build sent out again keeps both attempts' output, each under its marker") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap(), {"--worker-lease", "3s"});
    temp_dir dir;
    // the first attempt prints and hangs; the second prints and ends
    server->set_pipeline(
        "p", job("j", "if [ -e " + dir.file("once") + " ]; then echo second run; else touch " +
                          dir.file("once") + "; echo first run; sleep 60; fi"));
    worker_proc first(server, "first");
    server->trigger("p", "j");
    REQUIRE(server->wait_started("p", "j", "1", 30s)["worker"] == "first");
    REQUIRE_MESSAGE(
        eventually([&] { return step_logs(server->build("p", "j", "1"), "t") == "first run\n"; }),
        server->build("p", "j", "1").dump());
    worker_proc second(server, "second");
    ::kill(first.proc->pid(), SIGKILL);
    auto done = server->wait_build("p", "j", "1", 60s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["attempt"] == 2);
    CHECK(done["worker"] == "second");
    REQUIRE(done["attempts"].size() == 1);
    CHECK(done["attempts"][0]["marker"] == "--- attempt 1 (worker first) ---");
    CHECK(done["attempts"][0]["steps"][0]["logs"] == "first run\n");
    CHECK(done["attempt_marker"] ==
          "--- attempt 2 (worker first lost: stopped sending heartbeats) ---");
    CHECK(done["steps"][0]["logs"] == "second run\n");
    auto logs = client(*server, {"builds", "logs", "p", "j", "1"});
    CHECK(logs.exit_code == 0);
    CHECK_MESSAGE(
        logs.output.find("--- attempt 1 (worker first) ---\n==> task t") != std::string::npos,
        logs.output);
    auto second_marker = logs.output.find("--- attempt 2 (worker first lost");
    CHECK(second_marker != std::string::npos);
    CHECK(logs.output.find("first run") < second_marker);
    CHECK(logs.output.find("second run") > second_marker);
    // the event stream replays both attempts with their markers
    auto follow = client(*server, {"builds", "logs", "p", "j", "1", "--follow"});
    CHECK(follow.exit_code == 0);
    CHECK(follow.output.find("--- attempt 1 (worker first) ---") != std::string::npos);
    CHECK(follow.output.find("--- attempt 2 (worker first lost") != std::string::npos);
  }
}
