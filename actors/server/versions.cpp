#include "actors/server/versions.hpp"

#include <algorithm>
#include <iterator>

#include "config/pipeline/utf8.hpp"

namespace pikoci::server {

std::vector<version_record> version_store::add(const std::string& resource,
                                               const std::vector<nlohmann::json>& versions,
                                               std::chrono::system_clock::time_point now) {
  std::vector<version_record> created;
  auto& seen = content_[resource];
  for (const auto& v : versions) {
    // nlohmann's dump sorts object keys, so equal content dumps equally
    if (!seen.insert(hcl::to_json_text(v)).second) continue;
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

void version_store::restore(version_record rec) {
  ids_->observe(rec.id);
  content_[rec.resource].insert(hcl::to_json_text(rec.version));
  by_resource_[rec.resource].push_back(rec.id);
  by_id_.emplace(rec.id, std::move(rec));
}

void version_store::remove(const std::string& resource) {
  auto it = by_resource_.find(resource);
  if (it != by_resource_.end())
    for (auto id : it->second) by_id_.erase(id);
  by_resource_.erase(resource);
  content_.erase(resource);
}

void usage_index::count(const build_usage& u, int delta) {
  if (u.pending) pending_[u.job] += delta;
  for (const auto& [step, v] : u.gets) {
    used_[{u.job, step}][v] += delta;
    if (u.passed) passed_[{u.job, step}][v] += delta;
  }
  // drop what reached zero, so the maps hold only what counts
  auto prune = [](auto& outer, const key& k, version_id v) {
    auto it = outer.find(k);
    if (it == outer.end()) return;
    if (auto c = it->second.find(v); c != it->second.end() && c->second == 0) it->second.erase(c);
    if (it->second.empty()) outer.erase(it);
  };
  if (delta < 0) {
    if (u.pending && pending_[u.job] == 0) pending_.erase(u.job);
    for (const auto& [step, v] : u.gets) {
      prune(used_, {u.job, step}, v);
      prune(passed_, {u.job, step}, v);
    }
  }
}

void usage_index::record(std::int64_t id, build_usage u) {
  auto it = builds_.find(id);
  if (it != builds_.end()) {
    count(it->second, -1);
    it->second = std::move(u);
  } else {
    it = builds_.emplace(id, std::move(u)).first;
  }
  count(it->second, +1);
}

void usage_index::erase(std::int64_t id) {
  auto it = builds_.find(id);
  if (it == builds_.end()) return;
  count(it->second, -1);
  builds_.erase(it);
}

std::vector<std::int64_t> usage_index::erase_job(const std::string& job) {
  std::vector<std::int64_t> ids;
  for (auto it = builds_.begin(); it != builds_.end();) {
    if (it->second.job != job) {
      ++it;
      continue;
    }
    ids.push_back(it->first);
    count(it->second, -1);
    it = builds_.erase(it);
  }
  return ids;
}

const build_usage* usage_index::find(std::int64_t id) const {
  auto it = builds_.find(id);
  return it == builds_.end() ? nullptr : &it->second;
}

const std::map<version_id, int>& usage_index::passed_with(const std::string& job,
                                                          const std::string& step) const {
  static const std::map<version_id, int> none;
  auto it = passed_.find({job, step});
  return it == passed_.end() ? none : it->second;
}

bool usage_index::used(const std::string& job, const std::string& step, version_id v) const {
  auto it = used_.find({job, step});
  return it != used_.end() && it->second.count(v) != 0;
}

bool usage_index::has_pending(const std::string& job) const {
  return pending_.count(job) != 0;
}

namespace {

/// The versions every job in `passed` passed with (the intersection), ascending.
std::vector<version_id> common(const std::string& step, const std::vector<std::string>& passed,
                               const usage_index& usage) {
  std::vector<version_id> out;
  bool first = true;
  for (const auto& job : passed) {
    const auto& ids = usage.passed_with(job, step);
    if (first) {
      for (const auto& [v, n] : ids) out.push_back(v);
      first = false;
      continue;
    }
    std::vector<version_id> both;
    for (auto v : out)
      if (ids.count(v) != 0) both.push_back(v);
    out = std::move(both);
  }
  return out;
}

}  // namespace

std::optional<version_id> ready_version(const passed_query& q, const std::string& job,
                                        const usage_index& usage, const version_store& versions) {
  if (q.passed.empty()) return std::nullopt;
  auto candidates = common(q.step, q.passed, usage);
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
    version_id id = *it;
    if (id <= q.baseline) break;  // ascending: everything further is older still
    if (usage.used(job, q.step, id)) continue;
    if (q.pinned && *q.pinned != id) continue;
    const auto* rec = versions.find(id);
    if (rec == nullptr || rec->resource != q.resource) continue;
    return id;
  }
  return std::nullopt;
}

std::optional<version_id> highest_common_version(const std::string& step,
                                                 const std::vector<std::string>& passed,
                                                 const usage_index& usage) {
  auto ids = common(step, passed, usage);
  if (ids.empty()) return std::nullopt;
  return ids.back();
}

}  // namespace pikoci::server
