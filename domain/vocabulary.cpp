#include "domain/vocabulary.hpp"

namespace pikoci::domain {

namespace {

// Every value is in its table (the tests walk them all), so the fallback is never reached.
template <class E, std::size_t N>
const char* name_of(const name_table_entry<E> (&table)[N], E v) {
  for (const auto& [value, name] : table)
    if (value == v) return name;
  return table[0].second;
}

template <class E, std::size_t N>
std::optional<E> value_of(const name_table_entry<E> (&table)[N], std::string_view text) {
  for (const auto& [value, name] : table)
    if (text == name) return value;
  return std::nullopt;
}

}  // namespace

const char* to_string(build_status s) {
  return name_of(build_status_names, s);
}
std::optional<build_status> parse_build_status(std::string_view text) {
  return value_of(build_status_names, text);
}
bool is_terminal(build_status s) {
  return !is_unstarted(s) && s != build_status::started;
}
bool is_unstarted(build_status s) {
  return s == build_status::waiting_for_approval || s == build_status::pending;
}
bool is_run_outcome(build_status s) {
  return s == build_status::succeeded || s == build_status::failed || s == build_status::errored ||
         s == build_status::cancelled;
}

const char* to_string(step_kind k) {
  return name_of(step_kind_names, k);
}
std::optional<step_kind> parse_step_kind(std::string_view text) {
  return value_of(step_kind_names, text);
}
bool is_plan_step(step_kind k) {
  return k != step_kind::service;
}

const char* to_string(trigger_type t) {
  return name_of(trigger_type_names, t);
}
std::optional<trigger_type> parse_trigger_type(std::string_view text) {
  return value_of(trigger_type_names, text);
}

std::string_view to_string(role r) {
  return name_of(role_names, r);
}
std::optional<role> parse_role(std::string_view text) {
  return value_of(role_names, text);
}
bool is_user_role(role r) {
  return r != role::worker;
}
bool allows(role have, role need) {
  if (!is_user_role(have) || !is_user_role(need)) return have == need;
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace pikoci::domain
