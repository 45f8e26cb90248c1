// A conditional plan on a remote worker (docs/conditionals.md): the chain crosses the Kafka wire
// with its branches, the worker chooses by the build's input and a task's export, and the
// skipped branches come back as `skipped` records.
#include <doctest/doctest.h>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/kafka_nodes.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

TEST_SUITE("kafka.conditionals") {
  TEST_CASE("a remote worker runs the branch the conditions choose") {
    auto& broker = kafka_broker::shared();
    kafka_server server(broker.bootstrap());
    server->set_pipeline("p", R"(
job "j" {
  input "env" {
    default = "staging"
  }
  task "detect" {
    run "shell" {
      cmd = "echo ENV=$INPUT_env > $PIKOCI_OUTPUT"
    }
  }
  if "prod" {
    condition = "$TASK_DETECT_ENV == 'production'"
    task "deploy-prod" {
      run "shell" {
        cmd = "echo prod"
      }
    }
  }
  else_if "staging" {
    condition = "$TASK_DETECT_ENV == 'staging' && $INPUT_env contains stag"
    task "deploy-staging" {
      run "shell" {
        cmd = "echo staging; echo DONE=yes > $PIKOCI_OUTPUT"
      }
    }
  }
  else {
    task "nothing" {
      run "shell" {
        cmd = "echo nothing"
      }
    }
  }
  task "after" {
    run "shell" {
      cmd = "echo done=$TASK_DEPLOY_STAGING_DONE"
    }
  }
}
)");
    worker_proc w(server, "wc");
    auto b = server->trigger("p", "j");
    auto done = server->wait_build("p", "j", b["number"], 60s);
    CHECK_MESSAGE(done["status"] == "succeeded", done.dump(2), w.proc->tail());
    CHECK(done["worker"] == "wc");
    REQUIRE(done["steps"].size() == 3);
    const auto& chain = done["steps"][1];
    CHECK(chain["type"] == "if");
    CHECK(chain["status"] == "succeeded");
    REQUIRE(chain["steps"].size() == 3);
    CHECK(chain["steps"][0]["status"] == "skipped");
    CHECK(chain["steps"][1]["type"] == "else_if");
    CHECK(chain["steps"][1]["status"] == "succeeded");
    CHECK(chain["steps"][1]["steps"][0]["name"] == "deploy-staging");
    CHECK(chain["steps"][2]["status"] == "skipped");
    CHECK(step_logs(done, "deploy-staging") == "staging\n");
    CHECK(step_logs(done, "after") == "done=yes\n");
  }
}
