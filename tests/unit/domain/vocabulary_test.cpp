#include "domain/vocabulary.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace pikoci::domain;

namespace {

/// The table is exactly `values` named `names`, in that order; every name parses back to its value
/// and text that differs from a name only in case or by a space, or is empty, is refused.
template <class E, std::size_t N, class Parse>
void round_trips(const name_table_entry<E> (&table)[N], const std::vector<E>& values,
                 const std::vector<std::string>& names, Parse parse) {
  REQUIRE(values.size() == names.size());
  REQUIRE(N == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    CAPTURE(names[i]);
    CHECK(table[i].first == values[i]);
    CHECK(std::string(table[i].second) == names[i]);
    CHECK(std::string(to_string(values[i])) == names[i]);
    CHECK(parse(names[i]) == values[i]);
    std::string upper = names[i];
    upper[0] = static_cast<char>(upper[0] - 'a' + 'A');
    CHECK_FALSE(parse(upper));
    CHECK_FALSE(parse(names[i] + " "));
    CHECK_FALSE(parse(" " + names[i]));
  }
  CHECK_FALSE(parse(""));
}

}  // namespace

TEST_SUITE("domain.vocabulary") {
  TEST_CASE("build statuses are named as the API, the store and the wire show them") {
    round_trips<build_status>(
        build_status_names,
        {build_status::waiting_for_approval, build_status::pending, build_status::started,
         build_status::succeeded, build_status::failed, build_status::errored,
         build_status::cancelled, build_status::skipped, build_status::warning},
        {"waiting_for_approval", "pending", "started", "succeeded", "failed", "errored",
         "cancelled", "skipped", "warning"},
        parse_build_status);
    CHECK_FALSE(parse_build_status("running"));
    CHECK_FALSE(parse_build_status("aborted"));
    CHECK_FALSE(parse_build_status("canceled"));
  }

  TEST_CASE("terminal statuses and what a run can end with") {
    CHECK_FALSE(is_terminal(build_status::waiting_for_approval));
    CHECK_FALSE(is_terminal(build_status::pending));
    CHECK_FALSE(is_terminal(build_status::started));
    CHECK(is_unstarted(build_status::waiting_for_approval));
    CHECK(is_unstarted(build_status::pending));
    CHECK_FALSE(is_unstarted(build_status::started));
    for (auto s : {build_status::succeeded, build_status::failed, build_status::errored,
                   build_status::cancelled, build_status::skipped, build_status::warning})
      CHECK(is_terminal(s));
    for (auto s : {build_status::succeeded, build_status::failed, build_status::errored,
                   build_status::cancelled})
      CHECK(is_run_outcome(s));
    for (auto s : {build_status::pending, build_status::started, build_status::skipped,
                   build_status::warning})
      CHECK_FALSE(is_run_outcome(s));
  }

  TEST_CASE("step kinds are the pipeline language's keywords, `if` for an if chain") {
    round_trips<step_kind>(step_kind_names,
                           {step_kind::get, step_kind::task, step_kind::put, step_kind::notify,
                            step_kind::service, step_kind::in_parallel, step_kind::if_chain},
                           {"get", "task", "put", "notify", "service", "in_parallel", "if"},
                           parse_step_kind);
    CHECK_FALSE(parse_step_kind("if_chain"));
    CHECK_FALSE(parse_step_kind("hook"));
    CHECK_FALSE(parse_step_kind("approve"));
  }

  TEST_CASE("a worker's plan holds every step kind but services") {
    for (auto k : {step_kind::get, step_kind::task, step_kind::put, step_kind::notify,
                   step_kind::in_parallel})
      CHECK(is_plan_step(k));
    CHECK_FALSE(is_plan_step(step_kind::service));
    CHECK(is_plan_step(step_kind::if_chain));
  }

  TEST_CASE("trigger types are what a build's trigger.type says") {
    round_trips<trigger_type>(trigger_type_names,
                              {trigger_type::manual, trigger_type::resource, trigger_type::passed,
                               trigger_type::version, trigger_type::retry},
                              {"manual", "resource", "passed", "version", "retry"},
                              parse_trigger_type);
    CHECK_FALSE(parse_trigger_type("webhook"));
    CHECK_FALSE(parse_trigger_type("schedule"));
  }

  TEST_CASE("roles are named as tokens carry them") {
    round_trips<role>(role_names, {role::read, role::write, role::maintain, role::admin, role::worker},
                      {"read", "write", "maintain", "admin", "worker"}, parse_role);
    CHECK_FALSE(parse_role("root"));
  }

  TEST_CASE("user roles form a ladder; worker stands apart") {
    CHECK(is_user_role(role::read));
    CHECK(is_user_role(role::write));
    CHECK(is_user_role(role::maintain));
    CHECK(is_user_role(role::admin));
    CHECK_FALSE(is_user_role(role::worker));
    CHECK(allows(role::maintain, role::write));
    CHECK(allows(role::admin, role::maintain));
    CHECK_FALSE(allows(role::write, role::maintain));
    CHECK_FALSE(allows(role::maintain, role::admin));
    CHECK(allows(role::admin, role::write));
    CHECK(allows(role::write, role::read));
    CHECK_FALSE(allows(role::read, role::write));
    CHECK_FALSE(allows(role::write, role::admin));
    CHECK(allows(role::worker, role::worker));
    for (auto r : {role::read, role::write, role::maintain, role::admin}) {
      CHECK(allows(r, r));
      CHECK_FALSE(allows(r, role::worker));
      CHECK_FALSE(allows(role::worker, r));
    }
  }
}
