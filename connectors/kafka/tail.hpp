#pragma once
// Reading one topic-partition from a given offset, outside any consumer group (`assign`): the
// restore of a partition from its changelog, standby replicas and the global topic. Reads only
// committed transactional data (read_committed), so an aborted or fenced writer's records are
// never seen. No librdkafka type in this interface; errors are values.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace pikoci::kafka {

/// A record's headers, in order (a header without a value has an empty one).
using record_headers = std::vector<std::pair<std::string, std::string>>;

/// One record read from a partition.
struct record {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone (null value)
  record_headers headers;
};

/// Why a read stopped short.
struct tail_error {
  enum kind_t {
    out_of_range,  // the offset asked for is no longer (or not yet) in the log: see log_start
    failed,        // the brokers did not answer in time, or another error (message)
  } kind = failed;
  std::int64_t log_start = -1;  // out_of_range: the first offset the log still holds
  std::int64_t log_end = -1;    // out_of_range: the end of the log (the next offset written)
  std::string message;
};

/// The outcome of catch_up(): the next offset to read, or why it stopped.
struct catch_up_result {
  std::int64_t next = 0;  // the offset after the last one read (or skipped as a marker)
  std::int64_t records = 0;
  std::optional<tail_error> error;
  bool ok() const { return !error; }
};

/// Reads one partition of one topic. Not thread-safe: one thread calls catch_up(), or follow()
/// runs its own thread; stop() ends it.
class tail {
 public:
  using batch_sink = std::function<void(std::vector<record>&&)>;
  using record_sink = std::function<void(record&&)>;
  using error_sink = std::function<void(const tail_error&)>;

  /// Throws std::runtime_error when librdkafka refuses the configuration.
  tail(const std::string& brokers, std::string topic, std::int32_t partition);
  ~tail();  // stops following
  tail(const tail&) = delete;
  tail& operator=(const tail&) = delete;

  /// The first offset the partition still holds and the offset after the last committed one
  /// (the last stable offset: an open transaction's records are not counted yet).
  std::optional<std::pair<std::int64_t, std::int64_t>> watermarks(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// Reads from `from` up to the end of the partition as it is when called, handing records to
  /// `sink` in batches of at most `batch`, on this thread. `from` below the log start (records
  /// deleted or compacted away) or past its end is an out_of_range error carrying the log start,
  /// and nothing is read. Bounded by `timeout` overall (then `failed`, with the records read so
  /// far delivered and `next` after them).
  catch_up_result catch_up(std::int64_t from, const batch_sink& sink, std::size_t batch = 1000,
                           std::chrono::milliseconds timeout = std::chrono::seconds(120));

  /// Starts a thread that delivers every record from `from` on as it comes, one at a time, to
  /// `on_record` (on that thread) until stop(). An out_of_range offset (at start, or when the
  /// log start passes the reader) is told once to `on_error` and the thread then waits for
  /// stop(); other errors are logged and retried. Calling it while following does nothing.
  void follow(std::int64_t from, record_sink on_record, error_sink on_error);
  /// Ends following (joins the thread); the next offset to read, or -1 if never following.
  std::int64_t stop();
  /// While following: the next offset to read (markers and the end of the partition passed
  /// count as read), for a lag. Any thread.
  std::int64_t next() const { return next_.load(); }

  /// While following: the next offset to read, every record before it delivered. It passes a
  /// transaction's commit marker (an offset no record has) once the reader reaches the end, so
  /// it reaches watermarks()' end when everything up to there is delivered. -1 before follow().
  std::int64_t position() const { return next_.load(); }

  const std::string& topic() const { return topic_; }
  std::int32_t partition() const { return partition_; }

 private:
  void follow_loop(std::int64_t from, const record_sink& on_record, const error_sink& on_error);

  struct impl;
  std::unique_ptr<impl> impl_;
  std::string topic_;
  std::int32_t partition_;
  std::thread follower_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> next_{-1};
};

}  // namespace pikoci::kafka
