#pragma once
// A transactional Kafka producer: one `transactional.id`, one writer at a time. Each commit()
// writes a batch of records to any topics and partitions as one transaction, visible to
// `read_committed` readers all at once or never. A second producer that init()s with the same
// id fences this one: its next commit fails for good (`fenced`), and the transaction it left
// open is aborted by the broker, so a paused owner can never add to a partition it lost.
// Errors are values; nothing throws after construction. Not thread-safe: one thread drives it
// (every call blocks, up to its timeout).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pikoci::kafka {

/// How a transactional producer connects and how long its transactions may stay open.
struct txn_options {
  std::string brokers;
  std::string transactional_id;
  /// The broker aborts a transaction left open longer than this (a crashed writer's).
  std::chrono::milliseconds transaction_timeout{10000};
  /// librdkafka's own error reports (a broker gone, a fatal error), for the caller's log; the
  /// outcome of each call says what matters. Called during init/commit/resume, on their thread.
  std::function<void(const std::string&)> on_error;
  /// Topics the transactions will write: init() learns their partitions and leaders, so the
  /// first commit does not wait for the client's own once-a-second look-up of unknown topics
  /// (about a second added to it otherwise).
  std::vector<std::string> topics;
};

/// One record of a transaction. No value is a tombstone (deletes the key in a compacted topic).
struct txn_record {
  std::string topic;
  std::int32_t partition = 0;
  std::string key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// What became of a transaction (or of init()).
struct txn_result {
  enum class outcome {
    ok,     ///< committed: every record is visible to read_committed readers
    retry,  ///< in doubt: the brokers did not answer in time; the commit goes on in the
            ///< background and resume() learns how it ended. No new commit before that.
    abort,  ///< aborted: none of the records will ever be visible; the producer is ready
    fenced  ///< another producer took the id (or a fatal error): nothing more will commit
  };
  outcome status = outcome::ok;
  std::string error;  ///< why, when not ok
  /// The offset of the last record written to each (topic, partition), when ok.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> last_offsets;

  bool ok() const { return status == outcome::ok; }
};

/// The name of an outcome, for logs: "ok", "retry", "abort", "fenced".
const char* to_string(txn_result::outcome o);

class txn_producer {
 public:
  /// Settings: acks=all, idempotence, linger.ms=1, socket.nagle.disable=true, message.max.bytes
  /// 16 MiB. Throws std::runtime_error when librdkafka refuses them (an empty id, say).
  explicit txn_producer(const txn_options& opts);
  ~txn_producer();
  txn_producer(const txn_producer&) = delete;
  txn_producer& operator=(const txn_producer&) = delete;

  /// Registers the id with the brokers: fences every older producer of this id and aborts (or
  /// completes, if it was committing) the transaction it left open. Must succeed before
  /// commit(). `retry` when the brokers did not answer within `timeout` (call it again).
  txn_result init(std::chrono::milliseconds timeout);

  /// Writes `records` as one transaction and commits it. Errors the brokers may recover from
  /// are retried within `timeout`; an error that spoils the transaction (a record refused, too
  /// large, ...) aborts it. An empty batch commits nothing and is ok.
  txn_result commit(const std::vector<txn_record>& records, std::chrono::milliseconds timeout);

  /// After `retry`: waits up to `timeout` more for the commit in doubt and says how it ended
  /// (`ok` with its offsets, `abort`, `fenced`, or `retry` again).
  txn_result resume(std::chrono::milliseconds timeout);

  /// True once fenced: the producer must be destroyed; a new one with the same id may init().
  bool fenced() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pikoci::kafka
