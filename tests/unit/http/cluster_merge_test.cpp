// Cluster mode's node-wide reads (http/cluster_merge.cpp): every member's part merged into the
// answer one node gives, and a member that did not answer named.
#include <doctest/doctest.h>

#include <vector>

#include "http/cluster_merge.hpp"

using namespace pikoci;
using http::gather_kind;
using http::member_part;
using nlohmann::json;

namespace {

member_part part(const char* id, json body) { return member_part{id, true, std::move(body), {}}; }

json build(std::int64_t id) { return {{"id", id}, {"pipeline", "p"}, {"status", "pending"}}; }

std::vector<std::int64_t> ids(const json& list, bool entries) {
  std::vector<std::int64_t> out;
  for (const auto& x : list) out.push_back((entries ? x["build"] : x)["id"].get<std::int64_t>());
  return out;
}

}  // namespace

TEST_SUITE("http.cluster_merge") {
  TEST_CASE("the node-wide routes gathered") {
    CHECK(http::gather_of("/api/v1/queue") == gather_kind::queue);
    CHECK(http::gather_of("/api/v1/stats") == gather_kind::stats);
    CHECK(http::gather_of("/api/v1/dashboard") == gather_kind::dashboard);
    CHECK(http::gather_of("/api/v1/builds") == gather_kind::builds);
    CHECK_FALSE(http::gather_of("/api/v1/builds/:id"));
    CHECK_FALSE(http::gather_of("/api/v1/workers"));
  }

  TEST_CASE("queues: counters summed, started and waiting oldest first, pending by position") {
    json a = {{"max_in_flight", 64}, {"in_flight", 1}, {"max_queue_size", 1000}, {"queued", 2},
              {"started", {build(10)}},
              {"pending", {{{"position", 1}, {"build", build(30)}, {"blocked_by", "serial"}},
                           {{"position", 2}, {"build", build(40)}, {"blocked_by", "serial"}}}},
              {"waiting", {{{"build", build(7)}, {"blocked_by", "approval"}}}}};
    json b = {{"max_in_flight", 64}, {"in_flight", 1}, {"max_queue_size", 1000}, {"queued", 1},
              {"started", {build(5)}},
              {"pending", {{{"position", 1}, {"build", build(20)}, {"blocked_by", "no worker"}}}},
              {"waiting", {{{"build", build(3)}, {"blocked_by", "approval"}}}}};
    auto m = http::merge_parts(gather_kind::queue, {part("a", a), part("b", b)}, 0);
    CHECK(m["max_in_flight"] == 128);
    CHECK(m["in_flight"] == 2);
    CHECK(m["max_queue_size"] == 2000);
    CHECK(m["queued"] == 3);
    CHECK(ids(m["started"], false) == std::vector<std::int64_t>{5, 10});
    CHECK(ids(m["pending"], true) == std::vector<std::int64_t>{20, 30, 40});
    CHECK(m["pending"][0]["blocked_by"] == "no worker");
    CHECK(m["pending"][2]["position"] == 2);  // each member's own position
    CHECK(ids(m["waiting"], true) == std::vector<std::int64_t>{3, 7});
    CHECK_FALSE(m.contains("partial"));
    CHECK_FALSE(m.contains("missing"));
  }

  TEST_CASE("a member that did not answer is left out and named") {
    json a = {{"builds", {build(9), build(4)}}};
    member_part gone{"c", false, {}, "timed out"};
    auto m = http::merge_parts(gather_kind::builds, {part("a", a), gone}, 50);
    CHECK(ids(m["builds"], false) == std::vector<std::int64_t>{9, 4});
    CHECK(m["partial"] == true);
    REQUIRE(m["missing"].size() == 1);
    CHECK(m["missing"][0]["member_id"] == "c");
    CHECK(m["missing"][0]["error"] == "timed out");
    // a part that is not an object counts as no answer
    auto n = http::merge_parts(gather_kind::builds, {member_part{"d", true, json::array(), {}}}, 50);
    CHECK(n["partial"] == true);
    CHECK(n["builds"].empty());
  }

  TEST_CASE("builds: newest first, once each, then the limit") {
    json a = {{"builds", {build(90), build(50), build(10)}}};
    json b = {{"builds", {build(70), build(50), build(20)}}};
    auto m = http::merge_parts(gather_kind::builds, {part("a", a), part("b", b)}, 4);
    CHECK(ids(m["builds"], false) == std::vector<std::int64_t>{90, 70, 50, 20});
    auto all = http::merge_parts(gather_kind::builds, {part("a", a), part("b", b)}, 0);
    CHECK(all["builds"].size() == 5);
  }

  TEST_CASE("dashboards: pipelines by name, once each, figures summed") {
    json a = {{"pipelines", {{{"name", "zeta"}, {"jobs", json::array()}}}},
              {"in_flight", 1}, {"queued", 0}};
    json b = {{"pipelines", {{{"name", "alpha"}, {"jobs", json::array()}},
                             {{"name", "zeta"}, {"jobs", json::array()}}}},
              {"in_flight", 2}, {"queued", 3}};
    auto m = http::merge_parts(gather_kind::dashboard, {part("a", a), part("b", b)}, 0);
    REQUIRE(m["pipelines"].size() == 2);
    CHECK(m["pipelines"][0]["name"] == "alpha");
    CHECK(m["pipelines"][1]["name"] == "zeta");
    CHECK(m["in_flight"] == 3);
    CHECK(m["queued"] == 3);
  }

  TEST_CASE("stats: counters summed, shared workers counted once, rates recomputed") {
    json a = {{"queue_depth", 2}, {"in_flight", 1}, {"max_in_flight", 64},
              {"blocked_by", {{"serial", 2}}},
              {"workers", {{"total", 2}, {"healthy", 2}, {"slots", 8}, {"running", 1},
                           {"utilization", 0.125}}},
              {"trigger_to_start_ms", {{"p50", 2.0}, {"p95", 5.0}, {"p99", 9.0}, {"samples", 3}}},
              {"builds_per_minute", 0.4}, {"success_rate", 1.0},
              {"finished", {{"succeeded", 3}}},
              {"group_contention",
               {{"group_builds", 4}, {"waited", 1}, {"rate", 0.25}, {"waiting_now", 0}}}};
    json b = {{"queue_depth", 1}, {"in_flight", 3}, {"max_in_flight", 64},
              {"blocked_by", {{"serial", 1}, {"approval", 1}}},
              {"workers", {{"total", 2}, {"healthy", 1}, {"slots", 8}, {"running", 3},
                           {"utilization", 0.375}}},
              {"trigger_to_start_ms", {{"p50", 1.0}, {"p95", 7.0}, {"p99", nullptr}, {"samples", 1}}},
              {"builds_per_minute", 0.2}, {"success_rate", 0.0},
              {"finished", {{"failed", 1}}},
              {"group_contention",
               {{"group_builds", 4}, {"waited", 3}, {"rate", 0.75}, {"waiting_now", 2}}}};
    auto m = http::merge_parts(gather_kind::stats, {part("a", a), part("b", b)}, 0);
    CHECK(m["queue_depth"] == 3);
    CHECK(m["in_flight"] == 4);
    CHECK(m["max_in_flight"] == 128);
    CHECK(m["blocked_by"] == json{{"serial", 3}, {"approval", 1}});
    CHECK(m["workers"]["total"] == 2);
    CHECK(m["workers"]["healthy"] == 2);
    CHECK(m["workers"]["slots"] == 8);
    CHECK(m["workers"]["running"] == 4);
    CHECK(m["workers"]["utilization"].get<double>() == doctest::Approx(0.5));
    CHECK(m["trigger_to_start_ms"]["p50"].get<double>() == doctest::Approx(2.0));
    CHECK(m["trigger_to_start_ms"]["p95"].get<double>() == doctest::Approx(7.0));
    CHECK(m["trigger_to_start_ms"]["p99"].get<double>() == doctest::Approx(9.0));
    CHECK(m["trigger_to_start_ms"]["samples"] == 4);
    CHECK(m["builds_per_minute"].get<double>() == doctest::Approx(0.6));
    CHECK(m["success_rate"].get<double>() == doctest::Approx(0.75));  // 3 of 4 finished
    CHECK(m["finished"] == json{{"succeeded", 3}, {"failed", 1}});
    CHECK(m["group_contention"]["group_builds"] == 8);
    CHECK(m["group_contention"]["waited"] == 4);
    CHECK(m["group_contention"]["rate"].get<double>() == doctest::Approx(0.5));
    CHECK(m["group_contention"]["waiting_now"] == 2);
    // no member with a rate: null, as on one node
    auto none = http::merge_parts(gather_kind::stats, {}, 0);
    CHECK(none["success_rate"].is_null());
    CHECK(none["workers"]["utilization"].is_null());
    CHECK(none["trigger_to_start_ms"]["p50"].is_null());
  }
}
