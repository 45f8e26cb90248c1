#include "actors/protocols/api.hpp"

namespace pikoci::api {
namespace {

template <class T, class = void>
struct has_pipeline : std::false_type {};
template <class T>
struct has_pipeline<T, std::void_t<decltype(std::declval<T>().pipeline)>> : std::true_type {};

}  // namespace

const std::string& pipeline_of(const request& r) {
  static const std::string none;
  return std::visit(
      [](const auto& op) -> const std::string& {
        if constexpr (has_pipeline<std::decay_t<decltype(op)>>::value) {
          return op.pipeline;
        } else {
          return none;
        }
      },
      r);
}

bool writes_store(const request& r) {
  return std::visit(
      [](const auto& op) {
        using T = std::decay_t<decltype(op)>;
        return std::is_same_v<T, set_pipeline> || std::is_same_v<T, delete_pipeline> ||
               std::is_same_v<T, pause_pipeline> || std::is_same_v<T, set_concurrency> ||
               std::is_same_v<T, trigger_job> || std::is_same_v<T, pause_job> ||
               std::is_same_v<T, cancel_build> || std::is_same_v<T, retry_build> ||
               std::is_same_v<T, check_resource> || std::is_same_v<T, trigger_version> ||
               std::is_same_v<T, pin_resource> || std::is_same_v<T, webhook> ||
               std::is_same_v<T, regenerate_webhook_token> || std::is_same_v<T, set_git_webhook> ||
               std::is_same_v<T, git_webhook> || std::is_same_v<T, retry_notification>;
      },
      r);
}

}  // namespace pikoci::api
