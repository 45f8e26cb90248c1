#include "tests/support/kafka_nodes.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>

#include <doctest/doctest.h>

using namespace std::chrono_literals;

namespace pikoci::test {

std::string fresh_prefix() {
  static std::atomic<int> n{0};
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

kafka_server::kafka_server(const std::string& b, std::vector<std::string> extra) : brokers(b) {
  args = {"--pubsub-system",      "kafka", "--kafka-brokers",   brokers,
          "--kafka-topic-prefix", prefix,  "--run-worker=false"};
  args.insert(args.end(), extra.begin(), extra.end());
  node = std::make_unique<runtime_node>(args);
}

void kafka_server::restart() {
  node->server().process().stop(SIGKILL);
  node.reset();
  node = std::make_unique<runtime_node>(args);
}

json kafka_server::worker(const std::string& name) {
  auto all = node->get("/workers").json();
  for (const auto& w : all["workers"])
    if (w["name"] == name) return w;
  return nullptr;
}

worker_proc::worker_proc(kafka_server& server, const std::string& n, std::vector<std::string> extra,
                         const std::string& token, const std::string& brokers)
    : name(n) {
  std::vector<std::string> args{node_binary(),
                                "--role",
                                "worker",
                                "--pikoci-url",
                                server->server().url(),
                                "--pubsub-system",
                                "kafka",
                                "--kafka-brokers",
                                brokers.empty() ? server.brokers : brokers,
                                "--worker-token",
                                token,
                                "--name",
                                name};
  args.insert(args.end(), extra.begin(), extra.end());
  proc = std::make_unique<child_process>(args);
  REQUIRE_MESSAGE(proc->wait_for_line("event=worker.ready", 30s), proc->tail());
  REQUIRE_MESSAGE(eventually([&] { return server.worker(name)["status"] == "healthy"; }, 20s),
                  server->tail());
}

}  // namespace pikoci::test
