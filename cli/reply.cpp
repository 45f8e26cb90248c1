#include "cli/reply.hpp"

#include "config/pipeline/json_decode.hpp"
#include "connectors/http_client/http_client.hpp"

namespace pikoci::cli {

using nlohmann::json;

json decode_reply(const std::string& text) {
  return pipeline::decode_json(
             text, {http_client::default_max_response_bytes, 2 * pipeline::max_json_depth})
      .value;
}

const json& at(const json& j, const char* key) {
  static const json null;
  if (!j.is_object()) return null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}

const json& list(const json& j, const char* key) {
  static const json empty = json::array();
  const json& v = at(j, key);
  return v.is_array() ? v : empty;
}

std::string text(const json& j, const char* key) {
  const json& v = at(j, key);
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace pikoci::cli
