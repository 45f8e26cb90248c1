// One server per Kafka topic prefix, against a real broker: a second server started on the prefix
// of a running one exits 1 with `event=node.refused`, saying which server uses it and what to do,
// and the first keeps running builds through its worker; another prefix is fine; two started at
// once leave exactly one; a server stopped cleanly starts again at once, and one killed with
// kill -9 within a bounded time; a consumer of the servers' group that says no hello (a server of
// an earlier release) is refused too; hellos that are not hellos change nothing.
#include <doctest/doctest.h>
#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// `pikoci-node --role server` with `args` (a kafka_server's), not waited for.
std::unique_ptr<child_process> server_process(const std::vector<std::string>& args) {
  std::vector<std::string> all{node_binary(), "--role", "server",       "--host",     "127.0.0.1",
                               "--port",      "0",      "--jwt-secret", "test-secret"};
  all.insert(all.end(), args.begin(), args.end());
  return std::make_unique<child_process>(all);
}

const char* job_hcl = R"hcl(
job "j" {
  task "t" {
    run "shell" { cmd = "echo built" }
  }
}
)hcl";

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_SUITE("kafka.presence") {
  TEST_CASE("a second server on the prefix exits 1 naming the first, which keeps working") {
    auto& broker = kafka_broker::shared();
    kafka_server first(broker.bootstrap());
    worker_proc w(first, "wp");
    auto second = server_process(first.args);
    auto code = second->wait_exit(40s);
    REQUIRE_MESSAGE(code.has_value(), second->tail());
    CHECK(*code == 1);
    auto out = second->output();
    CHECK_MESSAGE(out.find("event=node.refused") != std::string::npos, out);
    CHECK_MESSAGE(out.find("a single server at " + first->server().url()) != std::string::npos,
                  out);
    CHECK_MESSAGE(out.find("give this server another --kafka-topic-prefix") != std::string::npos,
                  out);
    CHECK(out.find("event=node.ready") == std::string::npos);
    CHECK(out.find("event=store.opened") == std::string::npos);  // refused before anything else

    // the first server still has every worker event: a build runs to the end on its worker
    first->set_pipeline("p", job_hcl);
    first->trigger("p", "j");
    auto done = first->wait_build("p", "j", "1", 60s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["worker"] == "wp");
  }

  TEST_CASE("a server on another prefix of the same brokers starts") {
    auto& broker = kafka_broker::shared();
    kafka_server one(broker.bootstrap());
    kafka_server two(broker.bootstrap());  // a fresh prefix: ready, or the constructor throws
    CHECK(one.prefix != two.prefix);
    CHECK(two->get("/health").status == 200);
  }

  TEST_CASE("hellos that are not hellos are counted and ignored; the server keeps running") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    REQUIRE(conf->set("bootstrap.servers", broker.bootstrap(), err) == RdKafka::Conf::CONF_OK);
    REQUIRE(conf->set("message.max.bytes", "2000000", err) == RdKafka::Conf::CONF_OK);
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    REQUIRE_MESSAGE(p, err);
    std::vector<std::string> bad{"not json",
                                 std::string(100000, '['),
                                 std::string(900000, 'x'),
                                 R"({"member_id":"m","mode":"boss","started_at":1})",
                                 R"({"member_id":7})",
                                 ""};
    for (auto& body : bad)
      REQUIRE(p->produce(server.prefix + ".servers", 0, RdKafka::Producer::RK_MSG_COPY, body.data(),
                         body.size(), nullptr, 0, 0, nullptr) == RdKafka::ERR_NO_ERROR);
    REQUIRE(p->flush(10000) == RdKafka::ERR_NO_ERROR);
    CHECK(server->server().process().wait_for_line("event=presence.hello_rejected", 10s));
    std::this_thread::sleep_for(1s);
    CHECK(server->get("/health").status == 200);
    // a server started on this prefix after them still finds the running one behind the noise
    auto second = server_process(server.args);
    auto code = second->wait_exit(40s);
    REQUIRE_MESSAGE(code.has_value(), second->tail());
    CHECK(*code == 1);
    CHECK_MESSAGE(
        second->output().find("a single server at " + server->server().url()) != std::string::npos,
        second->tail());
  }

  TEST_CASE("of two servers started at once on one prefix, exactly one runs") {
    auto& broker = kafka_broker::shared();
    std::vector<std::string> args{
        "--pubsub-system",      "kafka",        "--kafka-brokers",   broker.bootstrap(),
        "--kafka-topic-prefix", fresh_prefix(), "--run-worker=false"};
    auto a = server_process(args);
    auto b = server_process(args);
    auto settled = [](child_process& p) {
      return p.wait_for_line("event=node.ready", 40s).has_value();
    };
    bool a_ready = settled(*a), b_ready = settled(*b);
    CHECK_MESSAGE(a_ready != b_ready, a->tail(), "\n---\n", b->tail());
    auto& loser = a_ready ? *b : *a;
    auto code = loser.wait_exit(10s);
    REQUIRE_MESSAGE(code.has_value(), loser.tail());
    CHECK(*code == 1);
    CHECK_MESSAGE(loser.output().find("event=node.refused") != std::string::npos, loser.tail());
  }

  TEST_CASE("a server stopped cleanly starts again at once; after kill -9 within seconds") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    CHECK(server->server().process().stop(SIGTERM) == 0);
    auto stopped = server->tail();
    auto t0 = std::chrono::steady_clock::now();
    INFO("the server stopped:\n", stopped);
    server.node = std::make_unique<runtime_node>(server.args);  // ready, or it throws
    auto clean_restart = seconds_since(t0);
    auto out = server->server().process().output();
    CHECK_MESSAGE(out.find("event=presence.waiting") == std::string::npos, out);
    CHECK_MESSAGE(clean_restart < 10.0, clean_restart);

    // kill -9: its last hello ages out (3 s) and its events consumer leaves the group when its
    // session times out (6 s); the restart waits for that, never longer
    t0 = std::chrono::steady_clock::now();
    server.restart();
    auto killed_restart = seconds_since(t0);
    MESSAGE("restart after a clean stop: ", clean_restart, " s; after kill -9: ", killed_restart,
            " s");
    CHECK_MESSAGE(killed_restart < 18.0, killed_restart);
    server->set_pipeline("p", job_hcl);
    worker_proc w(server, "wk");
    server->trigger("p", "j");
    CHECK(server->wait_build("p", "j", "1", 60s)["status"] == "succeeded");
  }

  TEST_CASE("a member of the servers' consumer group that says no hello refuses the start") {
    auto& broker = kafka_broker::shared();
    // the topics exist (a server made them), then a consumer of an earlier release's kind joins
    // the group in which a single server reads its events
    kafka_server made(broker.bootstrap());
    auto prefix = made.prefix;
    auto args = made.args;
    CHECK(made->server().process().stop(SIGTERM) == 0);
    made.node.reset();

    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    REQUIRE(conf->set("bootstrap.servers", broker.bootstrap(), err) == RdKafka::Conf::CONF_OK);
    REQUIRE(conf->set("group.id", prefix + ".server", err) == RdKafka::Conf::CONF_OK);
    REQUIRE(conf->set("session.timeout.ms", "6000", err) == RdKafka::Conf::CONF_OK);
    std::unique_ptr<RdKafka::KafkaConsumer> old(RdKafka::KafkaConsumer::create(conf.get(), err));
    REQUIRE_MESSAGE(old, err);
    REQUIRE(old->subscribe({prefix + ".events"}) == RdKafka::ERR_NO_ERROR);
    std::atomic<bool> stop{false};
    std::thread poller([&] {
      while (!stop) delete old->consume(100);
    });
    auto joined = eventually(
        [&] {
          std::vector<RdKafka::TopicPartition*> parts;
          old->assignment(parts);
          bool any = !parts.empty();
          RdKafka::TopicPartition::destroy(parts);
          return any;
        },
        30s);
    CHECK(joined);

    auto second = server_process(args);
    auto code = second->wait_exit(40s);
    stop = true;
    poller.join();
    old->close();
    REQUIRE_MESSAGE(code.has_value(), second->tail());
    CHECK(*code == 1);
    auto out = second->output();
    CHECK_MESSAGE(out.find("event=node.refused") != std::string::npos, out);
    CHECK_MESSAGE(out.find("an earlier release") != std::string::npos, out);
    CHECK_MESSAGE(out.find(prefix + ".server") != std::string::npos, out);
  }
}
