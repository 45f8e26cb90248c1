// The register answer a worker reads (node/worker_hello.hpp): its cluster members, read as
// hostile input, and the lease question failing over across them, each asked once.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "node/worker_hello.hpp"

using namespace pikoci::node;
using nlohmann::json;

namespace {

json answer(json cluster = nullptr) {
  json j{{"pubsub", "kafka"},
         {"kafka",
          {{"topic_prefix", "pikoci"},
           {"lease_ms", 15000u},
           {"broker", {{"reachable", true}, {"heard_for_ms", 1234u}}}}}};
  if (!cluster.is_null()) j["cluster"] = std::move(cluster);
  return j;
}

json members(std::vector<std::string> urls) {
  json out = json::array();
  int n = 0;
  for (auto& u : urls) out.push_back({{"member_id", "m" + std::to_string(n++)}, {"url", u}});
  return out;
}

register_answer ok_answer(json cluster = nullptr) {
  return read_register_answer(answer(std::move(cluster)), "http://a");
}

register_answer failed() {
  register_answer a;
  a.error = "cannot reach";
  return a;
}

}  // namespace

TEST_SUITE("node.worker_hello") {
  TEST_CASE("a single server's answer has no cluster") {
    auto a = ok_answer();
    CHECK(a.error.empty());
    CHECK(a.topic_prefix == "pikoci");
    CHECK(a.lease.count() == 15000);
    REQUIRE(a.heard_for);
    CHECK(a.heard_for->count() == 1234);
    CHECK_FALSE(a.cluster);
    auto bad = read_register_answer(json{{"kafka", 1}}, "http://x");
    CHECK(bad.error == "the server at http://x did not answer as a pikoci-node server");
    CHECK_FALSE(read_register_answer(json("text"), "http://x").error.empty());
  }

  TEST_CASE("a cluster's members are read; bad ones are skipped, a bad cluster ignored") {
    auto a = ok_answer({{"name", "c1"},
                        {"members",
                         {{{"member_id", "m1"}, {"url", "http://10.0.0.1:8080/"}},
                          {{"member_id", "m2"}, {"url", "https://b.example"}},
                          {{"member_id", 3}, {"url", "http://c"}},
                          {{"member_id", "m4"}, {"url", "ftp://d"}},
                          {{"member_id", "m5"}, {"url", "http://e f"}},
                          {{"member_id", "m6"}},
                          {{"member_id", std::string(300, 'x')}, {"url", "http://g"}},
                          {{"member_id", "m8"}, {"url", "http://" + std::string(3000, 'h')}},
                          {{"member_id", "m9"}, {"url", "http://"}},
                          "not an object"}}});
    REQUIRE(a.cluster);
    CHECK(a.cluster->name == "c1");
    REQUIRE(a.cluster->members.size() == 2);
    CHECK(a.cluster->members[0].member_id == "m1");
    CHECK(a.cluster->members[0].url == "http://10.0.0.1:8080");
    CHECK(a.cluster->members[1].url == "https://b.example");

    for (json bad : {json("c1"), json{{"name", 1}, {"members", json::array()}},
                     json{{"name", "c1"}}, json{{"name", "c1"}, {"members", "x"}}, json(nullptr)}) {
      auto j = answer();
      j["cluster"] = bad;
      auto b = read_register_answer(j, "http://a");
      CHECK(b.error.empty());  // the worker still starts
      CHECK_FALSE(b.cluster);
    }
    std::vector<std::string> many;
    for (int i = 0; i < 100; ++i) many.push_back("http://n" + std::to_string(i));
    auto big = ok_answer({{"name", "c1"}, {"members", members(many)}});
    REQUIRE(big.cluster);
    CHECK(big.cluster->members.size() == max_cluster_members);
  }

  TEST_CASE("the lease question goes to the server in use, then to each other member once") {
    lease_servers s("http://a/");
    CHECK(s.urls() == std::vector<std::string>{"http://a"});
    s.learn(ok_answer());  // single mode: nothing changes
    CHECK(s.urls() == std::vector<std::string>{"http://a"});
    s.learn(
        ok_answer({{"name", "c1"}, {"members", members({"http://b", "http://a", "http://c"})}}));
    CHECK(s.urls() == std::vector<std::string>{"http://a", "http://b", "http://c"});

    std::vector<std::string> asked;
    // a answers: asked alone
    auto r = s.ask([&](const std::string& url) {
      asked.push_back(url);
      return url == "http://a" ? ok_answer() : failed();
    });
    CHECK(r);
    CHECK(asked == std::vector<std::string>{"http://a"});

    // a is gone, b does not answer, c does: c is used first from now on
    asked.clear();
    r = s.ask([&](const std::string& url) {
      asked.push_back(url);
      return url == "http://c" ? ok_answer() : failed();
    });
    REQUIRE(r);
    CHECK(r->heard_for->count() == 1234);
    CHECK(asked == std::vector<std::string>{"http://a", "http://b", "http://c"});
    CHECK(s.urls().front() == "http://c");
    asked.clear();
    s.ask([&](const std::string& url) {
      asked.push_back(url);
      return url == "http://c" ? ok_answer() : failed();
    });
    CHECK(asked == std::vector<std::string>{"http://c"});

    // nobody answers: each asked once, then nothing
    asked.clear();
    CHECK_FALSE(s.ask([&](const std::string& url) {
      asked.push_back(url);
      return failed();
    }));
    CHECK(asked.size() == 3);
  }

  TEST_CASE("an answering member's list replaces the old one, the server in use first") {
    lease_servers s("http://a");
    s.learn(ok_answer({{"name", "c1"}, {"members", members({"http://a", "http://b"})}}));
    auto r = s.ask([&](const std::string& url) {
      if (url != "http://b") return failed();
      return ok_answer({{"name", "c1"}, {"members", members({"http://b", "http://d"})}});
    });
    REQUIRE(r);
    CHECK(s.urls() == std::vector<std::string>{"http://b", "http://d"});
  }
}
