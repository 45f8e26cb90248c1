#include "actors/server/worker_wait.hpp"

#include <algorithm>

namespace pikoci::server {
namespace {

bool holds_all(const proto::pool_worker& w, const std::vector<std::string>& tags) {
  if (w.any_tags) return true;
  return std::all_of(tags.begin(), tags.end(), [&](const std::string& t) {
    return std::find(w.tags.begin(), w.tags.end(), t) != w.tags.end();
  });
}

std::string tag_list(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (const auto& t : tags) out += (out.size() > 1 ? ", " : "") + t;
  return out + "]";
}

}  // namespace

std::string worker_wait(const proto::worker_pool& pool, const std::vector<std::string>& tags) {
  if (pool.empty()) return "no worker";
  bool jobs = false, matching = false;
  for (const auto& w : pool) {
    if (!w.takes_jobs) continue;
    jobs = true;
    if (!holds_all(w, tags)) continue;
    matching = true;
    if (!w.draining) return {};
  }
  if (!jobs) return "no worker for queue jobs";
  if (!matching) return "no worker with tags " + tag_list(tags);
  return tags.empty() ? "workers draining" : "workers with tags " + tag_list(tags) + " draining";
}

int pool_slots(const proto::worker_pool& pool) {
  int slots = 0;
  for (const auto& w : pool)
    if (w.takes_jobs && !w.draining) slots += w.slots;
  return slots;
}

}  // namespace pikoci::server
