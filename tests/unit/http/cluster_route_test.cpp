// Cluster mode's routing decision (http/cluster_route.cpp): which partition a route belongs to,
// and from the partition table and the members' hellos, whether this node answers, forwards to
// the owner, or waits for a partition that is moving.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "http/cluster_route.hpp"
#include "persistence/partitioning.hpp"

using namespace pikoci;
using http::partition_rule;
using http::route_kind;
using domain::cluster::partition_state;

namespace {

domain::member member_of(const std::string& id, const std::string& url,
                         std::map<int, domain::partition_claim> owned) {
  domain::member m;
  m.last.member_id = id;
  m.last.mode = domain::member_mode::cluster;
  m.last.state = domain::member_state::running;
  m.last.advertise_url = url;
  m.last.owned = std::move(owned);
  return m;
}

}  // namespace

TEST_SUITE("http.cluster_route") {
  TEST_CASE("pipeline routes go by their pipeline, user and team secret writes to G, the rest "
            "stays where it arrives") {
    struct row {
      const char* method;
      const char* pattern;
      partition_rule rule;
    };
    for (const auto& r : {
             row{"PUT", "/api/v1/pipelines/:p", partition_rule::pipeline},
             row{"DELETE", "/api/v1/pipelines/:p", partition_rule::pipeline},
             row{"GET", "/api/v1/pipelines/:p", partition_rule::pipeline},
             row{"POST", "/api/v1/pipelines/:p/jobs/:j/trigger", partition_rule::pipeline},
             row{"GET", "/api/v1/pipelines/:p/jobs/:j/builds/:n/events", partition_rule::pipeline},
             row{"PUT", "/api/v1/pipelines/:p/secrets/:name", partition_rule::pipeline},
             row{"GET", "/api/v1/pipelines/:p/secrets", partition_rule::pipeline},
             row{"POST", "/api/v1/pipelines/:p/webhooks/git", partition_rule::pipeline},
             row{"POST", "/api/v1/users", partition_rule::global},
             row{"PUT", "/api/v1/users/:name", partition_rule::global},
             row{"DELETE", "/api/v1/users/:name", partition_rule::global},
             row{"PUT", "/api/v1/secrets/:name", partition_rule::global},
             row{"DELETE", "/api/v1/secrets/:name", partition_rule::global},
             row{"GET", "/api/v1/users", partition_rule::none},
             row{"GET", "/api/v1/secrets", partition_rule::none},
             row{"GET", "/api/v1/pipelines", partition_rule::none},
             row{"GET", "/api/v1/health", partition_rule::none},
             row{"GET", "/api/v1/events", partition_rule::none},
             row{"GET", "/api/v1/builds/:id", partition_rule::build},
             row{"POST", "/api/v1/webhooks/:token", partition_rule::webhook},
             row{"GET", "/api/v1/queue", partition_rule::gather},
             row{"GET", "/api/v1/stats", partition_rule::gather},
             row{"GET", "/api/v1/dashboard", partition_rule::gather},
             row{"GET", "/api/v1/builds", partition_rule::gather},
             row{"GET", "/api/v1/workers", partition_rule::none},
             row{"GET", "/api/v1/notifications", partition_rule::none},
             row{"POST", "/api/v1/login", partition_rule::none},
             row{"GET", "/api/v1/pipelinesx/:p", partition_rule::none},
         }) {
      CAPTURE(r.method);
      CAPTURE(r.pattern);
      CHECK(http::rule_of(r.method, r.pattern) == r.rule);
    }
  }

  TEST_CASE("a request's partition is its pipeline's k, G = P, or -1 for any node") {
    CHECK(http::partition_of_request(partition_rule::pipeline, "hello", 12) == 3);
    CHECK(http::partition_of_request(partition_rule::pipeline, "hello", 12) ==
          persistence::partition_of("hello", 12));
    CHECK(http::partition_of_request(partition_rule::global, "", 12) == 12);
    CHECK(http::partition_of_request(partition_rule::global, "", 5) == 5);
    CHECK(http::partition_of_request(partition_rule::none, "hello", 12) == -1);
    CHECK(http::partition_of_request(partition_rule::pipeline, "hello", 0) == -1);
    CHECK(http::partition_of_request(partition_rule::pipeline, "hello", 64) == -1);
  }

  TEST_CASE("a cluster build id names its partition; anything else is answered where it arrives") {
    CHECK(http::partition_of_build(std::to_string((std::int64_t{123456789} << 6) | 5), 12) == 5);
    CHECK(http::partition_of_build(std::to_string((std::int64_t{99} << 6) | 0), 12) == 0);
    CHECK(http::partition_of_build(std::to_string((std::int64_t{99} << 6) | 11), 12) == 11);
    CHECK(http::partition_of_build(std::to_string((std::int64_t{99} << 6) | 12), 12) == -1);
    CHECK(http::partition_of_build("", 12) == -1);
    CHECK(http::partition_of_build("12a", 12) == -1);
    CHECK(http::partition_of_build("-5", 12) == -1);
    CHECK(http::partition_of_build("1234567890123456789", 12) == -1);  // 19 digits
    CHECK(http::partition_of_build("5", 0) == -1);
  }

  TEST_CASE("a webhook goes by the pipeline the catalog names for its token") {
    CHECK(http::partition_of_request(partition_rule::webhook, "hello", 12) ==
          persistence::partition_of("hello", 12));
    CHECK(http::partition_of_request(partition_rule::webhook, "", 12) == -1);
    CHECK(http::partition_of_request(partition_rule::gather, "hello", 12) == -1);
    CHECK(http::partition_of_request(partition_rule::build, "hello", 12) == -1);
  }

  TEST_CASE("a partition active here is answered here, whoever else claims it") {
    domain::cluster::partition_table table;
    table.set(3, partition_state::active);
    std::vector<domain::member> live{member_of("b", "http://b:8080", {{3, {9, "active"}}})};
    auto d = http::decide(3, table, live, "a", false);
    CHECK(d.kind == route_kind::local);
  }

  TEST_CASE("a partition another live member serves is forwarded to its advertise URL") {
    domain::cluster::partition_table table;
    std::vector<domain::member> live{member_of("a", "http://a:8080", {{1, {1, "active"}}}),
                                     member_of("b", "http://b:8080", {{3, {2, "active"}}})};
    auto d = http::decide(3, table, live, "a", false);
    CHECK(d.kind == route_kind::forward);
    CHECK(d.url == "http://b:8080");
    CHECK(d.owner == "b");
  }

  TEST_CASE("of two members claiming a partition, the higher epoch owns it, then the higher id") {
    domain::cluster::partition_table table;
    std::vector<domain::member> live{member_of("c", "http://c", {{3, {4, "active"}}}),
                                     member_of("b", "http://b", {{3, {5, "active"}}}),
                                     member_of("d", "http://d", {{3, {6, "restoring"}}})};
    CHECK(http::decide(3, table, live, "a", false).owner == "b");
    live.push_back(member_of("e", "https://e", {{3, {5, "active"}}}));
    auto d = http::decide(3, table, live, "a", false);
    CHECK(d.owner == "e");
    CHECK(d.url == "https://e");
  }

  TEST_CASE("a partition nobody serves, or only restoring, or moving here, waits") {
    for (auto here : {partition_state::idle, partition_state::restoring, partition_state::moving,
                      partition_state::lost, partition_state::fenced}) {
      domain::cluster::partition_table table;
      table.set(3, here);
      CHECK(http::decide(3, table, {}, "a", false).kind == route_kind::wait);
      std::vector<domain::member> live{member_of("b", "http://b", {{3, {7, "restoring"}}}),
                                       member_of("c", "http://c", {{4, {7, "active"}}})};
      CHECK(http::decide(3, table, live, "a", false).kind == route_kind::wait);
    }
  }

  TEST_CASE("this node's own claim while its table says otherwise waits, never forwards to "
            "itself") {
    domain::cluster::partition_table table;
    table.set(3, partition_state::moving);
    std::vector<domain::member> live{member_of("a", "http://a", {{3, {7, "active"}}})};
    CHECK(http::decide(3, table, live, "a", false).kind == route_kind::wait);
  }

  TEST_CASE("an owner without a web advertise URL is not forwarded to") {
    domain::cluster::partition_table table;
    auto no_url = member_of("b", "", {{3, {7, "active"}}});
    no_url.last.advertise_url.reset();
    CHECK(http::decide(3, table, {no_url}, "a", false).kind == route_kind::wait);
    for (const char* url : {"file:///etc/passwd", "gopher://b", "b:8080", ""}) {
      CAPTURE(url);
      CHECK(http::decide(3, table, {member_of("b", url, {{3, {7, "active"}}})}, "a", false).kind ==
            route_kind::wait);
    }
  }

  TEST_CASE("a request forwarded once is answered where it arrives, whatever the table says") {
    domain::cluster::partition_table table;
    std::vector<domain::member> live{member_of("b", "http://b", {{3, {2, "active"}}})};
    CHECK(http::decide(3, table, live, "a", true).kind == route_kind::local);
    CHECK(http::decide(3, table, {}, "a", true).kind == route_kind::local);
  }

  TEST_CASE("G is decided like any partition") {
    domain::cluster::partition_table table;
    std::vector<domain::member> live{member_of("b", "http://b", {{12, {1, "active"}}})};
    CHECK(http::decide(12, table, live, "a", false).kind == route_kind::forward);
    table.set(12, partition_state::active);
    CHECK(http::decide(12, table, live, "a", false).kind == route_kind::local);
  }
}
