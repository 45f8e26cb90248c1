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
  switch (k) {
    case hook_kind::on_success:
      return "on_success";
    case hook_kind::on_failure:
      return "on_failure";
    case hook_kind::on_cancel:
      return "on_cancel";
    case hook_kind::ensure:
      return "ensure";
  }
  return "ensure";
}

const char* to_string(step_kind k) {
  switch (k) {
    case step_kind::get:
      return "get";
    case step_kind::task:
      return "task";
    case step_kind::put:
      return "put";
    case step_kind::notify:
      return "notify";
    case step_kind::service:
      return "service";
    case step_kind::in_parallel:
      return "in_parallel";
    case step_kind::if_chain:
      return "if";
  }
  return "task";
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
