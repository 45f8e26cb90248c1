// Why a build waits for a worker (actors/server/worker_wait): the words GET /queue shows.
#include <doctest/doctest.h>

#include "actors/server/worker_wait.hpp"

using namespace pikoci;

namespace {
proto::pool_worker remote(const std::string& name, std::vector<std::string> tags, int slots = 2) {
  return {name, std::move(tags), false, true, false, slots};
}
}  // namespace

TEST_SUITE("server.worker_wait") {
  TEST_CASE("no worker, none for the jobs queue, none with the tags, only draining ones") {
    CHECK(server::worker_wait({}, {}) == "no worker");
    CHECK(server::worker_wait({}, {"gpu"}) == "no worker");
    auto checks_only = remote("c", {});
    checks_only.takes_jobs = false;
    CHECK(server::worker_wait({checks_only}, {}) == "no worker for queue jobs");
    proto::worker_pool pool{remote("plain", {}), remote("half", {"gpu"}), checks_only};
    CHECK(server::worker_wait(pool, {}).empty());
    CHECK(server::worker_wait(pool, {"gpu"}).empty());
    CHECK(server::worker_wait(pool, {"gpu", "linux"}) == "no worker with tags [gpu, linux]");
    pool[1].draining = true;
    CHECK(server::worker_wait(pool, {"gpu"}) == "workers with tags [gpu] draining");
    pool[0].draining = true;
    CHECK(server::worker_wait(pool, {}) == "workers draining");
  }

  TEST_CASE("the embedded worker runs every build; slots count only workers taking builds") {
    auto pool = proto::embedded_pool(3);
    CHECK(server::worker_wait(pool, {"gpu"}).empty());
    CHECK(server::pool_slots(pool) == 3);
    pool.push_back(remote("r", {}, 4));
    pool.back().draining = true;
    auto checks_only = remote("c", {}, 5);
    checks_only.takes_jobs = false;
    pool.push_back(checks_only);
    CHECK(server::pool_slots(pool) == 3);
  }
}
