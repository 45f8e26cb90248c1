// How deeply a JSON text nests (domain/json_depth.hpp), the check every decoder of outside JSON
// makes before parsing.
#include "domain/json_depth.hpp"

#include <doctest/doctest.h>

#include <string>

using pikoci::domain::json_depth;

TEST_SUITE("domain.json_depth") {
  TEST_CASE("a scalar is depth 0, each array or object one more") {
    CHECK(json_depth("") == 0);
    CHECK(json_depth("1") == 0);
    CHECK(json_depth("\"text\"") == 0);
    CHECK(json_depth("[]") == 1);
    CHECK(json_depth("{\"a\":{\"b\":[1]}}") == 3);
    CHECK(json_depth("[[1],{\"a\":[2]}]") == 3);
    CHECK(json_depth("[[],[],[]]") == 2);  // the deepest, not the sum
  }

  TEST_CASE("brackets inside strings do not count, escaped quotes included") {
    CHECK(json_depth(R"(["[[[[", "\"{{"])") == 1);
    CHECK(json_depth(R"({"k\"[[[": "]]]\\"})") == 1);
    CHECK(json_depth(R"(["\\", [1]])") == 2);  // an escaped backslash ends before the quote
  }

  TEST_CASE("any text has a depth: deep, unclosed and unbalanced input") {
    CHECK(json_depth(std::string(100000, '[')) == 100000);
    CHECK(json_depth(std::string(9, '{') + std::string(9, '}')) == 9);
    // a closing bracket without its opening one never lowers the depth seen later
    CHECK(json_depth("]]]][[") == 2);
    CHECK(json_depth("[]]][[[") == 3);
    CHECK(json_depth("\"unterminated [[[") == 0);
  }
}
