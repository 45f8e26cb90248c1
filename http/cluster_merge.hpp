#pragma once
// Cluster mode: the node-wide reads (GET /queue, /stats, /dashboard, /builds without a pipeline)
// are asked of every live member, each answering from its own state (the local header,
// cluster_route.hpp), and their parts are merged here into the answer one node would give: lists
// concatenated and ordered as a single node orders them, counters summed. A member that did not
// answer in time is left out and named (`partial`). Pure functions of the parts, tested alone.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pikoci::http {

/// Which node-wide read.
enum class gather_kind { queue, stats, dashboard, builds };

/// The node-wide read of a route pattern ("/api/v1/queue"); none for other routes.
std::optional<gather_kind> gather_of(std::string_view pattern);

/// One member's part.
struct member_part {
  std::string member_id;
  bool answered = false;  // a 200 JSON object came back in time
  nlohmann::json body;    // its answer, when answered
  std::string error;      // why not, when not
};

/// The merged answer of `parts` (those not answered are left out). `limit` is the `limit` of
/// GET /builds (0: all). When some member did not answer, the answer has `"partial": true` and
/// `"missing": [{"member_id", "error"}]`; otherwise it has the single node's shape exactly.
///  - queue: numbers summed; `started` and `waiting` oldest first (by build id), `pending` by
///    each member's queue position, then oldest first (positions stay the members' own).
///  - stats: counters summed (`queue_depth`, `in_flight`, `max_in_flight`, `blocked_by`,
///    `finished`, `builds_per_minute`, group counts); `workers`: `total`, `healthy` and `slots`
///    the largest a member sees (workers serve every member), `running` summed, `utilization`
///    recomputed; `trigger_to_start_ms` percentiles the highest of the members' (samples summed);
///    `success_rate` the members' rates weighted by their finished builds; group `rate`
///    recomputed.
///  - dashboard: `pipelines` by name (one entry per name), `in_flight` and `queued` summed.
///  - builds: newest first (by id, one entry per id), then the limit.
nlohmann::json merge_parts(gather_kind kind, const std::vector<member_part>& parts,
                           std::size_t limit);

}  // namespace pikoci::http
