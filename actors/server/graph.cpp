#include "actors/server/graph.hpp"

#include "actors/server/resolve.hpp"
#include "config/pipeline/value.hpp"

namespace pikoci::server {

using nlohmann::json;

json input_json(const pipeline::job_input& in) {
  json options = nullptr;
  if (!in.options.empty()) {
    options = json::array();
    for (const auto& o : in.options) options.push_back(hcl::to_json(o));
  }
  return {{"name", in.name},
          {"type", pipeline::to_string(in.type)},
          {"options", std::move(options)},
          {"default", in.default_value ? hcl::to_json(*in.default_value) : json(nullptr)},
          {"required", !in.default_value},
          {"multiple", in.multiple},
          {"description", in.description ? json(*in.description) : json(nullptr)}};
}

json inputs_json(const pipeline::job& job) {
  auto out = json::array();
  for (const auto& in : job.inputs) out.push_back(input_json(in));
  return out;
}

namespace {

json graph_job(const pipeline::job& job, const std::optional<json>& summary) {
  json j =
      summary
          ? *summary
          : json{{"name", job.name}, {"paused", false}, {"latest_build", nullptr}, {"running", 0}};
  j["inputs"] = inputs_json(job);
  auto gets = json::array();
  for (const auto* g : get_steps(job))
    gets.push_back({{"resource", g->canonical},
                    {"name", g->name},
                    {"passed", g->passed_jobs},
                    {"trigger", g->trigger}});
  j["gets"] = std::move(gets);
  auto puts = json::array();
  for (const auto* p : steps_of_kind(job, pipeline::step_kind::put))
    puts.push_back({{"resource", p->canonical}, {"name", p->name}});
  j["puts"] = std::move(puts);
  return j;
}

}  // namespace

json graph_json(const pipeline::pipeline_config& cfg, const std::string& name, bool paused,
                const std::vector<std::optional<json>>& summaries, json resources) {
  auto jobs = json::array();
  for (std::size_t i = 0; i < cfg.jobs.size(); ++i)
    jobs.push_back(graph_job(cfg.jobs[i], i < summaries.size() ? summaries[i] : std::nullopt));
  return {{"name", name},
          {"paused", paused},
          {"jobs", std::move(jobs)},
          {"resources", std::move(resources)}};
}

}  // namespace pikoci::server
