// A remote worker's builds do not outlive it (docs/operations.md "Process cleanup"): after
// kill -9 of `pikoci-node --role worker`, every process of the task it ran is gone (checked in
// /proc), background and `setsid` children included, while the server can send the build
// elsewhere. A real Kafka broker (tests/README.md).
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>

#include "tests/support/kafka_broker.hpp"
#include "tests/support/pipeline_fixture.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

bool alive(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream s;
  s << in.rdbuf();
  auto text = s.str();
  auto p = text.rfind(')');
  if (p == std::string::npos || p + 2 >= text.size()) return false;
  return text[p + 2] != 'Z' && text[p + 2] != 'X';
}

}  // namespace

TEST_SUITE("kafka_process") {
  TEST_CASE("kill -9 of a remote worker: its task's processes die with it") {
    auto& broker = kafka_broker::shared();
    temp_dir dir;
    std::string prefix = "tp" + std::to_string(::getpid());
    runtime_node server({"--pubsub-system", "kafka", "--kafka-brokers", broker.bootstrap(),
                         "--kafka-topic-prefix", prefix, "--run-worker=false"});
    auto script = replace_all(
        "sleep 300 & echo $! > @DIR@/bg; "
        "setsid sh -c 'echo $$ > @DIR@/sid; exec sleep 300' & "
        "echo $$ > @DIR@/main; sleep 300",
        "@DIR@", dir.path());
    server.set_pipeline("p",
                        "job \"j\" {\n  task \"t\" {\n    run \"exec\" {\n      path = "
                        "\"/bin/sh\"\n      args = [\"-c\", " +
                            json(script).dump() + "]\n    }\n  }\n}\n");
    child_process worker({node_binary(), "--role", "worker", "--pikoci-url", server.server().url(),
                          "--pubsub-system", "kafka", "--kafka-brokers", broker.bootstrap(),
                          "--worker-token", worker_token(), "--name", "doomed"});
    REQUIRE_MESSAGE(worker.wait_for_line("event=worker.ready", 60s), worker.tail());
    server.trigger("p", "j");
    server.wait_started("p", "j", "1", 60s);
    std::vector<int> pids;
    for (const char* f : {"main", "bg", "sid"}) {
      int pid = 0;
      REQUIRE_MESSAGE(eventually(
                          [&] {
                            pid = std::atoi(dir.read(f).c_str());
                            return pid > 0;
                          },
                          30s),
                      worker.tail());
      pids.push_back(pid);
    }
    for (int pid : pids) REQUIRE(alive(pid));
    worker.stop(SIGKILL);
    for (int pid : pids)
      CHECK_MESSAGE(eventually([&] { return !alive(pid); }, 10s),
                    "process " << pid << " outlived the killed worker");
    for (int pid : pids)
      if (alive(pid)) kill(pid, SIGKILL);  // nothing left behind by a failing run
  }

  TEST_CASE("SIGTERM during a worker's SIGQUIT drain cancels its build and exits at once") {
    auto& broker = kafka_broker::shared();
    std::string prefix = "tq" + std::to_string(::getpid());
    runtime_node server({"--pubsub-system", "kafka", "--kafka-brokers", broker.bootstrap(),
                         "--kafka-topic-prefix", prefix, "--run-worker=false"});
    server.set_pipeline("p", "job \"j\" {\n  task \"t\" {\n    run \"exec\" {\n      path = "
                             "\"/bin/sh\"\n      args = [\"-c\", \"sleep 300\"]\n    }\n  }\n}\n");
    child_process worker({node_binary(), "--role", "worker", "--pikoci-url", server.server().url(),
                          "--pubsub-system", "kafka", "--kafka-brokers", broker.bootstrap(),
                          "--worker-token", worker_token(), "--name", "drainer",
                          "--drain-timeout", "10m"});
    REQUIRE_MESSAGE(worker.wait_for_line("event=worker.ready", 60s), worker.tail());
    server.trigger("p", "j");
    server.wait_started("p", "j", "1", 60s);
    kill(worker.pid(), SIGQUIT);
    REQUIRE(worker.wait_for_line("event=worker.draining", 20s));
    auto t0 = std::chrono::steady_clock::now();
    kill(worker.pid(), SIGTERM);
    auto code = worker.wait_exit(30s);
    REQUIRE_MESSAGE(code.has_value(), "SIGTERM during the drain was ignored\n" << worker.tail());
    CHECK(*code == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < 20s);
    auto b = server.wait_build("p", "j", "1", 30s);
    CHECK(b["status"] == "cancelled");
  }
}
