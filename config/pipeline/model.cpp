// Small helpers of the typed model: keyword spellings and lookups by name.

#include "config/pipeline/model.hpp"

namespace pikoci::pipeline {

namespace {

template <class T, class Key>
const T* find_in(const std::vector<T>& items, const std::string& name, Key key) {
  for (const auto& item : items)
    if (key(item) == name) return &item;
  return nullptr;
}

const auto by_name = [](const auto& x) -> const std::string& { return x.name; };
const auto by_canonical = [](const auto& x) -> const std::string& { return x.canonical; };

constexpr std::pair<hook_kind, const char*> hook_kinds[] = {{hook_kind::on_success, "on_success"},
                                                            {hook_kind::on_failure, "on_failure"},
                                                            {hook_kind::on_cancel, "on_cancel"},
                                                            {hook_kind::ensure, "ensure"}};

}  // namespace

const char* to_string(value_type t) {
  switch (t) {
    case value_type::string:
      return "string";
    case value_type::number:
      return "number";
    case value_type::boolean:
      return "bool";
  }
  return "string";
}

const char* to_string(hook_kind k) {
  for (const auto& [value, name] : hook_kinds)
    if (value == k) return name;
  return "ensure";
}

std::optional<hook_kind> parse_hook_kind(std::string_view text) {
  for (const auto& [value, name] : hook_kinds)
    if (text == name) return value;
  return std::nullopt;
}

const resource_type* pipeline_config::find_resource_type(const std::string& name) const {
  return find_in(resource_types, name, by_name);
}
const resource* pipeline_config::find_resource(const std::string& canonical) const {
  return find_in(resources, canonical, by_canonical);
}
const runner_type* pipeline_config::find_runner_type(const std::string& name) const {
  return find_in(runner_types, name, by_name);
}
const secret_type* pipeline_config::find_secret_type(const std::string& name) const {
  return find_in(secret_types, name, by_name);
}
const service_type* pipeline_config::find_service_type(const std::string& name) const {
  return find_in(service_types, name, by_name);
}
const notification_type* pipeline_config::find_notification_type(const std::string& name) const {
  return find_in(notification_types, name, by_name);
}
const notification* pipeline_config::find_notification(const std::string& canonical) const {
  return find_in(notifications, canonical, by_canonical);
}
const job* pipeline_config::find_job(const std::string& name) const {
  return find_in(jobs, name, by_name);
}

}  // namespace pikoci::pipeline
