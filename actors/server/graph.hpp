#pragma once
// The views of a pipeline's definition the web UI draws (GET /pipelines/{p}/graph, the inputs of
// GET /pipelines/{p}/jobs/{j}): plain functions of the loaded config and the jobs' summaries.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/pipeline/model.hpp"

namespace pikoci::server {

/// One declared input of manual triggers: {"name","type","options","default","required",
/// "multiple","description"} (`options` and `default` null when not declared; `required` when
/// there is no default).
nlohmann::json input_json(const pipeline::job_input& in);
/// The job's inputs, in declaration order.
nlohmann::json inputs_json(const pipeline::job& job);

/// GET /pipelines/{p}/graph's `graph`: {"name","paused","jobs","resources"}. Each job is its
/// summary (`summaries[i]` for `cfg.jobs[i]`: {"name","paused","latest_build","running"}; none
/// when its actor did not answer) with its `inputs`, `gets` ({"resource","name","passed",
/// "trigger"}) and `puts` ({"resource","name"}): every get and put of its plan, nested ones
/// and those of hooks included, the first of each step name (as the scheduler reads them).
nlohmann::json graph_json(const pipeline::pipeline_config& cfg, const std::string& name,
                          bool paused, const std::vector<std::optional<nlohmann::json>>& summaries,
                          nlohmann::json resources);

}  // namespace pikoci::server
