#pragma once
// Global monotonic ids (build ids, version ids) shared by the actors of one node. An atomic
// counter: actors on different threads draw from it without a round trip through another actor.
//
// In cluster mode each partition k draws its own ids: (t << 6) | k, where t is a millisecond
// count since 2024-01-01 UTC that only grows (the next t is at least the last one + 1). The ids of
// different partitions never collide (their low bits differ), are ordered by time across
// partitions (newest first still means highest first), name their partition (`id & 63`) and stay
// below 2^53 (exact in JSON doubles) for about 4,000 years. Uniqueness within k never depends on
// the clock: the one owner of k observes every id committed before it draws.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace pikoci::model {

class id_source {
 public:
  /// Milliseconds since 2024-01-01 00:00:00 UTC.
  using clock_fn = std::int64_t (*)();
  static constexpr int partition_bits = 6;
  static constexpr std::int64_t epoch_2024_ms = 1704067200000;

  /// Single mode: 1, 2, ...
  id_source() = default;
  /// Partitioned mode for partition `k` (0..63); `clock` is for tests.
  explicit id_source(int k, clock_fn clock = &ms_since_2024) : partition_(k), clock_(clock) {}

  /// The next id.
  std::int64_t next() {
    if (partition_ < 0) return next_.fetch_add(1);
    auto now = clock_();
    auto last = t_last_.load();
    std::int64_t t;
    do {
      t = std::max(last + 1, now);
    } while (!t_last_.compare_exchange_weak(last, t));
    return (t << partition_bits) | partition_;
  }

  /// Makes later ids come after `id` (restore).
  void observe(std::int64_t id) {
    if (partition_ >= 0) {
      raise(t_last_, id >> partition_bits);
      return;
    }
    raise(next_, id + 1);
  }

  /// The last id drawn or observed (0 before any).
  std::int64_t last() const {
    if (partition_ < 0) return next_.load() - 1;
    auto t = t_last_.load();
    return t == 0 ? 0 : (t << partition_bits) | partition_;
  }

  /// The partition this source draws for; -1 in single mode.
  int partition() const { return partition_; }

  /// The partition an id of partitioned mode names.
  static int partition_of(std::int64_t id) { return static_cast<int>(id & 63); }

  static std::int64_t ms_since_2024() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() -
           epoch_2024_ms;
  }

 private:
  static void raise(std::atomic<std::int64_t>& a, std::int64_t to) {
    auto cur = a.load();
    while (cur < to && !a.compare_exchange_weak(cur, to)) {
    }
  }

  int partition_ = -1;
  clock_fn clock_ = &ms_since_2024;
  std::atomic<std::int64_t> next_{1};    // single mode
  std::atomic<std::int64_t> t_last_{0};  // partitioned mode
};

using id_source_ptr = std::shared_ptr<id_source>;

}  // namespace pikoci::model
