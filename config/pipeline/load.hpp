#pragma once
// Loading a pipeline file at save time: parse → variables → decode (with for_each/matrix
// expansion) → validate. All errors of a file are reported together, each with line:column.

#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/pipeline/diagnostics.hpp"
#include "config/pipeline/model.hpp"

namespace pikoci::pipeline {

/// Variable values given from outside the file. A name in both wins from `var_strings`: flags
/// come after files, as Terraform's later-wins rule.
/// What fetching a `source = "http(s)://..."` URL gave: the body, or why there is none.
struct fetched {
  std::optional<std::string> body;
  std::string error;
};
using fetch_fn = std::function<fetched(const std::string& url)>;

struct load_options {
  std::map<std::string, std::string> var_strings;  // --var k=v (always strings)
  nlohmann::json vars = nlohmann::json::object();  // --vars FILE.json or the API's "vars" (typed)
  /// Fetches http(s) sources of service types (SPEC §7) while loading; unset (offline
  /// validation), such sources stay unresolved.
  fetch_fn fetch;
};

/// The model when the file is valid, else nullopt; `diags` lists every error, sorted by position.
struct load_result {
  std::optional<pipeline_config> config;
  hcl::diagnostics diags;
};

/// Parses, resolves and validates `source` (named `file_name` in messages).
load_result load(const std::string& file_name, std::string source, const load_options& opts);

}  // namespace pikoci::pipeline
