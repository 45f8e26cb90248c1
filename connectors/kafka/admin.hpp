#pragma once
// What the node asks the brokers about topics, partitions and groups, rather than about
// messages: creating topics with their settings, the offsets of a partition, a group's members.
// Every call blocks up to its timeout; errors are values (`error` empty when fine). One admin
// may be used from one thread at a time.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pikoci::kafka {

/// A topic to create: partitions, replication factor (-1: the brokers' default) and topic
/// settings (cleanup.policy=compact, min.compaction.lag.ms, segment.ms, max.message.bytes, ...).
struct topic_spec {
  std::string name;
  int partitions = 1;
  int replication = 1;
  std::vector<std::pair<std::string, std::string>> configs;
};

/// A topic as it is now: created by this call, or there already (its settings then untouched).
struct topic_info {
  std::string name;
  int partitions = 0;
  bool created = false;
};

struct topics_result {
  std::string error;
  std::vector<topic_info> topics;  ///< in the order asked
};

/// The first offset kept, and the end as a read_committed reader sees it: the last stable
/// offset, which passes a committed transaction only once its marker is written (a few ms after
/// the commit returned).
struct watermarks_result {
  std::string error;
  std::int64_t low = 0;
  std::int64_t high = 0;
};

struct offsets_result {
  std::string error;
  /// One per partition asked, in that order: the first offset whose record's timestamp is at
  /// or after the time asked, or the partition's high watermark when there is none.
  std::vector<std::int64_t> offsets;
};

struct configs_result {
  std::string error;
  std::map<std::string, std::string> configs;  ///< every setting of the topic, defaults too
};

struct group_result {
  std::string error;
  std::string state;  ///< "Stable", "Empty", "Dead" (unknown group), ...
  int members = 0;
  std::vector<std::string> hosts;  ///< where the members run, each once ("127.0.0.1")
};

struct count_result {
  std::string error;
  int count = 0;
};

class admin {
 public:
  /// Throws std::runtime_error when librdkafka refuses the configuration.
  explicit admin(const std::string& brokers);
  ~admin();
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;

  /// Creates the topics that do not exist yet and waits until each partition answers. A topic
  /// that exists already is fine: it is reported with its partition count, settings untouched.
  topics_result create_topics(const std::vector<topic_spec>& topics,
                              std::chrono::milliseconds timeout);
  /// The brokers in the cluster.
  count_result brokers(std::chrono::milliseconds timeout);
  /// The partitions of an existing topic.
  count_result partitions(const std::string& topic, std::chrono::milliseconds timeout);
  /// Retried within `timeout` while the partition has no leader (just created, or moving).
  watermarks_result watermarks(const std::string& topic, std::int32_t partition,
                               std::chrono::milliseconds timeout);
  /// Where each partition is at `ms_since_epoch` (Kafka's offsetsForTimes).
  offsets_result offsets_for_time(const std::string& topic,
                                  const std::vector<std::int32_t>& partitions,
                                  std::int64_t ms_since_epoch, std::chrono::milliseconds timeout);
  configs_result topic_configs(const std::string& topic, std::chrono::milliseconds timeout);
  /// A consumer group's state and member count (no error for a group that does not exist:
  /// "Dead", 0 members).
  group_result describe_group(const std::string& group, std::chrono::milliseconds timeout);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Creates the topics that do not exist yet (with `partitions` partitions each, replication 1)
/// and waits until the brokers confirm; "" on success, else why not. Bounded by `timeout`.
std::string ensure_topics(const std::string& brokers, const std::vector<std::string>& names,
                          int partitions, std::chrono::milliseconds timeout);

}  // namespace pikoci::kafka
