#include "domain/members.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

using namespace pikoci::domain;

namespace {

hello single(const std::string& id, wall_ms started, member_state state = member_state::running) {
  hello h;
  h.member_id = id;
  h.started_at = started;
  h.state = state;
  h.advertise_url = "http://127.0.0.1:8080";
  return h;
}

hello node(const std::string& id, const std::string& cluster, wall_ms started) {
  hello h = single(id, started);
  h.mode = member_mode::cluster;
  h.cluster = cluster;
  return h;
}

member heard_at(const hello& h, wall_ms at) {
  return member{h, at};
}

}  // namespace

TEST_SUITE("domain.members") {
  TEST_CASE("a hello goes through its JSON form unchanged") {
    hello h = node("m-1", "c1", 1700000000123);
    h.datacenter = "eu-1";
    h.owned[3] = {7, "active"};
    h.owned[12] = {2, "restoring"};
    h.standby[5] = 42;
    auto back = decode_hello(encode(h));
    REQUIRE_MESSAGE(back.value, back.error);
    CHECK(back.value->member_id == "m-1");
    CHECK(back.value->cluster == "c1");
    CHECK(back.value->mode == member_mode::cluster);
    CHECK(back.value->state == member_state::running);
    CHECK(back.value->advertise_url == "http://127.0.0.1:8080");
    CHECK(back.value->datacenter == "eu-1");
    CHECK(back.value->started_at == 1700000000123);
    CHECK(back.value->owned.at(3).epoch == 7);
    CHECK(back.value->owned.at(12).state == "restoring");
    CHECK(back.value->standby.at(5) == 42);
  }

  TEST_CASE("a single server's hello has null cluster and datacenter and empty maps") {
    hello h = single("m-1", 5, member_state::starting);
    h.advertise_url.reset();
    auto j = nlohmann::json::parse(encode(h));
    CHECK(j["cluster"].is_null());
    CHECK(j["datacenter"].is_null());
    CHECK(j["advertise_url"].is_null());
    CHECK(j["mode"] == "single");
    CHECK(j["state"] == "starting");
    CHECK(j["owned"] == nlohmann::json::object());
    CHECK(j["standby"] == nlohmann::json::object());
  }

  TEST_CASE("hostile hellos are refused with a reason, never thrown") {
    auto refused = [](const std::string& text) {
      auto r = decode_hello(text);
      CHECK_MESSAGE(!r.value, text);
      CHECK_MESSAGE(!r.error.empty(), text);
      return r.error;
    };
    refused("");
    refused("not json");
    refused("[1,2]");
    refused("null");
    refused(R"({"mode":"single","started_at":1})");                    // no member_id
    refused(R"({"member_id":"","mode":"single","started_at":1})");     // empty id
    refused(R"({"member_id":5,"mode":"single","started_at":1})");      // id not a string
    refused(R"({"member_id":"a","mode":"boss","started_at":1})");      // unknown mode
    refused(R"({"member_id":"a","mode":"cluster","started_at":1})");   // cluster without name
    refused(R"({"member_id":"a","mode":"single"})");                   // no started_at
    refused(R"({"member_id":"a","mode":"single","started_at":"x"})");  // not a number
    refused(R"({"member_id":"a","mode":"single","started_at":1.5})");  // not an integer
    refused(R"({"member_id":"a","mode":"single","started_at":1e300})");
    refused(R"({"member_id":"a","mode":"single","started_at":99999999999999999999999})");
    refused(R"({"member_id":"a","mode":"single","state":"dancing","started_at":1})");
    refused(R"({"member_id":"a","mode":"single","started_at":1,"owned":[]})");
    refused(R"({"member_id":"a","mode":"single","started_at":1,"owned":{"x":{}}})");
    refused(R"({"member_id":"a","mode":"single","started_at":1,"owned":{"-1":{}}})");
    refused(R"({"member_id":"a","mode":"single","started_at":1,"owned":{"5000":{}}})");
    refused(R"({"member_id":"a","mode":"single","started_at":1,"owned":{"1":{"state":"active"}}})");
    refused(R"({"member_id":"a","mode":"single","started_at":1,"owned":{"1":3}})");
    refused(R"({"member_id":"a","mode":"single","started_at":1,"standby":{"1":"x"}})");
    refused(R"({"member_id":"a","mode":"single","started_at":1,"advertise_url":7})");
    refused(R"({"member_id":")" + std::string(3000, 'x') + R"(","mode":"single","started_at":1})");
    CHECK(refused(std::string(max_hello_bytes + 1, ' ')).find("longer") != std::string::npos);
    CHECK(refused(std::string(10000, '[') + std::string(10000, ']')).find("nested") !=
          std::string::npos);
  }

  TEST_CASE("unknown fields are ignored and a hello without a state is a running one") {
    auto r = decode_hello(
        R"({"member_id":"a","mode":"single","started_at":1,"future":{"x":[1,2]},"cluster":null})");
    REQUIRE_MESSAGE(r.value, r.error);
    CHECK(r.value->state == member_state::running);
    CHECK(!r.value->cluster);
    CHECK(!r.value->advertise_url);
  }

  TEST_CASE("member ids are distinct version-4 UUIDs") {
    std::set<std::string> ids;
    for (int i = 0; i < 100; ++i) {
      auto id = new_member_id();
      REQUIRE(id.size() == 36);
      CHECK(id[14] == '4');
      CHECK(id[8] == '-');
      ids.insert(id);
    }
    CHECK(ids.size() == 100);
  }

  TEST_CASE("a member is live while its last hello is under 3 s old") {
    members d;
    d.heard(single("a", 1), 10000);
    CHECK(d.live(10000).size() == 1);
    CHECK(d.live(12999).size() == 1);
    CHECK(d.live(13000).empty());
    d.heard(single("a", 1), 12500);  // the next hello keeps it live
    CHECK(d.live(15000).size() == 1);
    CHECK(d.size() == 1);
  }

  TEST_CASE("a late, older hello does not replace a newer one") {
    members d;
    auto newer = single("a", 1);
    newer.advertise_url = "http://new:1";
    d.heard(newer, 5000);
    d.heard(single("a", 1), 4000);
    REQUIRE(d.live(5000).size() == 1);
    CHECK(d.live(5000)[0].last.advertise_url == "http://new:1");
    CHECK(d.live(5000)[0].seen_at == 5000);
  }

  TEST_CASE("a leaving hello removes its member at once") {
    members d;
    d.heard(single("a", 1), 1000);
    d.heard(single("b", 2), 1000);
    d.heard(single("a", 1, member_state::leaving), 1500);
    auto live = d.live(1600);
    REQUIRE(live.size() == 1);
    CHECK(live[0].last.member_id == "b");
    // a hello of before the leave, read late, does not bring it back
    d.heard(single("a", 1), 1200);
    CHECK(d.live(1600).size() == 1);
  }

  TEST_CASE("live members are listed by start time, then id") {
    members d;
    d.heard(single("c", 30), 100);
    d.heard(single("b", 10), 100);
    d.heard(single("a", 10), 100);
    auto live = d.live(100);
    REQUIRE(live.size() == 3);
    CHECK(live[0].last.member_id == "a");
    CHECK(live[1].last.member_id == "b");
    CHECK(live[2].last.member_id == "c");
  }

  TEST_CASE("the directory holds a bounded number of members, dropping stale ones first") {
    members d;
    for (std::size_t i = 0; i < max_members; ++i) CHECK(d.heard(single(std::to_string(i), 1), 0));
    CHECK_FALSE(d.heard(single("one-more", 1), 100));  // all still live: dropped
    CHECK(d.size() == max_members);
    CHECK(d.heard(single("one-more", 1), 5000));  // the others are stale now
    CHECK(d.size() == 1);
  }

  TEST_CASE("standby_partitions: the replicas following the owner in member id order") {
    auto a = node("a", "c1", 3), b = node("b", "c1", 1), c = node("c", "c1", 2);
    a.owned[0] = {1, "active"};
    b.owned[1] = {1, "active"};
    c.owned[2] = {1, "active"};
    // partition 3 has no owner: nobody stands by for it
    std::vector<member> live{heard_at(a, 0), heard_at(b, 0), heard_at(c, 0)};
    // one replica: the next member id after the owner's, wrapping around
    CHECK(standby_partitions(live, "a", 4, 1) == std::set<int>{2});
    CHECK(standby_partitions(live, "b", 4, 1) == std::set<int>{0});
    CHECK(standby_partitions(live, "c", 4, 1) == std::set<int>{1});
    // two replicas: every member but the owner; never a partition of one's own
    CHECK(standby_partitions(live, "a", 4, 2) == std::set<int>{1, 2});
    CHECK(standby_partitions(live, "b", 4, 2) == std::set<int>{0, 2});
    // more replicas than members: the same, nobody twice
    CHECK(standby_partitions(live, "c", 4, 5) == std::set<int>{0, 1});
    // none asked, a member not live, a single server
    CHECK(standby_partitions(live, "a", 4, 0).empty());
    CHECK(standby_partitions(live, "z", 4, 1).empty());
    std::vector<member> solo{heard_at(single("s", 1), 0)};
    CHECK(standby_partitions(solo, "s", 4, 1).empty());
    // a leaving member and a member of another cluster are skipped: b's follower is c now
    auto a_leaving = a;
    a_leaving.state = member_state::leaving;
    a_leaving.owned.clear();
    auto other = node("bb", "c2", 4);
    std::vector<member> later{heard_at(a_leaving, 0), heard_at(b, 0), heard_at(c, 0),
                              heard_at(other, 0)};
    CHECK(standby_partitions(later, "c", 4, 1) == std::set<int>{1});
    CHECK(standby_partitions(later, "b", 4, 1) == std::set<int>{2});
    // every member computes the same set for each partition
    for (int replicas = 1; replicas <= 3; ++replicas) {
      std::map<int, int> standbys;
      for (const auto* id : {"a", "b", "c"})
        for (int k : standby_partitions(live, id, 4, replicas)) ++standbys[k];
      for (int k = 0; k < 3; ++k) CHECK(standbys[k] == std::min(replicas, 2));
      CHECK(standbys.count(3) == 0);
    }
  }

  TEST_CASE("owner: the live member claiming the partition active with the highest epoch") {
    members d;
    auto a = node("a", "c1", 1), b = node("b", "c1", 2), c = node("c", "c1", 3);
    a.owned[4] = {1, "active"};
    b.owned[4] = {2, "active"};  // the newer owner
    c.owned[4] = {9, "restoring"};
    c.owned[5] = {1, "active"};
    d.heard(a, 1000);
    d.heard(b, 1000);
    d.heard(c, 1000);
    CHECK(d.owner(4, 1000)->last.member_id == "b");
    CHECK(d.owner(5, 1000)->last.member_id == "c");
    CHECK(!d.owner(6, 1000));
    // the same rule over a list of live members (what GET /cluster shows)
    auto live = d.live(1000);
    CHECK(owner(4, live)->last.member_id == "b");
    CHECK(owner(5, live)->last.member_id == "c");
    CHECK(!owner(6, live));
    CHECK(!owner(4, {}));
    // b stops saying hello (killed): a, heard again, is the live claimant left
    d.heard(a, 3500);
    CHECK(d.owner(4, 4500)->last.member_id == "a");
    // equal epochs: the highest member id
    auto z = node("z", "c1", 4);
    z.owned[4] = {1, "active"};
    d.heard(z, 3500);
    CHECK(d.owner(4, 4500)->last.member_id == "z");
    CHECK(owner(4, d.live(4500))->last.member_id == "z");
  }

  TEST_CASE("the directory is safe to feed and read from several threads") {
    members d;
    std::thread writer([&] {
      for (int i = 0; i < 2000; ++i) d.heard(single(std::to_string(i % 50), 1), i);
    });
    std::size_t most = 0;
    for (int i = 0; i < 2000; ++i)
      most = std::max(most, d.live(i).size() + (d.owner(0, i) ? 1 : 0));
    writer.join();
    CHECK(d.size() == 50);
    CHECK(d.live(1999).size() == 50);
    CHECK(most <= 50);
  }

  TEST_CASE("a single server conflicts with any other live server") {
    auto self = single("me", 100, member_state::starting);
    CHECK(!conflict(self, {}));
    CHECK(!conflict(self, {heard_at(self, 100)}));  // itself
    CHECK(conflict(self, {heard_at(single("other", 50), 100)})->last.member_id == "other");
    CHECK(conflict(self, {heard_at(node("n", "c1", 50), 100)})->last.member_id == "n");
  }

  TEST_CASE("of two starting at once, the later (started_at, member_id) gives way") {
    auto me = single("me", 100, member_state::starting);
    auto earlier = single("zz", 99, member_state::starting);
    auto later = single("aa", 101, member_state::starting);
    auto same_time_lower_id = single("ma", 100, member_state::starting);
    CHECK(conflict(me, {heard_at(earlier, 100)}));
    CHECK(!conflict(me, {heard_at(later, 100)}));
    CHECK(conflict(me, {heard_at(same_time_lower_id, 100)}));
    CHECK(!conflict(same_time_lower_id, {heard_at(me, 100)}));
    // one that runs already never gives way, whatever its clock said at its start
    CHECK(conflict(me, {heard_at(single("aa", 101, member_state::running), 100)}));
  }

  TEST_CASE("cluster nodes run beside nodes of their cluster only") {
    auto me = node("me", "c1", 100);
    me.state = member_state::starting;
    CHECK(!conflict(me, {heard_at(node("peer", "c1", 50), 100)}));
    CHECK(conflict(me, {heard_at(node("x", "c2", 50), 100)}));
    CHECK(conflict(me, {heard_at(single("s", 50), 100)}));
  }

  TEST_CASE("the refusal names the other server's URL and mode and says what to do") {
    auto other = single("1234", 1700000000000);
    auto text = refusal_message(heard_at(other, 0), "pikoci");
    CHECK(text.find("a single server at http://127.0.0.1:8080") != std::string::npos);
    CHECK(text.find("\"pikoci\"") != std::string::npos);
    CHECK(text.find("2023-11-14T22:13:20Z") != std::string::npos);
    CHECK(text.find("stop it, or give this server another --kafka-topic-prefix") !=
          std::string::npos);
    auto n = node("n", "c1", 0);
    n.advertise_url.reset();
    n.state = member_state::starting;
    auto text2 = refusal_message(heard_at(n, 0), "p");
    CHECK(text2.find("a node of the cluster \"c1\" not listening yet") != std::string::npos);
    CHECK(text2.find("starting") != std::string::npos);
  }
}
