#include "http/cluster.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "actors/model/build.hpp"

namespace pikoci::http {
namespace {

using nlohmann::json;

json nullable(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

/// RFC 3339 with milliseconds; a hello's time is read from Kafka, so it is clamped to years
/// 1970..9999 first.
std::string time_text(domain::wall_ms ms) {
  constexpr domain::wall_ms last = 253402300799999;  // 9999-12-31T23:59:59.999Z
  ms = std::clamp<domain::wall_ms>(ms, 0, last);
  return model::format_time(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

json member_json(const domain::member& m, const std::string& self_id) {
  const auto& h = m.last;
  json owned = json::array(), standby = json::array();
  for (const auto& [k, claim] : h.owned)
    if (claim.state == "active") owned.push_back(k);
  for (const auto& [k, lag] : h.standby) standby.push_back({{"partition", k}, {"lag", lag}});
  return {{"id", h.member_id},
          {"url", nullable(h.advertise_url)},
          {"state", domain::to_string(h.state)},
          {"datacenter", nullable(h.datacenter)},
          {"started_at", time_text(h.started_at)},
          {"self", h.member_id == self_id},
          {"owned", std::move(owned)},
          {"standby", std::move(standby)}};
}

json partition_json(int k, const std::vector<domain::member>& live,
                    const domain::cluster::partition_table* table) {
  auto owner = domain::owner(k, live);
  json standbys = json::array();
  for (const auto& m : live)
    if (auto lag = m.last.standby.find(k); lag != m.last.standby.end())
      standbys.push_back({{"member", m.last.member_id}, {"lag", lag->second}});
  return {{"partition", k},
          {"owner", owner ? json(owner->last.member_id) : json(nullptr)},
          {"owner_url", owner ? nullable(owner->last.advertise_url) : json(nullptr)},
          {"epoch", owner ? json(owner->last.owned.at(k).epoch) : json(nullptr)},
          {"standbys", std::move(standbys)},
          {"local_state", table ? json(domain::cluster::to_string(table->get(k))) : json(nullptr)}};
}

}  // namespace

json cluster_body(const cluster_view* view, domain::wall_ms now) {
  if (view == nullptr)
    return {{"mode", "single"},
            {"cluster", nullptr},
            {"members", json::array()},
            {"partitions", json::array()}};
  const int P = std::clamp(view->partitions, 1, domain::cluster::max_partitions);
  std::vector<domain::member> live;
  if (view->live) live = view->live(now);
  json members = json::array(), partitions = json::array();
  for (const auto& m : live) members.push_back(member_json(m, view->self_id));
  for (int k = 0; k <= P; ++k) partitions.push_back(partition_json(k, live, view->table.get()));
  return {{"mode", "cluster"},
          {"cluster", view->name},
          {"partitions_count", P},
          {"self", view->self_id},
          {"self_url", view->self_url},
          {"members", std::move(members)},
          {"partitions", std::move(partitions)}};
}

}  // namespace pikoci::http
