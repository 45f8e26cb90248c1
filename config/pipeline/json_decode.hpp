#pragma once
// The one way JSON from outside the node is decoded: request bodies, /login, vars files, the
// client's replies. A size cap and a nesting cap are checked on the text before it is parsed, so
// a hostile document never reaches code that recurses over it (nlohmann's copy and dump, value
// conversions): 100k nested arrays are one clear error, not a stack overflow.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "domain/json_depth.hpp"

namespace pikoci::pipeline {

/// Deepest array/object nesting accepted from outside.
inline constexpr std::size_t max_json_depth = 64;
/// Largest JSON text accepted from outside (the HTTP body limit).
inline constexpr std::size_t max_json_bytes = 4 * 1024 * 1024;

struct json_limits {
  std::size_t max_bytes = max_json_bytes;
  std::size_t max_depth = max_json_depth;
};

/// Why a text was refused; `none` when it decoded.
enum class json_failure { none, too_large, too_deep, malformed };

struct decoded_json {
  nlohmann::json value;  // discarded unless decoded
  json_failure failure = json_failure::none;
  std::string error;  // "JSON nests deeper than 64 levels", ...; empty when decoded
  explicit operator bool() const { return failure == json_failure::none; }
};

/// How deeply arrays and objects nest in a JSON text (domain/json_depth.hpp).
using domain::json_depth;

/// Decodes `text` when it is at most `limits.max_bytes` long, nests at most `limits.max_depth`
/// deep and is valid JSON. `callback` is nlohmann's parser callback (may be null). Never throws.
decoded_json decode_json(std::string_view text, const json_limits& limits = {},
                         const nlohmann::json::parser_callback_t& callback = nullptr);

/// Whether a decoded value nests deeper than `max_depth` (scalars are depth 0). Recurses at most
/// `max_depth + 1` levels, so it is safe on any value.
bool json_deeper_than(const nlohmann::json& j, std::size_t max_depth);

}  // namespace pikoci::pipeline
