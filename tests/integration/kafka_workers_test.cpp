// Remote workers over a real Apache Kafka broker (SPEC §9, issue #7): the built server with
// `--pubsub-system kafka --run-worker=false` and `pikoci-node --role worker` processes, driven
// over HTTP as a user would. Every test uses its own topic prefix on the shared broker.
#include <doctest/doctest.h>

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <set>
#include <thread>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/sse_client.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

std::string sleeping_job(const std::string& name, const std::string& seconds,
                         const std::string& extra = "") {
  return "job \"" + name + "\" {\n" + extra +
         "  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/sh\"\n"
         "      args = [\"-c\", \"echo start $BUILD_ID; sleep " +
         seconds + "; echo end\"]\n    }\n  }\n}\n";
}

/// Produces `payload` on `topic` (a forged message, as an attacker on the network would).
void produce_raw(const std::string& brokers, const std::string& topic, const std::string& payload) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  REQUIRE(p);
  REQUIRE(p->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                     const_cast<char*>(payload.data()), payload.size(), nullptr, 0, 0,
                     nullptr) == RdKafka::ERR_NO_ERROR);
  REQUIRE(p->flush(10000) == RdKafka::ERR_NO_ERROR);
}

}  // namespace

TEST_SUITE("kafka.workers") {
  TEST_CASE("a server and two workers share the builds; logs and results look like embedded ones") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    temp_dir dir;
    server->set_pipeline("p", recording_job("j", dir.file("runs"), "1"));
    // no worker yet: /health says the node is degraded, and why
    auto alone = server->get("/health").json();
    CHECK(alone["status"] == "degraded");
    CHECK(alone["reasons"].dump().find("no live worker") != std::string::npos);
    worker_proc a(server, "wa"), b(server, "wb");
    CHECK(eventually([&] { return server->get("/health").json()["status"] == "ok"; }, 20s));
    // the consumer group gave each worker some of the work partitions before the work comes:
    // a worker still joining the group cannot take builds yet
    auto both_assigned = [&] {
      auto listed = server->get("/workers").json()["workers"];
      if (listed.size() != 2) return false;
      for (const auto& w : listed)
        if (w.value("partitions", 0) == 0) return false;
      return true;
    };
    REQUIRE(eventually(both_assigned, 30s));
    for (int i = 0; i < 6; ++i) server->trigger("p", "j");
    // the last build's events, live from a remote worker (it waits for a slot first)
    sse_client live(server->server().url() + "/api/v1/pipelines/p/jobs/j/builds/6/events",
                    server->token());
    auto builds = server->wait_builds("p", "j", 6, 60s);
    REQUIRE(live.wait_closed(20s));
    auto events = live.events();
    REQUIRE(!events.empty());
    CHECK(events.back().type == "end");
    CHECK(events.back().data["status"] == "succeeded");
    bool streamed_log = false, saw_start = false;
    for (const auto& e : events) {
      streamed_log |= e.type == "log" && e.data["chunk"] == "done\n";
      saw_start |= e.type == "build" && e.data["status"] == "started" &&
                   (e.data["worker"] == "wa" || e.data["worker"] == "wb");
    }
    CHECK(streamed_log);
    CHECK(saw_start);
    std::set<std::string> workers;
    for (const auto& build : builds) {
      CHECK(build["status"] == "succeeded");
      CHECK(build["attempt"] == 1);
      workers.insert(build["worker"].get<std::string>());
    }
    CHECK(workers == std::set<std::string>{"wa", "wb"});  // one slot each: both took builds
    auto full = server->build("p", "j", "1");
    REQUIRE_MESSAGE(full["steps"].size() == 1, full.dump());
    CHECK(full["steps"][0]["status"] == "succeeded");
    CHECK(full["steps"][0]["logs"] == "done\n");
    // each build's process ran once, on one worker
    auto runs = dir.lines("runs");
    CHECK(runs.size() == 6);
    CHECK(std::set<std::string>(runs.begin(), runs.end()).size() == 6);
    auto listed = server->get("/workers").json()["workers"];
    CHECK(listed.size() == 2);
    CHECK(server->get("/health").json()["workers"] == 2);
    CHECK(listed[0]["kind"] == "remote");
    CHECK(both_assigned());
  }

  TEST_CASE("with --run-worker the server is one of the workers, through the topics") {
    auto& broker = kafka_broker::shared();
    runtime_node node({"--pubsub-system", "kafka", "--kafka-brokers", broker.bootstrap(),
                       "--kafka-topic-prefix", fresh_prefix(), "--concurrency", "2"});
    temp_dir dir;
    node.set_pipeline("p", recording_job("j", dir.file("runs"), "0"));
    REQUIRE(eventually([&] { return node.get("/health").json()["workers"] == 1; }, 20s));
    auto workers = node.get("/workers").json()["workers"];
    REQUIRE(workers.size() == 1);
    CHECK(workers[0]["name"] == "embedded-1");
    CHECK(workers[0]["concurrency"] == 2);
    node.trigger("p", "j");
    auto done = node.wait_build("p", "j", "1", 30s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["worker"] == "embedded-1");
    // no token is logged: nobody else needs one
    CHECK(node.server().process().output().find("Worker token for standalone workers") ==
          std::string::npos);
  }

  TEST_CASE("a checks worker keeps checking while the jobs worker is busy with a long build") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    temp_dir dir;
    dir.write("n", "0");
    auto hcl = replace_all(R"hcl(
resource_type "counter" {
  check "shell" {
    cmd = "n=$(cat @DIR@/n); n=$((n+1)); echo $n > @DIR@/n; echo \"[{\\\"n\\\":\\\"$n\\\"}]\""
  }
}
resource "counter" "c" {
  check_interval = "@every 1h"
}
)hcl",
                           "@DIR@", dir.path()) +
               sleeping_job("long", "30");
    worker_proc jobs(server, "jobs-only", {"--queues", "jobs"});
    worker_proc checks(server, "checks-only", {"--queues", "checks"});
    server->set_pipeline("p", hcl);
    server->trigger("p", "long");
    auto started = server->wait_started("p", "long", "1", 30s);
    CHECK(started["worker"] == "jobs-only");
    // checks asked for while the only jobs worker is busy still run, one after the other
    for (int i = 0; i < 3; ++i) {
      auto seen = server->versions("p", "counter.c").size();
      server->check("p", "counter.c");
      CHECK(server->wait_versions("p", "counter.c", seen + 1, 20s).size() > seen);
    }
    CHECK(server->build("p", "long", "1")["status"] == "started");
  }

  TEST_CASE("a worker killed mid-build: the build runs again elsewhere, one completion recorded") {
    auto& broker = kafka_broker::shared();
    // a short lease keeps the test short; the default is 10 s
    kafka_server server(broker.bootstrap(), {"--worker-lease", "3s"});
    temp_dir dir;
    server->set_pipeline("p", recording_job("j", dir.file("runs"), "3"));
    worker_proc first(server, "first");
    server->trigger("p", "j");
    auto started = server->wait_started("p", "j", "1", 30s);
    REQUIRE(started["worker"] == "first");
    worker_proc second(server, "second");
    first.proc->stop(SIGKILL);
    auto done = server->wait_build("p", "j", "1", 40s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["attempt"] == 2);
    CHECK(done["worker"] == "second");
    CHECK(server.worker("first")["status"] == "stale");
    // the first attempt's process may have outlived its worker; one completion is recorded
    CHECK(server->builds("p", "j").size() == 1);
  }

  TEST_CASE("a build whose worker is lost twice ends errored: it is dispatched again only once") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap(), {"--worker-lease", "2s"});
    temp_dir dir;
    server->set_pipeline("p", recording_job("j", dir.file("runs"), "30"));
    auto first = std::make_unique<worker_proc>(server, "first");
    server->trigger("p", "j");
    REQUIRE(server->wait_started("p", "j", "1", 30s)["worker"] == "first");
    auto second = std::make_unique<worker_proc>(server, "second");
    first->proc->stop(SIGKILL);
    REQUIRE(eventually(
        [&] {
          // sent out again and taken by the second worker (a new attempt is started,
          // without a worker, until one accepts it): only then is it lost a second time
          auto b = server->build("p", "j", "1");
          return b["attempt"] == 2 && b["status"] == "started" && b["worker"] == "second";
        },
        30s));
    second->proc->stop(SIGKILL);
    auto done = server->wait_build("p", "j", "1", 30s);
    CHECK(done["status"] == "errored");
    CHECK(done["attempt"] == 2);
    CHECK(done["reason"] == "worker lost: second stopped sending heartbeats");
  }

  TEST_CASE("forged events change nothing; a worker with a bad token exits non-zero") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    server->set_pipeline("p", sleeping_job("j", "4"));
    worker_proc w(server, "w");
    server->trigger("p", "j");
    server->wait_started("p", "j", "1", 30s);
    produce_raw(server.brokers, server.prefix + ".events",
                R"({"v":1,"type":"build_finished","worker":"w","token":"forged","sent_at_ms":0,)"
                R"("body":{"build_id":1,"attempt":1,"result":{"status":"failed","reason":"x"}}})");
    produce_raw(server.brokers, server.prefix + ".events", "not json at all");
    REQUIRE(
        eventually([&] { return server->get("/workers").json()["dropped_messages"] == 2; }, 20s));
    CHECK(server->build("p", "j", "1")["status"] == "started");
    auto log = server->server().process().output();
    CHECK(log.find("bad worker token from \"w\"") != std::string::npos);
    CHECK(log.find("undecodable") != std::string::npos);
    CHECK(server->wait_build("p", "j", "1", 30s)["status"] == "succeeded");

    auto forged = pikoci::test::run_command(
        {node_binary(), "--role", "worker", "--pikoci-url", server->server().url(),
         "--pubsub-system", "kafka", "--kafka-brokers", server.brokers, "--worker-token",
         "not-a-token"},
        30s);
    CHECK(forged.exit_code == 1);
    CHECK(forged.output.find("refused the worker token") != std::string::npos);
    auto no_server = pikoci::test::run_command(
        {node_binary(), "--role", "worker", "--pikoci-url", "http://127.0.0.1:1", "--pubsub-system",
         "kafka", "--kafka-brokers", server.brokers, "--worker-token", worker_token()},
        30s);
    CHECK(no_server.exit_code == 1);
    CHECK(no_server.output.find("cannot reach the server") != std::string::npos);
    auto no_brokers = pikoci::test::run_command(
        {node_binary(), "--role", "worker", "--pikoci-url", server->server().url(),
         "--pubsub-system", "kafka", "--kafka-brokers", "127.0.0.1:1", "--worker-token",
         worker_token()},
        40s);
    CHECK(no_brokers.exit_code == 1);
    CHECK(no_brokers.output.find("Kafka brokers 127.0.0.1:1 unreachable") != std::string::npos);
    auto mem = pikoci::test::run_command(
        {node_binary(), "--role", "worker", "--worker-token", worker_token()}, 10s);
    CHECK(mem.exit_code == 2);
    CHECK(mem.output.find("--pubsub-system kafka") != std::string::npos);
  }

  TEST_CASE("tagged work waits for a worker holding all its tags, then runs there") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    server->set_pipeline("p", sleeping_job("gpu", "0", "  tags = [\"gpu\", \"linux\"]\n") +
                                  sleeping_job("any", "0"));
    worker_proc plain(server, "plain");
    worker_proc half(server, "half", {"--tags", "gpu"});
    server->trigger("p", "gpu");
    server->trigger("p", "any");
    CHECK(server->wait_build("p", "any", "1", 30s)["status"] == "succeeded");
    std::this_thread::sleep_for(3s);
    CHECK(server->build("p", "gpu", "1")["status"] == "pending");
    worker_proc full(server, "full", {"--tags", "linux,gpu,cuda"});
    auto done = server->wait_build("p", "gpu", "1", 30s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["worker"] == "full");
  }

  TEST_CASE("SIGQUIT drains a worker; SIGTERM cancels its builds and exits") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    server->set_pipeline("p", sleeping_job("j", "3"));
    {
      worker_proc w(server, "drained");
      server->trigger("p", "j");
      server->wait_started("p", "j", "1", 30s);
      kill(w.proc->pid(), SIGQUIT);
      REQUIRE(eventually([&] { return server.worker("drained")["status"] == "draining"; }, 10s));
      server->trigger("p", "j");  // not taken by a draining worker
      auto code = w.proc->wait_exit(30s);
      REQUIRE(code);
      CHECK(*code == 0);
      CHECK(server->wait_build("p", "j", "1", 10s)["status"] == "succeeded");
      CHECK(server->build("p", "j", "2")["status"] == "pending");
    }
    worker_proc next(server, "next");
    CHECK(server->wait_build("p", "j", "2", 30s)["status"] == "succeeded");
    server->set_pipeline("p", sleeping_job("j", "60"));
    server->trigger("p", "j");
    server->wait_started("p", "j", "3", 30s);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(next.proc->stop(SIGTERM, 20s) == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < 15s);
    auto cancelled = server->wait_build("p", "j", "3", 20s);
    CHECK(cancelled["status"] == "cancelled");
  }

  TEST_CASE("a server killed and restarted (RocksDB) while remote builds run: results recorded") {
    auto& broker = kafka_broker::shared();
    temp_dir dir;
    kafka_server server(broker.bootstrap(),
                        {"--db-system", "rocksdb", "--db-path", dir.file("db")});
    server->set_pipeline("p", recording_job("j", dir.file("runs"), "4"));
    worker_proc w(server, "w");
    server->trigger("p", "j");
    server->trigger("p", "j");  // waits for the one slot
    server->wait_started("p", "j", "1", 30s);
    server.restart();
    auto first = server->wait_build("p", "j", "1", 60s);
    CHECK(first["status"] == "succeeded");
    CHECK(first["attempt"] == 1);
    CHECK(first["worker"] == "w");
    auto second = server->wait_build("p", "j", "2", 60s);
    CHECK(second["status"] == "succeeded");
    auto runs = dir.lines("runs");
    CHECK(runs.size() == 2);  // each ran once
  }

  TEST_CASE("the broker restarted mid-run: running and queued builds complete after it returns") {
    kafka_broker broker;  // its own: this one is stopped and started
    kafka_server server(broker.bootstrap());
    server->set_pipeline("p", sleeping_job("j", "4"));
    worker_proc w(server, "w");
    server->trigger("p", "j");
    server->wait_started("p", "j", "1", 30s);
    broker.stop();
    server->trigger("p", "j");  // admitted by the server; its dispatch waits for the broker
    std::this_thread::sleep_for(2s);
    broker.start();
    CHECK(server->wait_build("p", "j", "1", 60s)["status"] == "succeeded");
    CHECK(server->wait_build("p", "j", "2", 60s)["status"] == "succeeded");
  }
}

TEST_SUITE("integration.worker_route") {
  TEST_CASE("POST /workers/register: worker tokens only; a node without Kafka says so") {
    runtime_node node;  // --pubsub-system mem
    CHECK(node.call("POST", "/workers/register", "{}", "").status == 401);
    CHECK(node.call("POST", "/workers/register", "{}", "not-a-token").status == 401);
    CHECK(node.call("POST", "/workers/register", "{}", user_token("admin")).status == 403);
    auto mem = node.call("POST", "/workers/register", "{}", worker_token());
    CHECK(mem.status == 409);
    CHECK(mem.json()["error"]["message"] ==
          "this server has no remote workers (--pubsub-system mem)");
    // and a worker token is no good on user routes
    CHECK(node.call("GET", "/pipelines", "", worker_token()).status == 403);
  }
}
