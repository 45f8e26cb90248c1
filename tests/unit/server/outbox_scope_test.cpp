// An outbox record's key names no pipeline: its write carries the pipeline as scope, so in
// cluster mode it travels with the partition of the pipeline that sent it.
#include <doctest/doctest.h>

#include "actors/server/persist.hpp"
#include "persistence/partitioning.hpp"

using namespace pikoci;

TEST_SUITE("server.outbox") {
  TEST_CASE("outbox records and their deletions are scoped to their pipeline") {
    model::notification_message m;
    m.id = "n-1";
    m.pipeline = "deploy-prod";
    m.job = "ship";
    for (bool record : {true, false}) {
      auto op = server::outbox_op(m, record);
      CHECK(op.key == persistence::keys::outbox("n-1"));
      CHECK(op.value.has_value() == record);
      CHECK(op.scope == "deploy-prod");
      auto r = persistence::route_of(op, 12);
      CHECK(r.k == persistence::route::kind::partition);
      CHECK(r.partition == persistence::partition_of("deploy-prod", 12));
    }
  }
}
