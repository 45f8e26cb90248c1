#include "actors/server/stats.hpp"

namespace pikoci::server {
namespace {

const std::vector<double> step_bounds = {0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600};

}  // namespace

void node_stats::build_finished(model::build_status status, model::time_point at) {
  std::lock_guard<std::mutex> lock(mu_);
  ++finished_[model::to_string(status)];
  recent_.emplace_back(at, status);
  while (!recent_.empty() && (recent_.front().first < at - recent || recent_.size() > 100000))
    recent_.pop_front();
}

void node_stats::step_finished(const std::string& type, std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mu_);
  steps_.try_emplace(type, step_bounds).first->second.observe(duration.count() / 1000.0);
}

void node_stats::check_finished(std::chrono::milliseconds duration, bool failed) {
  std::lock_guard<std::mutex> lock(mu_);
  checks_.observe(duration.count() / 1000.0);
  check_errors_ += failed;
}

void node_stats::metrics(domain::metrics& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto& finished =
      out.add_counter("pikoci_builds_finished_total", "Builds that ended, by final status.");
  for (const char* s : {"succeeded", "failed", "errored", "cancelled", "skipped", "warning"}) {
    auto it = finished_.find(s);
    finished.add({{"status", s}}, it == finished_.end() ? 0 : it->second);
  }
  auto& steps = out.add_histogram("pikoci_step_duration_seconds",
                                  "Duration of finished steps and hooks, by type.");
  for (const auto& [type, h] : steps_) steps.add({{"type", type}}, h);
  out.add_histogram("pikoci_check_duration_seconds", "Duration of resource checks.")
      .add({}, checks_);
  out.add_counter("pikoci_check_errors_total", "Resource checks that failed.")
      .add({}, check_errors_);
}

nlohmann::json node_stats::summary(model::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t last5 = 0, good = 0, judged = 0;
  for (const auto& [at, status] : recent_) {
    if (at < now - recent) continue;
    if (at >= now - std::chrono::minutes(5)) ++last5;
    using model::build_status;
    bool ok = status == build_status::succeeded || status == build_status::warning;
    bool bad = status == build_status::failed || status == build_status::errored;
    good += ok;
    judged += ok || bad;
  }
  nlohmann::json finished = nlohmann::json::object();
  for (const auto& [s, n] : finished_) finished[s] = n;
  return {{"builds_per_minute", static_cast<double>(last5) / 5.0},
          {"success_rate",
           judged == 0 ? nlohmann::json(nullptr)
                       : nlohmann::json(static_cast<double>(good) / static_cast<double>(judged))},
          {"finished", std::move(finished)}};
}

}  // namespace pikoci::server
