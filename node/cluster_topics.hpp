#pragma once
// The Kafka topics of a cluster (`--cluster NAME`, docs/cluster.md): their names under the topic
// prefix and the settings they are created with. Every node creates what is missing at start;
// topics that exist keep their settings, but a changelog with another partition count than the
// cluster's is refused (the partition of every pipeline would change).

#include <chrono>
#include <string>
#include <vector>

#include "connectors/kafka/admin.hpp"

namespace pikoci::node {

/// The topics of cluster `cluster` under `prefix`.
struct cluster_topics {
  std::string changelog;  ///< `<prefix>.<cluster>.changelog`: P partitions, compacted
  std::string global;     ///< `<prefix>.<cluster>.global`: 1 partition, compacted
  std::string input;      ///< `<prefix>.<cluster>.input`: P+1 partitions, deleted after 1 day
  std::string status;     ///< `<prefix>.<cluster>.status`: 1 partition, deleted after 1 hour

  static cluster_topics of(const std::string& prefix, const std::string& cluster);
};

/// The transactional id of partition `k` (G = P for the global partition):
/// `<prefix>.<cluster>.p<k>`, or `.pG`.
std::string transactional_id(const std::string& prefix, const std::string& cluster, int k,
                             int partitions);

/// What `ensure_cluster_topics` creates for `partitions` pipeline partitions on `brokers` brokers:
/// replication min(3, brokers), and min.insync.replicas=2 when it is 3.
std::vector<kafka::topic_spec> cluster_topic_specs(const cluster_topics& t, int partitions,
                                                   int brokers);

/// Creates the cluster's topics that do not exist yet and checks the partition counts of those
/// that do. "" when ready, else why not. Bounded by `timeout` per call to the brokers.
std::string ensure_cluster_topics(kafka::admin& a, const cluster_topics& t, int partitions,
                                  std::chrono::milliseconds timeout);

}  // namespace pikoci::node
