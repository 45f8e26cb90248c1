#include "node/cluster_sink.hpp"

#include <algorithm>

namespace pikoci::node {

using clock = std::chrono::steady_clock;

kafka_changelog_sink::kafka_changelog_sink(std::unique_ptr<kafka::txn_producer> producer,
                                           cluster_topics topics, int k, std::string member,
                                           std::int64_t epoch)
    : producer_(std::move(producer)),
      topics_(std::move(topics)),
      k_(k),
      member_(std::move(member)),
      epoch_(epoch) {}

kafka::txn_result kafka_changelog_sink::commit(
    const std::vector<persistence::changelog::record>& changelog,
    const std::vector<persistence::changelog::record>& global,
    const std::vector<input_record>& input, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  std::vector<kafka::txn_record> records;
  records.reserve(changelog.size() + global.size() + input.size());
  auto headers = [&](std::vector<std::pair<std::string, std::string>> h) {
    h.emplace_back("m", member_);
    h.emplace_back("e", std::to_string(epoch_));
    return h;
  };
  for (const auto& r : changelog) {
    records.push_back({topics_.changelog, k_, r.key, r.value, headers(r.headers)});
  }
  for (const auto& r : global) {
    records.push_back({topics_.global, 0, r.key, r.value, headers(r.headers)});
  }
  for (const auto& r : input) {
    records.push_back({topics_.input, r.partition, r.key, r.value, headers(r.headers)});
  }
  return settle(producer_->commit(records, timeout), deadline);
}

kafka::txn_result kafka_changelog_sink::resume(std::chrono::milliseconds timeout) {
  return settle(producer_->resume(timeout), clock::now() + timeout);
}

// A commit in doubt usually ends within the same time budget: ask again while it lasts.
kafka::txn_result kafka_changelog_sink::settle(kafka::txn_result r, clock::time_point deadline) {
  while (r.status == kafka::txn_result::outcome::retry && clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    r = producer_->resume(std::max(left, std::chrono::milliseconds(100)));
  }
  return r;
}

std::int64_t kafka_changelog_sink::changelog_offset(const kafka::txn_result& r) const {
  auto it = r.last_offsets.find({topics_.changelog, k_});
  return it == r.last_offsets.end() ? -1 : it->second;
}

}  // namespace pikoci::node
