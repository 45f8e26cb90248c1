// GET /api/v1/cluster's body (http/cluster.hpp) from a hand-made directory of members: who is
// live, what each claims, who owns each partition (the highest active epoch), standby lag, this
// node's own partition states, and the single node's answer.
#include "http/cluster.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>

using namespace pikoci;
using nlohmann::json;

namespace {

constexpr domain::wall_ms t0 = 1764744012345;  // 2025-12-03T06:40:12.345Z

domain::hello member_hello(const std::string& id, const std::string& url, domain::wall_ms started) {
  domain::hello h;
  h.member_id = id;
  h.cluster = "ci";
  h.mode = domain::member_mode::cluster;
  h.state = domain::member_state::running;
  h.advertise_url = url;
  h.started_at = started;
  return h;
}

/// Three members heard at t0 (a, b, c) and one whose hellos stopped long ago (gone), on a cluster
/// of 4 partitions.
struct directory {
  domain::members heard;
  std::shared_ptr<domain::cluster::partition_table> table =
      std::make_shared<domain::cluster::partition_table>();
  http::cluster_view view;

  directory() {
    auto a = member_hello("a", "http://a:8080", t0 - 60000);
    a.datacenter = "eu-1";
    a.owned[0] = {3, "active"};
    a.owned[2] = {1, "active"};  // b claims 2 at a higher epoch: b owns it
    a.owned[4] = {1, "active"};  // G
    a.standby[1] = 7;
    auto b = member_hello("b", "http://b:8080", t0 - 30000);
    b.owned[1] = {2, "active"};
    b.owned[2] = {2, "active"};
    b.owned[3] = {5, "restoring"};  // not active: owns nothing
    b.standby[0] = 0;
    b.standby[4] = 12;
    auto c = member_hello("c", "", t0 - 1000);
    c.advertise_url.reset();  // not listening yet
    c.state = domain::member_state::starting;
    c.standby[0] = 40;
    auto gone = member_hello("gone", "http://gone:8080", t0 - 90000);
    gone.owned[3] = {9, "active"};  // stale: its claim counts no more
    heard.heard(a, t0 - 500);
    heard.heard(b, t0 - 200);
    heard.heard(c, t0 - 100);
    heard.heard(gone, t0 - 60000);
    table->set(0, domain::cluster::partition_state::active);
    table->set(1, domain::cluster::partition_state::restoring);
    table->set(4, domain::cluster::partition_state::active);
    view.name = "ci";
    view.partitions = 4;
    view.self_id = "a";
    view.self_url = "http://a:8080";
    view.table = table;
    view.live = [this](domain::wall_ms now) { return heard.live(now); };
  }
};

}  // namespace

TEST_SUITE("http.cluster") {
  TEST_CASE("a single node says so, with no members and no partitions") {
    CHECK(http::cluster_body(nullptr, t0) == json::parse(R"({"mode":"single","cluster":null,
        "members":[],"partitions":[]})"));
  }

  TEST_CASE("the live members, in start order, with what each claims") {
    directory d;
    auto body = http::cluster_body(&d.view, t0);
    CHECK(body["mode"] == "cluster");
    CHECK(body["cluster"] == "ci");
    CHECK(body["partitions_count"] == 4);
    CHECK(body["self"] == "a");
    CHECK(body["self_url"] == "http://a:8080");
    REQUIRE(body["members"].size() == 3);  // `gone` is not live
    CHECK(body["members"][0] == json::parse(R"({"id":"a","url":"http://a:8080",
        "state":"running","datacenter":"eu-1","started_at":"2025-12-03T06:39:12.345Z",
        "self":true,"owned":[0,2,4],"standby":[{"partition":1,"lag":7}]})"));
    CHECK(body["members"][1] == json::parse(R"({"id":"b","url":"http://b:8080",
        "state":"running","datacenter":null,"started_at":"2025-12-03T06:39:42.345Z",
        "self":false,"owned":[1,2],"standby":[{"partition":0,"lag":0},{"partition":4,"lag":12}]})"));
    CHECK(body["members"][2]["url"].is_null());
    CHECK(body["members"][2]["state"] == "starting");
    CHECK(body["members"][2]["owned"] == json::array());
  }

  TEST_CASE("each partition, then the global one, with its owner, standbys and state here") {
    directory d;
    auto parts = http::cluster_body(&d.view, t0)["partitions"];
    REQUIRE(parts.size() == 5);
    CHECK(parts[0] == json::parse(R"({"partition":0,"owner":"a","owner_url":"http://a:8080",
        "epoch":3,"standbys":[{"member":"b","lag":0},{"member":"c","lag":40}],
        "local_state":"active"})"));
    CHECK(parts[1]["owner"] == "b");
    CHECK(parts[1]["local_state"] == "restoring");
    CHECK(parts[1]["standbys"] == json::parse(R"([{"member":"a","lag":7}])"));
    // two claim it active: the highest epoch owns it
    CHECK(parts[2]["owner"] == "b");
    CHECK(parts[2]["epoch"] == 2);
    CHECK(parts[2]["local_state"] == "idle");
    // claimed only by a member that is not live, or not active: no owner
    CHECK(parts[3] == json::parse(R"({"partition":3,"owner":null,"owner_url":null,
        "epoch":null,"standbys":[],"local_state":"idle"})"));
    CHECK(parts[4]["partition"] == 4);  // G = P
    CHECK(parts[4]["owner"] == "a");
    CHECK(parts[4]["standbys"] == json::parse(R"([{"member":"b","lag":12}])"));
  }

  TEST_CASE("later, members that stopped saying hello are gone and their partitions unowned") {
    directory d;
    auto body = http::cluster_body(&d.view, t0 + 2700);  // a's hello is 3.2 s old, b's 2.9 s
    REQUIRE(body["members"].size() == 2);
    CHECK(body["members"][0]["id"] == "b");
    CHECK(body["partitions"][0]["owner"].is_null());
    CHECK(body["partitions"][2]["owner"] == "b");
  }

  TEST_CASE("a view without a table or directory yet, and hostile values, still answer") {
    directory d;
    d.view.table.reset();
    d.view.live = nullptr;
    d.view.partitions = 1000;  // clamped to the most a cluster may have
    auto body = http::cluster_body(&d.view, t0);
    CHECK(body["members"] == json::array());
    CHECK(body["partitions_count"] == domain::cluster::max_partitions);
    REQUIRE(body["partitions"].size() == domain::cluster::max_partitions + 1);
    CHECK(body["partitions"][0]["local_state"].is_null());

    directory odd;
    domain::hello h = member_hello("z", "http://z", -5);  // a time before 1970, from Kafka
    odd.heard.heard(h, t0);
    auto members = http::cluster_body(&odd.view, t0)["members"];
    CHECK(members[0]["started_at"] == "1970-01-01T00:00:00.000Z");
  }
}
