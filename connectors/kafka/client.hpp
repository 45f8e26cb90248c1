#pragma once
// Thin, blocking-free wrappers over librdkafka's C++ API for the node's topics (SPEC §9):
// an idempotent producer (acks=all) and a group consumer with manual offset commits. Neither
// throws after construction; errors are logged as `event=kafka.*` and returned as values.
// Threads: `producer::produce` may be called from any thread; a `consumer` belongs to the one
// thread that polls it.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/metrics.hpp"

namespace RdKafka {
class Producer;
class KafkaConsumer;
class Message;
}  // namespace RdKafka

namespace pikoci::kafka {

/// The node's topics under `--kafka-topic-prefix`.
struct topics {
  std::string prefix = "pikoci";
  std::string jobs() const { return prefix + ".jobs"; }
  std::string checks() const { return prefix + ".checks"; }
  std::string events() const { return prefix + ".events"; }
  std::string control() const { return prefix + ".control"; }
  /// Every server's hellos (connectors/kafka/presence.hpp).
  std::string servers() const { return prefix + ".servers"; }
  /// The consumer group in which a single server reads events().
  std::string server_group() const { return prefix + ".server"; }
  /// Work on `base` (jobs() or checks()) that needs `tags`: `<base>.tags.<a>.<b>` (sorted; a
  /// hash of the tags when that is too long for a topic name);
  /// untagged work goes to `base` itself. A worker holding tags W consumes the topic of every
  /// subset of W, so a message reaches only workers holding all its tags (docs/workers.md).
  static std::string tagged(const std::string& base, const std::vector<std::string>& tags);
  /// Every topic below `base` a worker holding `tags` consumes: `base` and one per non-empty
  /// subset of `tags`.
  static std::vector<std::string> consumed(const std::string& base,
                                           const std::vector<std::string>& tags);
};

/// Tags a worker may hold or work may need: [A-Za-z0-9_-]{1,64}, at most `max_tags` of them
/// (reference §1: ≤ 10 per job or resource; topic names are built from them). Returns an error
/// message, or "" when fine.
constexpr std::size_t max_tags = 10;
std::string check_tags(const std::vector<std::string>& tags);

/// Sorted and unique.
std::vector<std::string> normalize_tags(std::vector<std::string> tags);

/// Asks the brokers for their metadata: "" when they answer within `timeout`, else why not.
std::string check_brokers(const std::string& brokers, std::chrono::milliseconds timeout);

/// librdkafka settings, in the order they are applied.
using settings = std::vector<std::pair<std::string, std::string>>;

/// What every client of the node sets, then the producer's and the consumer's own settings on
/// top: the one place the latency settings live (the producer: idempotent, acks=all, no linger;
/// every socket with Nagle's algorithm off; the consumer: short fetch waits, manual commits).
settings common_settings(const std::string& brokers);
settings producer_settings(const std::string& brokers);
settings consumer_settings(const std::string& brokers, const std::string& group, bool from_start);

/// Time a message spent between its sender and its reader (the reader's clock at receipt minus
/// the envelope's `sent_at_ms`, whole milliseconds), by topic. Thread-safe.
class hop_meter {
 public:
  /// Upper bounds of the buckets, in seconds.
  static const std::vector<double>& bounds();
  void observe(const std::string& topic, std::int64_t sent_at_ms, std::int64_t received_at_ms);
  /// `pikoci_kafka_hop_seconds{topic}`, one series per topic seen.
  void add_to(domain::metrics& out) const;
  /// A copy of the histograms, by topic.
  std::map<std::string, domain::histogram> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, domain::histogram> hops_;
};

/// The value below which a fraction `q` (0..1) of a histogram's observations fall, interpolated
/// within its bucket (the upper bound of the last finite bucket when past it); 0 when empty.
double quantile(const domain::histogram& h, double q);

class producer {
 public:
  /// Throws std::runtime_error when librdkafka refuses the configuration.
  explicit producer(const std::string& brokers);
  ~producer();  // flushes for up to 5 s
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  /// Queues one message, to `partition` or (-1) the one its key hashes to; delivery (or its
  /// failure, logged) happens in the background. False when the local queue refused it (full,
  /// or the message too large).
  bool produce(const std::string& topic, const std::string& key, const std::string& payload,
               int partition = -1);
  /// Waits until everything queued was delivered or `timeout` passed; false on timeout.
  bool flush(std::chrono::milliseconds timeout);
  /// Looks up `topics` (their partitions and leaders) now, waiting up to `timeout`, and keeps
  /// them known: the first message to a topic otherwise waits for that lookup, which librdkafka
  /// starts only then and which took ~0.7 s on a busy machine. Errors are logged, not thrown
  /// (producing looks the topic up again).
  void prepare(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);
  /// Messages whose delivery failed for good since start.
  std::int64_t failed() const;
  /// When the brokers last acknowledged a message of this producer (its construction before the
  /// first): how long ago this producer last reached them.
  std::chrono::steady_clock::time_point last_delivered() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One consumed message.
struct message {
  std::string topic;
  std::string key;
  std::string payload;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

class consumer {
 public:
  /// `group`: the consumer group; `from_start`: where a new group starts (earliest or latest).
  /// Offsets are committed only by commit(). Throws std::runtime_error on a bad configuration.
  consumer(const std::string& brokers, const std::string& group, bool from_start);
  ~consumer();  // leaves the group
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  /// Subscribes to exactly these topics; "" or the error.
  std::string subscribe(const std::vector<std::string>& names);
  /// Instead of subscribing: reads every partition of `topic` (as its metadata says now) from
  /// its end, outside the group (nothing to commit); "" or the error.
  std::string assign_all(const std::string& topic);
  /// The next message, or nothing within `timeout` (errors are logged, never returned).
  std::optional<message> poll(std::chrono::milliseconds timeout);
  /// The partitions assigned to this consumer now (topic, partition), as of the last rebalance
  /// its poll ran (no call into librdkafka).
  std::vector<std::pair<std::string, int>> assignment() const;
  /// Whether `topic`/`partition` is assigned to this consumer now (as assignment()).
  bool assigned(const std::string& topic, int partition) const;
  /// Commits `m` as consumed (its offset + 1), synchronously or in the background; false on a
  /// failure (logged).
  bool commit(const message& m, bool sync = true);
  /// Commits the next offsets to read, by (topic, partition), in the background or (`sync`)
  /// waiting for the broker; false on a failure (logged).
  bool commit(const std::map<std::pair<std::string, int>, std::int64_t>& next, bool sync);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Offsets of messages handed on, committed together: at most one commit per `every` (each
/// commit is a broker round trip; one per message costs a busy broker more than the messages).
/// A process that dies reads the uncommitted ones again: only for readers to whom a message
/// read twice is harmless. One per polling thread.
class offset_batch {
 public:
  explicit offset_batch(std::chrono::milliseconds every) : every_(every) {}
  /// `m` was handed on: its partition's next offset to read is after it.
  void done(const message& m) { next_[{m.topic, m.partition}] = m.offset + 1; }
  /// Commits what is pending when `every` has passed since the last commit, or now with
  /// `final` (synchronously: before the consumer leaves its group).
  void commit(consumer& c, bool final = false);

 private:
  std::chrono::milliseconds every_;
  std::chrono::steady_clock::time_point last_{};
  std::map<std::pair<std::string, int>, std::int64_t> next_;
};

}  // namespace pikoci::kafka
