// Versions (dedup, ids, order) and the `passed` rules of reference §5.3.
#include <doctest/doctest.h>

#include "actors/server/versions.hpp"

using namespace pikoci::server;
using nlohmann::json;

namespace {
const auto now = std::chrono::system_clock::now();

/// An index of finished builds, each using version `v` of get "src".
struct history {
  usage_index index;
  std::int64_t next = 1;
  history& add(const std::string& job, bool passed, version_id v) {
    index.record(next++, {job, false, passed, {{"src", v}}});
    return *this;
  }
};
}  // namespace

TEST_SUITE("server.versions") {
  TEST_CASE("versions are recorded in order with global ids and duplicates are skipped") {
    version_store s;
    auto first = s.add("git.repo", {{{"ref", "a"}}, {{"ref", "b"}}}, now);
    REQUIRE(first.size() == 2);
    CHECK(first[0].id == 1);
    CHECK(first[1].id == 2);
    auto other = s.add("cron.timer", {{{"date", "x"}}}, now);
    CHECK(other[0].id == 3);
    // same content again (key order does not matter) → nothing new
    CHECK(s.add("git.repo", {{{"ref", "b"}}, json::parse(R"({"ref":"a"})")}, now).empty());
    auto more = s.add("git.repo", {{{"ref", "c"}, {"n", 1}}}, now);
    CHECK(more[0].id == 4);
    CHECK(s.latest("git.repo")->version["ref"] == "c");
    auto listed = s.list("git.repo");
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].id == 4);
    CHECK(listed[2].id == 1);
    CHECK(s.list("git.repo", 1).size() == 1);
    CHECK(s.latest("nope") == nullptr);
  }

  TEST_CASE("a removed resource forgets its versions but ids keep increasing") {
    version_store s;
    s.add("a.b", {{{"v", 1}}}, now);
    s.remove("a.b");
    CHECK(s.latest("a.b") == nullptr);
    CHECK(s.find(1) == nullptr);
    CHECK(s.add("a.b", {{{"v", 1}}}, now)[0].id == 2);
  }

  TEST_CASE("a passed get is ready with the highest version every upstream job passed") {
    version_store s;
    s.add("git.src", {{{"n", 1}}, {{"n", 2}}, {{"n", 3}}}, now);
    passed_query q{"src", "git.src", {"unit", "lint"}, 0, std::nullopt};
    history h;
    h.add("unit", true, 1)
        .add("unit", true, 2)
        .add("lint", true, 1)
        .add("unit", false, 3)
        .add("lint", true, 3);
    // v2 passed unit only, v3 failed unit: v1 is the one both passed
    CHECK(ready_version(q, "deploy", h.index, s) == 1);
    h.add("lint", true, 2);
    CHECK(ready_version(q, "deploy", h.index, s) == 2);
    // each version flows through a job at most once; an older unused one still qualifies
    h.add("deploy", true, 2);
    CHECK(ready_version(q, "deploy", h.index, s) == 1);
    h.add("deploy", false, 1);
    CHECK_FALSE(ready_version(q, "deploy", h.index, s));
  }

  TEST_CASE("the index forgets what a build no longer uses") {
    version_store s;
    s.add("git.src", {{{"n", 1}}, {{"n", 2}}}, now);
    passed_query q{"src", "git.src", {"unit"}, 0, std::nullopt};
    usage_index u;
    u.record(1, {"unit", true, false, {{"src", 1}}});
    CHECK(u.has_pending("unit"));
    CHECK_FALSE(ready_version(q, "deploy", u, s));
    u.record(1, {"unit", false, true, {{"src", 1}}});  // it passed
    CHECK_FALSE(u.has_pending("unit"));
    CHECK(ready_version(q, "deploy", u, s) == 1);
    u.record(2, {"deploy", true, false, {{"src", 1}}});
    CHECK(u.used("deploy", "src", 1));
    CHECK_FALSE(ready_version(q, "deploy", u, s));
    u.erase(2);  // refused by a full queue: the version is free again
    CHECK_FALSE(u.used("deploy", "src", 1));
    CHECK(ready_version(q, "deploy", u, s) == 1);
    u.erase_job("unit");
    CHECK_FALSE(ready_version(q, "deploy", u, s));
    CHECK(u.passed_with("unit", "src").empty());
  }

  TEST_CASE("the baseline and the pin limit what a passed get may take") {
    version_store s;
    s.add("git.src", {{{"n", 1}}, {{"n", 2}}}, now);
    history h;
    h.add("unit", true, 1).add("unit", true, 2);
    passed_query q{"src", "git.src", {"unit"}, 2, std::nullopt};
    CHECK_FALSE(ready_version(q, "deploy", h.index, s));
    q.baseline = 1;
    CHECK(ready_version(q, "deploy", h.index, s) == 2);
    q.baseline = 0;
    q.pinned = 1;
    CHECK(ready_version(q, "deploy", h.index, s) == 1);
    q.pinned = 7;
    CHECK_FALSE(ready_version(q, "deploy", h.index, s));
  }

  TEST_CASE("only the same-named get of upstream builds counts") {
    version_store s;
    s.add("git.src", {{{"n", 1}}}, now);
    usage_index u;
    u.record(1, {"unit", false, true, {{"other", 1}}});
    passed_query q{"src", "git.src", {"unit"}, 0, std::nullopt};
    CHECK_FALSE(ready_version(q, "deploy", u, s));
  }

  TEST_CASE("a manual trigger takes the highest version all upstream jobs passed with") {
    history h;
    h.add("unit", true, 1)
        .add("unit", true, 3)
        .add("lint", true, 1)
        .add("lint", true, 3)
        .add("lint", true, 4)
        .add("unit", false, 4);
    CHECK(highest_common_version("src", {"unit", "lint"}, h.index) == 3);
    CHECK_FALSE(highest_common_version("src", {"unit", "never-ran"}, h.index));
  }
}
