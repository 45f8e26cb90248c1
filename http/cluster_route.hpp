#pragma once
// Cluster mode: which node answers a request. Every node takes every request; one that belongs to
// a pipeline partition (or to G, the users' and team secrets' writes) owned by another node is
// forwarded to that owner (http/forward.hpp). This is the decision alone, a pure function of the
// route, this node's partition table and the members' hellos, so it is tested on its own.

#include <string>
#include <string_view>
#include <vector>

#include "domain/cluster.hpp"
#include "domain/members.hpp"

namespace pikoci::http {

/// The header a forwarded request carries: the member id of the node that forwarded it. A request
/// that has it is answered where it arrives, never forwarded again (no loops).
inline constexpr std::string_view forwarded_header = "X-Pikoci-Forwarded-By";

/// The header of a node-wide read a node asks every member for (`partition_rule::gather`): the
/// member answers from its own state only, never asking the others again. A client that sends
/// it gets that node's own part, nothing more.
inline constexpr std::string_view local_header = "X-Pikoci-Local";

/// Which partition a route's requests belong to.
enum class partition_rule {
  none,      // any node answers (reads of replicated data, node-wide views, health...)
  pipeline,  // the partition of the pipeline named by the path parameter `p`
  global,    // G (= P): writes of users and team secrets
  build,     // the partition a cluster build id names (`id & 63`, path parameter `id`)
  webhook,   // the partition of the pipeline whose resource has the webhook token (`token`),
             // looked up in the catalog by the token's digest
  gather,    // a node-wide read: every live member answers for its part, the edge merges
};

/// The rule of a route of the table, from its method and path pattern ("/api/v1/pipelines/:p"):
/// every route under `/api/v1/pipelines/:p` goes by its pipeline; POST, PUT and DELETE of
/// `/api/v1/users...` and PUT and DELETE of `/api/v1/secrets/:name` go to G; `GET
/// /api/v1/builds/:id` by the id's partition; `POST /api/v1/webhooks/:token` by the token's
/// pipeline; `GET` of `/api/v1/queue`, `/stats`, `/dashboard` and `/builds` are gathered.
partition_rule rule_of(std::string_view method, std::string_view pattern);

/// The partition of a request under `rule`: the pipeline's k (persistence::partition_of), G = P,
/// or -1 when any node answers it (or `partitions` is out of range). For `webhook`, `pipeline`
/// is the pipeline the catalog names for the token ("" when none: -1).
int partition_of_request(partition_rule rule, std::string_view pipeline, int partitions);

/// The partition a build id names (`id & 63`) when it is a decimal build id of a cluster of
/// `partitions` pipeline partitions; -1 otherwise (not a number, or a k outside 0..P-1: the
/// node that gets it answers, 404).
int partition_of_build(std::string_view id, int partitions);

/// What to do with a request of partition k now.
enum class route_kind {
  local,    // this node serves k (or the request was already forwarded once)
  forward,  // to `url`, the live owner's advertise URL
  wait,     // nobody serves k now (moving, restoring, its owner gone): look again shortly
};

struct route_decision {
  route_kind kind = route_kind::local;
  std::string url;    // forward: the owner's advertise URL (http or https)
  std::string owner;  // forward: its member id
};

/// The owner of k among `live` as domain::members::owner has it: the member claiming k `active`
/// with the highest epoch (then the highest member id); null when none claims it.
const domain::member* owner_of(int k, const std::vector<domain::member>& live);

/// The decision for a request of partition `k`: local when it carries the forwarding header or
/// `table` has k `active`; forward when a live owner other than `self_id` with an http(s)
/// advertise URL is known; wait otherwise.
route_decision decide(int k, const domain::cluster::partition_table& table,
                      const std::vector<domain::member>& live, const std::string& self_id,
                      bool forwarded);

}  // namespace pikoci::http
