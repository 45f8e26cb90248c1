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

}  // namespace pikoci::api
