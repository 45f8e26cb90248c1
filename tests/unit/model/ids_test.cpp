// Build and version ids (actors/model/ids.hpp): a counter on one node; in cluster mode, time-based
// ids per partition that never collide across partitions and name their partition.
#include <doctest/doctest.h>

#include <set>
#include <thread>
#include <vector>

#include "actors/model/ids.hpp"

using pikoci::model::id_source;

namespace {

std::int64_t frozen_clock() {
  return 1000;
}

}  // namespace

TEST_SUITE("model.ids") {
  TEST_CASE("single mode counts 1, 2, ... and continues after what it observes") {
    id_source ids;
    CHECK(ids.partition() == -1);
    CHECK(ids.last() == 0);
    CHECK(ids.next() == 1);
    CHECK(ids.next() == 2);
    ids.observe(41);
    CHECK(ids.last() == 41);
    CHECK(ids.next() == 42);
    ids.observe(10);  // an older id changes nothing
    CHECK(ids.next() == 43);
  }

  TEST_CASE("partitioned ids carry their partition, grow, and stay below 2^53") {
    id_source ids(37);
    CHECK(ids.partition() == 37);
    CHECK(ids.last() == 0);
    std::int64_t prev = 0;
    for (int i = 0; i < 100000; ++i) {  // far faster than one per millisecond
      auto id = ids.next();
      REQUIRE(id > prev);
      REQUIRE(id_source::partition_of(id) == 37);
      REQUIRE((id & 63) == 37);
      prev = id;
    }
    CHECK(ids.last() == prev);
    CHECK(prev < (std::int64_t(1) << 53));
    // the time part is about now: milliseconds since 2024-01-01
    auto t = prev >> 6;
    CHECK(t >= id_source::ms_since_2024());
    CHECK(t < id_source::ms_since_2024() + 100000 + 1000);
    CHECK(id_source::ms_since_2024() > 0);
  }

  TEST_CASE("partitioned ids are unique across threads and across partitions") {
    id_source a(0), b(1);
    std::vector<std::vector<std::int64_t>> drawn(4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&, i] {
        auto& src = i % 2 == 0 ? a : b;
        for (int n = 0; n < 20000; ++n) drawn[i].push_back(src.next());
      });
    for (auto& t : threads) t.join();
    std::set<std::int64_t> all;
    for (const auto& d : drawn) all.insert(d.begin(), d.end());
    CHECK(all.size() == 80000);
  }

  TEST_CASE("a frozen or backward clock never repeats an id") {
    id_source ids(5, &frozen_clock);
    CHECK(ids.next() == (1000 << 6 | 5));
    CHECK(ids.next() == (1001 << 6 | 5));
    CHECK(ids.next() == (1002 << 6 | 5));
  }

  TEST_CASE("after a restore, observe puts new ids after everything committed") {
    // The previous owner's clock ran ahead: its ids are in the future of ours.
    id_source before(9);
    auto committed = before.next() + (std::int64_t(3600 * 1000) << 6);  // an hour ahead
    id_source after(9);
    after.observe(committed);
    after.observe(before.next());  // older ones change nothing
    CHECK(after.last() == committed);
    auto id = after.next();
    CHECK(id > committed);
    CHECK(id_source::partition_of(id) == 9);
    // ids of other partitions (builds of a pipeline that moved) only raise the time part
    id_source other(2, &frozen_clock);
    other.observe((5000 << 6) | 9);
    CHECK(other.next() == (5001 << 6 | 2));
  }
}
