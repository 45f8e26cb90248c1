#pragma once
// The body of GET /api/v1/cluster: the live members of this node's cluster as their hellos
// describe them, and who owns each partition, from the edge's cluster view.

#include <nlohmann/json.hpp>

#include "domain/members.hpp"
#include "http/server.hpp"

namespace pikoci::http {

/// What `view` shows at `now` (ms since the epoch):
/// `{"mode":"cluster","cluster","partitions_count","self","self_url","members":[...],
/// "partitions":[...]}`. Members in the order of `view.live` (started_at, then id), each
/// `{"id","url","state","datacenter","started_at","self","owned":[k],"standby":[{"partition",
/// "lag"}]}` (`owned`: the partitions it claims active). Partitions 0..P-1, then the global one
/// as `"partition": P`, each `{"partition","owner","owner_url","epoch","standbys":[{"member",
/// "lag"}],"local_state"}`: the owner is the live member claiming it active with the highest
/// epoch (domain::owner; null, and null url and epoch, when none does), `local_state` its state
/// on this node. A single node (`view` null): `{"mode":"single","cluster":null,"members":[],
/// "partitions":[]}`.
nlohmann::json cluster_body(const cluster_view* view, domain::wall_ms now);

}  // namespace pikoci::http
