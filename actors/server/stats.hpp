#pragma once
// Figures of the node's builds, steps and checks for GET /metrics and GET /api/v1/stats, recorded
// by the jobs and resource checkers as things finish. Thread-safe (a mutex held for a few
// increments), shared through the server context like the event hub.

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/model/build.hpp"
#include "domain/metrics.hpp"

namespace pikoci::server {

class node_stats {
 public:
  /// The window of builds per minute and success rate.
  static constexpr std::chrono::minutes recent{60};

  void build_finished(model::build_status status, model::time_point at);
  void step_finished(const std::string& type, std::chrono::milliseconds duration);
  void check_finished(std::chrono::milliseconds duration, bool failed);

  /// Adds pikoci_builds_finished_total{status}, pikoci_step_duration_seconds{type},
  /// pikoci_check_duration_seconds and pikoci_check_errors_total.
  void metrics(domain::metrics& out) const;
  /// {"builds_per_minute" (last 5 minutes), "success_rate" (last hour; null without finished
  /// builds), "finished": {status: n since start}}.
  nlohmann::json summary(model::time_point now) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> finished_;                         // by status, since start
  std::deque<std::pair<model::time_point, model::build_status>> recent_;  // the last hour
  std::map<std::string, domain::histogram> steps_;                        // by step type, seconds
  domain::histogram checks_{{0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600}};  // seconds
  std::uint64_t check_errors_ = 0;
};

}  // namespace pikoci::server
