// Secrets on remote workers (docs/secrets.md): a `--role worker` process resolves a file secret
// on its own machine and an internal-store secret over the server's worker route (never over
// Kafka), and masks both in what it sends back.
#include <doctest/doctest.h>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

TEST_SUITE("kafka.secrets") {
  TEST_CASE("a remote worker resolves a file and a store secret and masks them") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap(), {"--secret-key", "kafka-key-1"});
    temp_dir dir;
    dir.write("creds.env", "TOKEN=remote-File-Value-1\n");
    server->set_pipeline("p", replace_all(R"(
variable "from_file" {
  type = string
  secret "file" {
    path = "DIR/creds.env"
    key  = "TOKEN"
  }
}
variable "from_store" {
  type = string
  secret "pikoci" { key = "STORE_KEY" }
}
job "j" {
  task "t" {
    run "shell" {
      cmd = "echo file=${var.from_file}; echo store=${var.from_store}; [ ${var.from_store} = remote-Store-Value-2 ] && echo store-ok"
    }
  }
}
)",
                                          "DIR", dir.path()));
    auto set = server->put("/pipelines/p/secrets/STORE_KEY",
                           json{{"value", "remote-Store-Value-2"}}.dump());
    REQUIRE_MESSAGE(set.status == 200, set.body);
    worker_proc w(server, "ws");
    auto b = server->trigger("p", "j");
    auto done = server->wait_build("p", "j", b["number"], 60s);
    CHECK_MESSAGE(done["status"] == "succeeded", done.dump(), w.proc->tail());
    CHECK(done["worker"] == "ws");
    CHECK(step_logs(done, "t") == "file=***\nstore=***\nstore-ok\n");
    CHECK(done.dump().find("Value-") == std::string::npos);
    CHECK(w.proc->tail().find("Value-") == std::string::npos);
  }
}
