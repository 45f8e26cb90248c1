#include "config/pipeline/model.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace pikoci::pipeline;

TEST_SUITE("config.model") {
  TEST_CASE("hook kinds are named by their keywords and parse back") {
    for (auto k :
         {hook_kind::on_success, hook_kind::on_failure, hook_kind::on_cancel, hook_kind::ensure})
      CHECK(parse_hook_kind(to_string(k)) == k);
    CHECK(std::string(to_string(hook_kind::on_cancel)) == "on_cancel");
    CHECK_FALSE(parse_hook_kind("on_error"));
    CHECK_FALSE(parse_hook_kind("Ensure"));
    CHECK_FALSE(parse_hook_kind(""));
  }

  TEST_CASE("the model's step kinds are the domain's") {
    CHECK(std::string(to_string(step_kind::if_chain)) == "if");
    CHECK(std::string(to_string(step_kind::in_parallel)) == "in_parallel");
  }
}
