#include "actors/server/versions.hpp"

#include <algorithm>
#include <iterator>

namespace pikoci::server {

std::vector<version_record> version_store::add(const std::string& resource,
                                               const std::vector<nlohmann::json>& versions,
                                               std::chrono::system_clock::time_point now) {
  std::vector<version_record> created;
  auto& seen = content_[resource];
  for (const auto& v : versions) {
    // nlohmann's dump sorts object keys, so equal content dumps equally
    if (!seen.insert(v.dump()).second) continue;
    version_record rec{ids_->next(), resource, v, now};
    by_id_.emplace(rec.id, rec);
    by_resource_[resource].push_back(rec.id);
    created.push_back(std::move(rec));
  }
  return created;
}

const version_record* version_store::latest(const std::string& resource) const {
  auto it = by_resource_.find(resource);
  if (it == by_resource_.end() || it->second.empty()) return nullptr;
  return find(it->second.back());
}

const version_record* version_store::find(version_id id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

std::vector<version_record> version_store::list(const std::string& resource,
                                                std::size_t limit) const {
  std::vector<version_record> out;
  auto it = by_resource_.find(resource);
  if (it == by_resource_.end()) return out;
  for (auto id = it->second.rbegin(); id != it->second.rend(); ++id) {
    if (limit != 0 && out.size() >= limit) break;
    out.push_back(by_id_.at(*id));
  }
  return out;
}

void version_store::remove(const std::string& resource) {
  auto it = by_resource_.find(resource);
  if (it != by_resource_.end())
    for (auto id : it->second) by_id_.erase(id);
  by_resource_.erase(resource);
  content_.erase(resource);
}

namespace {

/// Version ids of `step` that passing builds of `job` used.
std::set<version_id> passed_with(const std::string& job, const std::string& step,
                                 const std::vector<build_usage>& history) {
  std::set<version_id> ids;
  for (const auto& b : history) {
    if (b.job != job || !b.passed) continue;
    auto it = b.gets.find(step);
    if (it != b.gets.end()) ids.insert(it->second);
  }
  return ids;
}

/// The versions every job in `passed` passed with (the intersection).
std::set<version_id> common(const std::string& step, const std::vector<std::string>& passed,
                            const std::vector<build_usage>& history) {
  std::set<version_id> out;
  bool first = true;
  for (const auto& job : passed) {
    auto ids = passed_with(job, step, history);
    if (first) {
      out = std::move(ids);
      first = false;
      continue;
    }
    std::set<version_id> both;
    std::set_intersection(out.begin(), out.end(), ids.begin(), ids.end(),
                          std::inserter(both, both.begin()));
    out = std::move(both);
  }
  return out;
}

}  // namespace

std::optional<version_id> ready_version(const passed_query& q,
                                        const std::vector<build_usage>& upstream_history,
                                        const std::vector<build_usage>& downstream,
                                        const version_store& versions) {
  if (q.passed.empty()) return std::nullopt;
  std::set<version_id> used;
  for (const auto& b : downstream) {
    auto it = b.gets.find(q.step);
    if (it != b.gets.end()) used.insert(it->second);
  }
  auto candidates = common(q.step, q.passed, upstream_history);
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
    version_id id = *it;
    if (id <= q.baseline) break;  // ascending set: everything further is older still
    if (used.count(id) != 0) continue;
    if (q.pinned && *q.pinned != id) continue;
    const auto* rec = versions.find(id);
    if (rec == nullptr || rec->resource != q.resource) continue;
    return id;
  }
  return std::nullopt;
}

std::optional<version_id> highest_common_version(const std::string& step,
                                                 const std::vector<std::string>& passed,
                                                 const std::vector<build_usage>& upstream_history) {
  auto ids = common(step, passed, upstream_history);
  if (ids.empty()) return std::nullopt;
  return *ids.rbegin();
}

}  // namespace pikoci::server
