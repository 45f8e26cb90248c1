// Versions (dedup, ids, order) and the `passed` rules of reference §5.3.
#include <doctest/doctest.h>

#include "actors/server/versions.hpp"

using namespace pikoci::server;
using nlohmann::json;

namespace {
const auto now = std::chrono::system_clock::now();

build_usage build(const std::string& job, bool passed, version_id v) {
  return {job, passed, {{"src", v}}};
}
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
    std::vector<build_usage> up{build("unit", true, 1), build("unit", true, 2),
                                build("lint", true, 1), build("unit", false, 3),
                                build("lint", true, 3)};
    // v2 passed unit only, v3 failed unit: v1 is the one both passed
    CHECK(ready_version(q, up, {}, s) == 1);
    up.push_back(build("lint", true, 2));
    CHECK(ready_version(q, up, {}, s) == 2);
    // each version flows through a job at most once; an older unused one still qualifies
    CHECK(ready_version(q, up, {build("deploy", true, 2)}, s) == 1);
    CHECK_FALSE(ready_version(q, up, {build("deploy", true, 2), build("deploy", false, 1)}, s));
  }

  TEST_CASE("the baseline and the pin limit what a passed get may take") {
    version_store s;
    s.add("git.src", {{{"n", 1}}, {{"n", 2}}}, now);
    std::vector<build_usage> up{build("unit", true, 1), build("unit", true, 2)};
    passed_query q{"src", "git.src", {"unit"}, 2, std::nullopt};
    CHECK_FALSE(ready_version(q, up, {}, s));
    q.baseline = 1;
    CHECK(ready_version(q, up, {}, s) == 2);
    q.baseline = 0;
    q.pinned = 1;
    CHECK(ready_version(q, up, {}, s) == 1);
    q.pinned = 7;
    CHECK_FALSE(ready_version(q, up, {}, s));
  }

  TEST_CASE("only the same-named get of upstream builds counts") {
    version_store s;
    s.add("git.src", {{{"n", 1}}}, now);
    build_usage other{"unit", true, {{"other", 1}}};
    passed_query q{"src", "git.src", {"unit"}, 0, std::nullopt};
    CHECK_FALSE(ready_version(q, {other}, {}, s));
  }

  TEST_CASE("a manual trigger takes the highest version all upstream jobs passed with") {
    std::vector<build_usage> up{build("unit", true, 1), build("unit", true, 3),
                                build("lint", true, 1), build("lint", true, 3),
                                build("lint", true, 4), build("unit", false, 4)};
    CHECK(highest_common_version("src", {"unit", "lint"}, up) == 3);
    CHECK_FALSE(highest_common_version("src", {"unit", "never-ran"}, up));
  }
}
