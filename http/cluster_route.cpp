#include "http/cluster_route.hpp"

#include <tuple>

#include "actors/model/ids.hpp"
#include "persistence/partitioning.hpp"

namespace pikoci::http {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// `pattern` is `base` or below it ("/a" is under "/a" and "/a/b", not under "/ab").
bool under(std::string_view pattern, std::string_view base) {
  return starts_with(pattern, base) &&
         (pattern.size() == base.size() || pattern[base.size()] == '/');
}

bool web_url(const std::string& url) {
  return starts_with(url, "http://") || starts_with(url, "https://");
}

}  // namespace

partition_rule rule_of(std::string_view method, std::string_view pattern) {
  if (under(pattern, "/api/v1/pipelines/:p")) return partition_rule::pipeline;
  if (method == "GET" && under(pattern, "/api/v1/builds/:id")) return partition_rule::build;
  if (method == "POST" && pattern == "/api/v1/webhooks/:token") return partition_rule::webhook;
  if (method == "GET")
    for (std::string_view wide :
         {"/api/v1/queue", "/api/v1/stats", "/api/v1/dashboard", "/api/v1/builds"})
      if (pattern == wide) return partition_rule::gather;
  bool write = method == "POST" || method == "PUT" || method == "DELETE";
  if (write && under(pattern, "/api/v1/users")) return partition_rule::global;
  if ((method == "PUT" || method == "DELETE") && under(pattern, "/api/v1/secrets/:name"))
    return partition_rule::global;
  return partition_rule::none;
}

int partition_of_request(partition_rule rule, std::string_view pipeline, int partitions) {
  if (partitions < 1 || partitions > domain::cluster::max_partitions) return -1;
  switch (rule) {
    case partition_rule::none:
    case partition_rule::gather:
    case partition_rule::build:  // partition_of_build
      return -1;
    case partition_rule::webhook:
      if (pipeline.empty()) return -1;
      return persistence::partition_of(pipeline, partitions);
    case partition_rule::global:
      return partitions;
    case partition_rule::pipeline:
      return persistence::partition_of(pipeline, partitions);
  }
  return -1;
}

int partition_of_build(std::string_view id, int partitions) {
  if (partitions < 1 || partitions > domain::cluster::max_partitions) return -1;
  if (id.empty() || id.size() > 18) return -1;
  std::int64_t n = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  auto k = model::id_source::partition_of(n);
  return k < partitions ? k : -1;
}

const domain::member* owner_of(int k, const std::vector<domain::member>& live) {
  const domain::member* best = nullptr;
  std::int64_t best_epoch = 0;
  for (const auto& m : live) {
    auto claim = m.last.owned.find(k);
    if (claim == m.last.owned.end() || claim->second.state != "active") continue;
    if (best == nullptr || std::tie(claim->second.epoch, m.last.member_id) >
                               std::tie(best_epoch, best->last.member_id)) {
      best = &m;
      best_epoch = claim->second.epoch;
    }
  }
  return best;
}

route_decision decide(int k, const domain::cluster::partition_table& table,
                      const std::vector<domain::member>& live, const std::string& self_id,
                      bool forwarded) {
  if (forwarded || table.active(k)) return {route_kind::local, {}, {}};
  const auto* owner = owner_of(k, live);
  // our own claim while the table says otherwise: the move is under way here
  if (owner == nullptr || owner->last.member_id == self_id || !owner->last.advertise_url ||
      !web_url(*owner->last.advertise_url))
    return {route_kind::wait, {}, {}};
  return {route_kind::forward, *owner->last.advertise_url, owner->last.member_id};
}

}  // namespace pikoci::http
