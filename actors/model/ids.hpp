#pragma once
// Global monotonic ids (build ids, version ids) shared by the actors of one node. An atomic
// counter: actors on different threads draw from it without a round trip through another actor.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

namespace pikoci::model {

class id_source {
 public:
  /// The next id: 1, 2, ...
  std::int64_t next() { return next_.fetch_add(1); }
  /// Makes later ids continue after `id` (restore).
  void observe(std::int64_t id) {
    auto cur = next_.load();
    while (cur <= id && !next_.compare_exchange_weak(cur, id + 1)) {
    }
  }
  std::int64_t last() const { return next_.load() - 1; }

 private:
  std::atomic<std::int64_t> next_{1};
};

using id_source_ptr = std::shared_ptr<id_source>;

}  // namespace pikoci::model
