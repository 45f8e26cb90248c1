#include "actors/server/stats.hpp"

#include <sstream>

namespace pikoci::server {
namespace {

const std::vector<double> step_bounds = {0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600};

std::string number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size(), 0) {}

void histogram::observe(double seconds) {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (seconds <= bounds_[i]) ++buckets_[i];
  sum_ += seconds;
  ++count_;
}

std::string histogram::text(const std::string& name, const std::string& labels) const {
  std::string out;
  auto sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    out += name + "_bucket{" + labels + sep + "le=\"" + number(bounds_[i]) + "\"} " +
           std::to_string(buckets_[i]) + "\n";
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  auto braces = labels.empty() ? std::string() : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
  return out;
}

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

std::string node_stats::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP pikoci_builds_finished_total Builds that ended, by final status.\n";
  out += "# TYPE pikoci_builds_finished_total counter\n";
  for (const char* s : {"succeeded", "failed", "errored", "cancelled", "skipped", "warning"}) {
    auto it = finished_.find(s);
    out += "pikoci_builds_finished_total{status=\"" + std::string(s) + "\"} " +
           std::to_string(it == finished_.end() ? 0 : it->second) + "\n";
  }
  out += "# HELP pikoci_step_duration_seconds Duration of finished steps and hooks, by type.\n";
  out += "# TYPE pikoci_step_duration_seconds histogram\n";
  for (const auto& [type, h] : steps_)
    out += h.text("pikoci_step_duration_seconds", "type=\"" + type + "\"");
  out += "# HELP pikoci_check_duration_seconds Duration of resource checks.\n";
  out += "# TYPE pikoci_check_duration_seconds histogram\n";
  out += checks_.text("pikoci_check_duration_seconds", "");
  out += "# HELP pikoci_check_errors_total Resource checks that failed.\n";
  out += "# TYPE pikoci_check_errors_total counter\n";
  out += "pikoci_check_errors_total " + std::to_string(check_errors_) + "\n";
  return out;
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
