#pragma once
// Loading a pipeline file at save time: parse → variables → decode (with for_each/matrix
// expansion) → validate. All errors of a file are reported together, each with line:column.

#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/pipeline/budget.hpp"
#include "config/pipeline/diagnostics.hpp"
#include "config/pipeline/model.hpp"

namespace pikoci::pipeline {

/// What fetching a `source = "http(s)://..."` URL gave: the body, or why there is none.
struct fetched {
  std::optional<std::string> body;
  std::string error;
};
using fetch_fn = std::function<fetched(const std::string& url)>;

/// What one load may declare and compute. A file over any limit gets a diagnostic at the place
/// that exceeded it; the defaults are far above real pipelines (docs/operations.md).
struct load_limits {
  hcl::eval_limits eval;                  // values, nesting and wall time of the whole load
  std::size_t max_jobs = 1000;            // after for_each/matrix expansion
  std::size_t max_for_each = 1000;        // instances of one for_each/matrix job
  std::size_t max_resources = 1000;       // `resource` blocks
  std::size_t max_resource_types = 200;   // `resource_type` blocks (built-ins not counted)
  std::size_t max_steps_per_job = 500;    // step blocks of one job, nested ones included
};

/// Variable values given from outside the file. A name in both wins from `var_strings`: flags
/// come after files, as Terraform's later-wins rule.
struct load_options {
  std::map<std::string, std::string> var_strings;  // --var k=v (always strings)
  nlohmann::json vars = nlohmann::json::object();  // --vars FILE.json or the API's "vars" (typed)
  /// Fetches the http(s) `source` URLs of declared types while loading. Unset, such a source is
  /// an error, or only a note with `offline` (`validate --offline`: the result is then not fit
  /// to run).
  fetch_fn fetch;
  bool offline = false;
  load_limits limits;
};

/// The model when the file is valid, else nullopt; `diags` lists every error, sorted by position.
struct load_result {
  std::optional<pipeline_config> config;
  hcl::diagnostics diags;
  hcl::diagnostics notes;  // not errors: the sources an offline load did not fetch
};

/// Parses, resolves and validates `source` (named `file_name` in messages).
load_result load(const std::string& file_name, std::string source, const load_options& opts);

}  // namespace pikoci::pipeline
