#pragma once
// Nodes of the Kafka integration tests: a server whose work goes through Kafka and
// `pikoci-node --role worker` processes, each test on its own topic prefix of a broker
// (tests/support/kafka_broker.hpp).

#include <memory>
#include <string>
#include <vector>

#include "tests/support/pipeline_fixture.hpp"

namespace pikoci::test {

/// A topic prefix no other test of this process uses.
std::string fresh_prefix();

/// A server whose work goes through Kafka, with no worker of its own.
struct kafka_server {
  std::string brokers;
  std::string prefix = fresh_prefix();
  std::vector<std::string> args;
  std::unique_ptr<runtime_node> node;

  explicit kafka_server(const std::string& b, std::vector<std::string> extra = {});
  /// kill -9 and start again with the same flags (a new port).
  void restart();
  runtime_node& operator*() { return *node; }
  runtime_node* operator->() { return node.get(); }

  /// The worker `name` as GET /workers lists it (null when it is not listed).
  json worker(const std::string& name);
};

/// `pikoci-node --role worker` for `server`, ready (and seen by the server) when constructed.
/// It reaches the brokers at `brokers` ("": the server's).
struct worker_proc {
  std::unique_ptr<child_process> proc;
  std::string name;

  worker_proc(kafka_server& server, const std::string& n, std::vector<std::string> extra = {},
              const std::string& token = worker_token(), const std::string& brokers = "");
};

}  // namespace pikoci::test
