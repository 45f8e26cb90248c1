#include "config/pipeline/json_decode.hpp"

#include <doctest/doctest.h>

#include "config/pipeline/value.hpp"

using namespace pikoci::pipeline;

TEST_SUITE("config.json_decode") {
  TEST_CASE("depth counts brackets outside strings") {
    CHECK(json_depth("1") == 0);
    CHECK(json_depth("[[1],{\"a\":[2]}]") == 3);
    CHECK(json_depth(R"(["[[[[", "\"{{"])") == 1);
    CHECK(json_depth(std::string(100000, '[')) == 100000);
  }

  TEST_CASE("documents within the limits decode") {
    auto d = decode_json(R"({"a":[1,2,{"b":null}]})");
    REQUIRE(d);
    CHECK(d.value["a"][2].contains("b"));
  }

  TEST_CASE("too deep, too large and malformed are told apart") {
    auto deep = decode_json(std::string(100000, '[') + std::string(100000, ']'));
    CHECK(deep.failure == json_failure::too_deep);
    CHECK(deep.error == "JSON nests deeper than 64 levels");
    CHECK(decode_json(std::string(64, '[') + std::string(64, ']')));
    CHECK(decode_json(std::string(65, '[') + std::string(65, ']')).failure ==
          json_failure::too_deep);
    CHECK(decode_json("[1,2,3]", {5, 64}).failure == json_failure::too_large);
    CHECK(decode_json("{\"a\":").failure == json_failure::malformed);
    CHECK(decode_json("\"\xff\"").failure == json_failure::malformed);
  }

  TEST_CASE("json_deeper_than stops at the limit") {
    auto j = nlohmann::json::parse("[[[1]]]");
    CHECK(json_deeper_than(j, 2));
    CHECK_FALSE(json_deeper_than(j, 3));
    CHECK_FALSE(json_deeper_than(nlohmann::json(1), 0));
  }

  TEST_CASE("from_json refuses what would exhaust the stack") {
    nlohmann::json j = 1;
    for (int i = 0; i < 600; ++i) j = nlohmann::json::array({j});  // past from_json's 512
    CHECK_THROWS_AS(pikoci::hcl::from_json(j), std::length_error);
    nlohmann::json ok = 1;
    for (int i = 0; i < 100; ++i) ok = nlohmann::json::array({ok});
    CHECK(pikoci::hcl::from_json(ok).is_sequence());
  }
}
