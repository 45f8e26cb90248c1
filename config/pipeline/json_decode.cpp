#include "config/pipeline/json_decode.hpp"

namespace pikoci::pipeline {

decoded_json decode_json(std::string_view text, const json_limits& limits,
                         const nlohmann::json::parser_callback_t& callback) {
  decoded_json out;
  out.value = nlohmann::json(nlohmann::json::value_t::discarded);
  if (text.size() > limits.max_bytes) {
    out.failure = json_failure::too_large;
    out.error = "JSON text is larger than " + std::to_string(limits.max_bytes) + " bytes";
    return out;
  }
  if (json_depth(text) > limits.max_depth) {
    out.failure = json_failure::too_deep;
    out.error = "JSON nests deeper than " + std::to_string(limits.max_depth) + " levels";
    return out;
  }
  try {
    out.value = nlohmann::json::parse(text.begin(), text.end(), callback,
                                      /*allow_exceptions=*/false);
  } catch (const std::exception&) {  // only a callback can throw here
    out.value = nlohmann::json(nlohmann::json::value_t::discarded);
  }
  if (out.value.is_discarded()) {
    out.failure = json_failure::malformed;
    out.error = "not valid JSON";
  }
  return out;
}

bool json_deeper_than(const nlohmann::json& j, std::size_t max_depth) {
  if (!j.is_array() && !j.is_object()) return false;
  if (max_depth == 0) return true;
  for (const auto& item : j)
    if (json_deeper_than(item, max_depth - 1)) return true;
  return false;
}

}  // namespace pikoci::pipeline
