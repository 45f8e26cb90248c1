#pragma once
// Reading the node's replies in `pikoci-node client`. Replies are read defensively: a field of an
// unexpected type reads as missing, never throws.

#include <string>

#include <nlohmann/json.hpp>

namespace pikoci::cli {

/// A reply (or event) body decoded with the node's JSON limits (pipeline::decode_json); replies
/// wrap what requests sent in a few levels, hence twice the request depth. Discarded when it
/// does not decode.
nlohmann::json decode_reply(const std::string& text);

/// j[key], or null when `j` is not an object or has no such key.
const nlohmann::json& at(const nlohmann::json& j, const char* key);

/// j[key] when it is an array, else an empty one.
const nlohmann::json& list(const nlohmann::json& j, const char* key);

/// A field as text: strings as they are, null or missing as "", anything else as compact JSON.
std::string text(const nlohmann::json& j, const char* key);

}  // namespace pikoci::cli
