#include "http/cluster_merge.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

namespace pikoci::http {
namespace {
using nlohmann::json;

/// `j[key]` when it is a number, else 0 (a member's part is read defensively).
double number_of(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

std::int64_t integer_of(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->is_number_integer() ? it->get<std::int64_t>()
                                 : static_cast<std::int64_t>(it->get<double>());
}

/// The items of `j[key]` when it is a list.
const json& list_of(const json& j, const char* key) {
  static const json empty = json::array();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

/// A build summary's id (0 when it has none).
std::int64_t build_id(const json& b) { return integer_of(b, "id"); }

/// The id of the build of a queue entry (`{"build":<summary>,...}`).
std::int64_t entry_id(const json& e) {
  return e.is_object() && e.contains("build") ? build_id(e["build"]) : 0;
}

/// Sums the integer counters `keys` of every body into `out`.
void sum_integers(json& out, const std::vector<const json*>& bodies,
                  std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    std::int64_t n = 0;
    for (const auto* b : bodies) n += integer_of(*b, k);
    out[k] = n;
  }
}

/// Sums the counters of the objects `j[key]` (`{"reason": n}`) of every body.
json sum_maps(const std::vector<const json*>& bodies, const char* key) {
  json out = json::object();
  for (const auto* b : bodies) {
    if (!b->is_object() || !b->contains(key) || !(*b)[key].is_object()) continue;
    for (const auto& [k, v] : (*b)[key].items())
      if (v.is_number()) out[k] = out.value(k, std::int64_t{0}) + v.get<std::int64_t>();
  }
  return out;
}

json ratio(double part, double whole) {
  return whole <= 0 ? json(nullptr) : json(part / whole);
}

json merge_queue(const std::vector<const json*>& bodies) {
  json out = json::object();
  sum_integers(out, bodies, {"max_in_flight", "in_flight", "max_queue_size", "queued"});
  json started = json::array(), pending = json::array(), waiting = json::array();
  for (const auto* b : bodies) {
    for (const auto& x : list_of(*b, "started")) started.push_back(x);
    for (const auto& x : list_of(*b, "pending")) pending.push_back(x);
    for (const auto& x : list_of(*b, "waiting")) waiting.push_back(x);
  }
  std::stable_sort(started.begin(), started.end(),
                   [](const json& a, const json& b) { return build_id(a) < build_id(b); });
  std::stable_sort(pending.begin(), pending.end(), [](const json& a, const json& b) {
    auto pa = integer_of(a, "position"), pb = integer_of(b, "position");
    return pa != pb ? pa < pb : entry_id(a) < entry_id(b);
  });
  std::stable_sort(waiting.begin(), waiting.end(),
                   [](const json& a, const json& b) { return entry_id(a) < entry_id(b); });
  out["started"] = std::move(started);
  out["pending"] = std::move(pending);
  out["waiting"] = std::move(waiting);
  return out;
}

json merge_stats(const std::vector<const json*>& bodies) {
  json out = json::object();
  sum_integers(out, bodies, {"queue_depth", "in_flight", "max_in_flight"});
  out["blocked_by"] = sum_maps(bodies, "blocked_by");

  std::int64_t total = 0, healthy = 0, slots = 0, running = 0;
  for (const auto* b : bodies) {
    const json w = b->is_object() && b->contains("workers") ? (*b)["workers"] : json::object();
    total = std::max(total, integer_of(w, "total"));
    healthy = std::max(healthy, integer_of(w, "healthy"));
    slots = std::max(slots, integer_of(w, "slots"));
    running += integer_of(w, "running");
  }
  out["workers"] = {{"total", total},
                    {"healthy", healthy},
                    {"slots", slots},
                    {"running", running},
                    {"utilization", ratio(static_cast<double>(running), static_cast<double>(slots))}};

  json pct = {{"p50", nullptr}, {"p95", nullptr}, {"p99", nullptr}, {"samples", 0}};
  std::int64_t samples = 0;
  for (const auto* b : bodies) {
    if (!b->is_object() || !b->contains("trigger_to_start_ms")) continue;
    const auto& t = (*b)["trigger_to_start_ms"];
    samples += integer_of(t, "samples");
    for (const char* p : {"p50", "p95", "p99"})
      if (t.is_object() && t.contains(p) && t[p].is_number() &&
          (pct[p].is_null() || t[p].get<double>() > pct[p].get<double>()))
        pct[p] = t[p];
  }
  pct["samples"] = samples;
  out["trigger_to_start_ms"] = std::move(pct);

  double per_minute = 0, weighted = 0, weight = 0;
  for (const auto* b : bodies) {
    per_minute += number_of(*b, "builds_per_minute");
    if (!b->is_object() || !b->contains("success_rate") || !(*b)["success_rate"].is_number())
      continue;
    double finished = 0;
    if ((*b).contains("finished") && (*b)["finished"].is_object())
      for (const auto& [status, n] : (*b)["finished"].items())
        if (n.is_number()) finished += n.get<double>();
    double w = finished > 0 ? finished : 1;
    weighted += w * (*b)["success_rate"].get<double>();
    weight += w;
  }
  out["builds_per_minute"] = per_minute;
  out["success_rate"] = ratio(weighted, weight);
  out["finished"] = sum_maps(bodies, "finished");

  std::int64_t group_builds = 0, waited = 0, waiting_now = 0;
  for (const auto* b : bodies) {
    const json g =
        b->is_object() && b->contains("group_contention") ? (*b)["group_contention"] : json();
    group_builds += integer_of(g, "group_builds");
    waited += integer_of(g, "waited");
    waiting_now += integer_of(g, "waiting_now");
  }
  out["group_contention"] = {
      {"group_builds", group_builds},
      {"waited", waited},
      {"rate", ratio(static_cast<double>(waited), static_cast<double>(group_builds))},
      {"waiting_now", waiting_now}};
  return out;
}

json merge_dashboard(const std::vector<const json*>& bodies) {
  json out = json::object();
  std::vector<json> pipelines;
  std::set<std::string> seen;
  for (const auto* b : bodies)
    for (const auto& p : list_of(*b, "pipelines")) {
      auto name = p.is_object() && p.contains("name") && p["name"].is_string()
                      ? p["name"].get<std::string>()
                      : std::string();
      if (seen.insert(name).second) pipelines.push_back(p);
    }
  std::stable_sort(pipelines.begin(), pipelines.end(), [](const json& a, const json& b) {
    return a.value("name", std::string()) < b.value("name", std::string());
  });
  out["pipelines"] = std::move(pipelines);
  sum_integers(out, bodies, {"in_flight", "queued"});
  return out;
}

json merge_builds(const std::vector<const json*>& bodies, std::size_t limit) {
  std::vector<json> builds;
  std::set<std::int64_t> seen;
  for (const auto* b : bodies)
    for (const auto& x : list_of(*b, "builds"))
      if (seen.insert(build_id(x)).second) builds.push_back(x);
  std::stable_sort(builds.begin(), builds.end(),
                   [](const json& a, const json& b) { return build_id(a) > build_id(b); });
  if (limit != 0 && builds.size() > limit) builds.resize(limit);
  return {{"builds", std::move(builds)}};
}

}  // namespace

std::optional<gather_kind> gather_of(std::string_view pattern) {
  if (pattern == "/api/v1/queue") return gather_kind::queue;
  if (pattern == "/api/v1/stats") return gather_kind::stats;
  if (pattern == "/api/v1/dashboard") return gather_kind::dashboard;
  if (pattern == "/api/v1/builds") return gather_kind::builds;
  return std::nullopt;
}

json merge_parts(gather_kind kind, const std::vector<member_part>& parts, std::size_t limit) {
  std::vector<const json*> bodies;
  json missing = json::array();
  for (const auto& p : parts) {
    if (p.answered && p.body.is_object()) {
      bodies.push_back(&p.body);
    } else {
      missing.push_back({{"member_id", p.member_id},
                         {"error", p.error.empty() ? "no answer" : p.error}});
    }
  }
  json out;
  switch (kind) {
    case gather_kind::queue:
      out = merge_queue(bodies);
      break;
    case gather_kind::stats:
      out = merge_stats(bodies);
      break;
    case gather_kind::dashboard:
      out = merge_dashboard(bodies);
      break;
    case gather_kind::builds:
      out = merge_builds(bodies, limit);
      break;
  }
  if (!missing.empty()) {
    out["partial"] = true;
    out["missing"] = std::move(missing);
  }
  return out;
}

}  // namespace pikoci::http
