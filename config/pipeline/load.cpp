// The load pipeline: parse → variables → decode (+ for_each/matrix expansion) → built-ins →
// validate. Every phase runs even after errors so that one save reports everything.

#include <set>
#include <tuple>

#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/parser.hpp"

namespace pikoci::pipeline {

namespace {

// for_each instances decode the same body several times: report each error once.
hcl::diagnostics unique(const hcl::diagnostics& in) {
  hcl::diagnostics out;
  std::set<std::tuple<std::size_t, std::size_t, std::string>> seen;
  for (const auto& d : in) {
    if (seen.emplace(d.rng.start.byte, d.rng.end.byte, d.message()).second)
      out.add(d.rng, d.summary, d.detail);
  }
  return out;
}

}  // namespace

load_result load(const std::string& file_name, std::string source, const load_options& opts) {
  load_result res;
  hcl::diagnostics diags;
  hcl::file f = hcl::parse_file(file_name, std::move(source), diags);
  if (diags.has_errors()) {
    res.diags = std::move(diags);
    res.diags.sort();
    return res;
  }

  std::vector<const hcl::block*> variable_blocks, others;
  for (const auto* b : detail::check_body(f.root, detail::root_schema(), f.root.rng, diags))
    (b->type == "variable" ? variable_blocks : others).push_back(b);

  pipeline_config cfg;
  cfg.variables = detail::resolve_variables(variable_blocks, opts, diags);
  hcl::value::collection_t vars;
  for (const auto& v : cfg.variables) vars[v.name] = v.value;
  cfg.vars = hcl::value::object(std::move(vars));

  detail::decode_definitions(others, cfg, diags);
  detail::merge_builtins(cfg, diags);
  detail::resolve_service_sources(cfg, opts.fetch, diags);
  detail::validate(cfg, diags);

  res.diags = unique(diags);
  res.diags.sort();
  if (!res.diags.has_errors()) res.config = std::move(cfg);
  return res;
}

}  // namespace pikoci::pipeline
