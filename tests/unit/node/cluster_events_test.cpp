// The records of GET /events on a cluster's status topic (node/cluster_events.hpp): what a node
// writes reads back as the same event; anything else anyone may write there is refused.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "node/cluster_events.hpp"

using namespace pikoci::node;
using nlohmann::json;

namespace {
const std::string secret = "cluster-secret";
const status_event sample{"app", "build", R"({"id":1,"status":"started","name":"ünï"})"};

/// The sample's record with one field changed (the signature kept).
std::string tampered(const char* field, json value) {
  auto j = json::parse(*encode_status(secret, sample));
  j[field] = std::move(value);
  return j.dump();
}
}  // namespace

TEST_SUITE("node.cluster_events") {
  TEST_CASE("an event goes through its record unchanged") {
    auto record = encode_status(secret, sample);
    REQUIRE(record);
    auto d = decode_status(secret, *record);
    REQUIRE_MESSAGE(d.event, d.error);
    CHECK(d.error.empty());
    CHECK(d.event->pipeline == sample.pipeline);
    CHECK(d.event->type == sample.type);
    CHECK(d.event->data == sample.data);
  }

  TEST_CASE("a record signed under another secret, or tampered with, is refused") {
    auto record = *encode_status(secret, sample);
    CHECK(decode_status("another", record).error == "not signed by this cluster");
    CHECK_FALSE(decode_status(secret, tampered("pipeline", "other")).event);
    CHECK_FALSE(decode_status(secret, tampered("type", "job")).event);
    CHECK_FALSE(decode_status(secret, tampered("data", R"({"id":2})")).event);
    CHECK_FALSE(decode_status(secret, tampered("sig", "00")).event);
    // the fields' boundaries are signed too: moving text from one field to the next breaks it
    auto a = *encode_status(secret, {"ab", "c", "{}"});
    auto j = json::parse(a);
    j["pipeline"] = "a";
    j["type"] = "bc";
    CHECK(decode_status(secret, j.dump()).error == "not signed by this cluster");
  }

  TEST_CASE("records that are not the shape are refused with a reason, never thrown") {
    for (const std::string& bad :
         {std::string(), std::string("garbage"), std::string("[1,2]"), std::string("{}"),
          std::string("\"text\""), std::string(R"({"pipeline":1,"type":"build","data":"{}","sig":""})"),
          std::string(R"({"pipeline":"p","type":"build","data":"{}"})"),
          std::string(R"({"pipeline":"p","type":"build","data":"{}","sig":"x","x":{"y":{"z":1}}})"),
          std::string("{\"pipeline\":\"p\",\xff}")}) {
      CAPTURE(bad);
      auto d = decode_status(secret, bad);
      CHECK_FALSE(d.event);
      CHECK_FALSE(d.error.empty());
    }
  }

  TEST_CASE("a signed record is still refused when its fields are not an event's") {
    auto refused = [](const status_event& e) {
      auto r = encode_status(secret, e);
      REQUIRE(r);
      auto d = decode_status(secret, *r);
      CAPTURE(d.error);
      return !d.event && !d.error.empty();
    };
    CHECK(refused({"", "build", "{}"}));
    CHECK(refused({std::string(257, 'p'), "build", "{}"}));
    CHECK(refused({"a\nb", "build", "{}"}));
    CHECK(refused({"p", "", "{}"}));
    CHECK(refused({"p", "Build", "{}"}));
    CHECK(refused({"p", "build\n", "{}"}));
    CHECK(refused({"p", std::string(33, 'b'), "{}"}));
    // data must stay one SSE line of JSON holding an object
    CHECK(refused({"p", "build", "{}\n\nevent: end\ndata: {}"}));
    CHECK(refused({"p", "build", "{\r}"}));
    CHECK(refused({"p", "build", "[1]"}));
    CHECK(refused({"p", "build", "{not json"}));
    CHECK_FALSE(refused({"p", "resource", R"({"a":[{"b":null}]})"}));
  }

  TEST_CASE("records are bounded both ways") {
    status_event big{"p", "build", "{\"x\":\"" + std::string(max_status_record, 'x') + "\"}"};
    CHECK_FALSE(encode_status(secret, big));
    auto d = decode_status(secret, std::string(max_status_record + 1, ' '));
    CHECK(d.error == "larger than the limit");
    status_event fits{"p", "build", "{\"x\":\"" + std::string(max_status_record / 2, 'x') + "\"}"};
    auto r = encode_status(secret, fits);
    REQUIRE(r);
    CHECK(decode_status(secret, *r).event);
  }
}
