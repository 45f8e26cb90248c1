#pragma once
// The command-line flags of one server node of a cluster (`--cluster`, Kafka, its own RocksDB
// store), shared by the cluster tests (cluster_nodes) and bench-cluster. Header-only: the
// benchmark links no test framework.

#include <string>
#include <vector>

namespace pikoci::test {

inline std::vector<std::string> cluster_node_flags(const std::string& brokers,
                                                   const std::string& prefix,
                                                   const std::string& cluster, int partitions,
                                                   const std::string& admin_password,
                                                   const std::string& db_path) {
  return {"--pubsub-system",      "kafka",    "--kafka-brokers",
          brokers,                "--kafka-topic-prefix", prefix,
          "--run-worker=false",   "--cluster", cluster,
          "--cluster-partitions", std::to_string(partitions),
          "--admin-password",     admin_password,
          "--db-system",          "rocksdb",  "--db-path",
          db_path};
}

}  // namespace pikoci::test
