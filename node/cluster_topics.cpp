#include "node/cluster_topics.hpp"

#include <algorithm>
#include <utility>

namespace pikoci::node {

cluster_topics cluster_topics::of(const std::string& prefix, const std::string& cluster) {
  const auto base = prefix + "." + cluster + ".";
  return {base + "changelog", base + "global", base + "input", base + "status"};
}

std::string transactional_id(const std::string& prefix, const std::string& cluster, int k,
                             int partitions) {
  return prefix + "." + cluster + ".p" + (k == partitions ? std::string("G") : std::to_string(k));
}

std::vector<kafka::topic_spec> cluster_topic_specs(const cluster_topics& t, int partitions,
                                                   int brokers) {
  const int replication = std::max(1, std::min(3, brokers));
  using configs = std::vector<std::pair<std::string, std::string>>;
  auto with_isr = [&](configs c) {
    if (replication == 3) c.emplace_back("min.insync.replicas", "2");
    return c;
  };
  const std::string day = "86400000";
  return {
      {t.changelog, partitions, replication,
       with_isr({{"cleanup.policy", "compact"},
                 {"min.compaction.lag.ms", "0"},
                 {"segment.ms", "3600000"},
                 {"delete.retention.ms", day},
                 {"max.message.bytes", std::to_string(16 * 1024 * 1024)}})},
      {t.global, 1, replication,
       with_isr({{"cleanup.policy", "compact"},
                 {"max.message.bytes", std::to_string(16 * 1024 * 1024)}})},
      {t.input, partitions + 1, replication,
       with_isr({{"cleanup.policy", "delete"}, {"retention.ms", day}})},
      {t.status, 1, replication,
       with_isr({{"cleanup.policy", "delete"}, {"retention.ms", "3600000"}})},
  };
}

std::string ensure_cluster_topics(kafka::admin& a, const cluster_topics& t, int partitions,
                                  std::chrono::milliseconds timeout) {
  auto brokers = a.brokers(timeout);
  if (!brokers.error.empty()) return "cannot count the brokers: " + brokers.error;
  const auto specs = cluster_topic_specs(t, partitions, brokers.count);
  auto made = a.create_topics(specs, timeout);
  if (!made.error.empty()) return made.error;
  for (std::size_t i = 0; i < specs.size() && i < made.topics.size(); ++i) {
    if (made.topics[i].partitions != specs[i].partitions) {
      return "topic " + specs[i].name + " has " + std::to_string(made.topics[i].partitions) +
             " partitions, the cluster needs " + std::to_string(specs[i].partitions);
    }
  }
  return "";
}

}  // namespace pikoci::node
