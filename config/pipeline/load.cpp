// The load pipeline: parse → variables → decode (+ for_each/matrix expansion) → built-ins →
// validate. Every phase runs even after errors so that one save reports everything.

#include <chrono>
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

/// A load that ran out of budget reports only that: what failed after it is its consequence.
load_result over_budget(const hcl::budget& b) {
  load_result res;
  const auto& f = *b.failure();
  res.diags.add(f.rng, f.summary, f.detail);
  return res;
}

}  // namespace

load_result load(const std::string& file_name, std::string source, const load_options& opts) {
  // Everything evaluated while loading, built-ins included, shares one budget.
  hcl::budget budget(opts.limits.eval);
  hcl::budget_scope scope(budget);
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
  if (budget.exhausted()) return over_budget(budget);
  hcl::value::collection_t vars;
  for (const auto& v : cfg.variables) vars[v.name] = v.value;
  cfg.vars = hcl::value::object(std::move(vars));

  detail::decode_definitions(others, cfg, opts.limits, diags);
  if (budget.exhausted()) return over_budget(budget);
  detail::merge_builtins(cfg, diags);
  // time spent waiting for a source's server is not evaluation time
  load_options timed = opts;
  if (opts.fetch)
    timed.fetch = [&budget, &opts](const std::string& url) {
      const auto start = std::chrono::steady_clock::now();
      fetched got = opts.fetch(url);
      budget.extend(std::chrono::steady_clock::now() - start);
      return got;
    };
  hcl::diagnostics notes;
  detail::resolve_url_sources(cfg, timed, diags, notes);
  if (budget.exhausted()) return over_budget(budget);
  detail::validate(cfg, diags);
  if (!budget.check_time(f.root.rng)) return over_budget(budget);

  res.diags = unique(diags);
  res.diags.sort();
  res.notes = std::move(notes);
  res.notes.sort();
  if (!res.diags.has_errors()) res.config = std::move(cfg);
  return res;
}

}  // namespace pikoci::pipeline
