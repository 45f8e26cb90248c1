#pragma once
// The built-in `file` secret type's formats (reference §1.10): json, yaml (flat maps), env, raw.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace pikoci::builtin {

/// The format `format` names, or the one the extension of `path` implies when `format` is empty:
/// .json → json, .env → env, .yml/.yaml → yaml, anything else → raw.
std::string secret_file_format(const std::string& path, const std::string& format);

/// `text` as a JSON object of key → value in `format`; nullopt and `error` when it is not one.
/// yaml: a flat map of `key: value` lines only (comments, quotes, `---`); nested maps, lists and
/// block scalars are refused. env: `KEY=VALUE` lines (`export ` allowed, `#` comments, quotes
/// stripped, lines without a valid name ignored). raw: the whole text under `content`.
std::optional<nlohmann::json> parse_secret_file(const std::string& text, const std::string& format,
                                                std::string& error);

/// The KV v2 read path of a `vault kv get` path: `secret/app` → `secret/data/app` (a path whose
/// second segment is already `data` is kept).
std::string vault_kv2_api_path(const std::string& path);

}  // namespace pikoci::builtin
