// Approval gates with remote workers over a real Kafka broker: a waiting build is held by the
// server (no work message is produced for it), stays waiting across a restart of a RocksDB server
// whose work goes through Kafka, and runs on a `--role worker` process once approved.
#include <doctest/doctest.h>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

TEST_SUITE("kafka.approvals") {
  TEST_CASE("a gated build waits through a restart, then runs on a remote worker once approved") {
    auto& broker = kafka_broker::shared();
    temp_dir dir;
    kafka_server server(broker.bootstrap(),
                        {"--db-system", "rocksdb", "--db-path", dir.file("db")});
    worker_proc w(server, "wa");
    server->set_pipeline("p", R"hcl(
job "deploy" {
  approve "prod" {}
  task "t" {
    run "shell" { cmd = "echo deployed on $HOSTNAME" }
  }
}
)hcl");
    CHECK(server->trigger("p", "deploy")["status"] == "waiting_for_approval");
    server.restart();
    auto b = server->build("p", "deploy", "1");
    CHECK(b["status"] == "waiting_for_approval");
    CHECK(b["worker"].is_null());
    REQUIRE(server->post("/pipelines/p/jobs/deploy/builds/1/approve").status == 200);
    auto done = server->wait_build("p", "deploy", "1", 60s);
    CHECK(done["status"] == "succeeded");
    CHECK(done["worker"] == "wa");
    CHECK(step_logs(done, "t").find("deployed") != std::string::npos);
  }
}
