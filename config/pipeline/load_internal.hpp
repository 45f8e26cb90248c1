#pragma once
// Internals shared by the loading phases (load.cpp, variables.cpp, decode.cpp, expand.cpp,
// validate.cpp, builtin.cpp). Not part of the module's interface: include load.hpp instead.

#include <optional>
#include <string>
#include <vector>

#include "config/pipeline/ast.hpp"
#include "config/pipeline/eval.hpp"
#include "config/pipeline/load.hpp"
#include "config/pipeline/model.hpp"
#include "domain/text.hpp"

namespace pikoci::pipeline::detail {

// ---- schemas: one table per block kind drives check_body()

/// An attribute a body accepts.
struct attr_spec {
  const char* name;
  bool required = false;
};

/// A nested block a body accepts, with its label names (for messages).
struct block_spec {
  const char* type;
  std::vector<const char*> labels;
  bool label_optional = false;      // hooks: either no label or all of `labels`
  bool single = false;              // at most one of these
  bool required = false;            // at least one of these
  const char* forbidden = nullptr;  // known here but an error, with this explanation
};

/// What a block body may contain. An `open` body takes any further attribute as a param; only
/// near-misses of a known name (edit distance ≤ 2) are flagged there.
struct body_schema {
  std::vector<attr_spec> attributes;
  std::vector<block_spec> blocks;
  bool open = false;
};

/// Reports unknown attributes and blocks (with did-you-mean), wrong label counts, missing
/// required attributes/blocks and repeated single blocks. `owner` is where "missing" errors
/// point. Returns the blocks fit for decoding, in source order.
std::vector<const hcl::block*> check_body(const hcl::body& body, const body_schema& schema,
                                          const hcl::range& owner, hcl::diagnostics& diags);

// ---- typed attribute access with HCL-style type errors

/// Evaluates attributes in a context and converts them to model types. A null value counts as
/// absent. Every failure is reported at the attribute's value.
class reader {
 public:
  reader(const hcl::eval_context& ctx, hcl::diagnostics& diags) : ctx_(ctx), diags_(diags) {}

  std::optional<hcl::value> value(const hcl::attribute* a);
  std::optional<std::string> string(const hcl::attribute* a);
  std::optional<bool> boolean(const hcl::attribute* a);
  std::optional<int> integer(const hcl::attribute* a);
  std::optional<std::vector<std::string>> strings(const hcl::attribute* a);
  std::optional<duration> duration_of(const hcl::attribute* a);

  /// "Incorrect attribute value type: Inappropriate value for attribute "x": <what> required."
  void type_error(const hcl::attribute& a, const std::string& what);
  void error(const hcl::range& rng, std::string summary, std::string detail = {}) {
    diags_.add(rng, std::move(summary), std::move(detail));
  }
  const hcl::eval_context& context() const { return ctx_; }
  hcl::diagnostics& diags() { return diags_; }

 private:
  const hcl::eval_context& ctx_;
  hcl::diagnostics& diags_;
};

/// A primitive as a param string (bools "true"/"false", numbers as HCL prints them).
std::optional<std::string> param_string(const hcl::value& v);

// ---- phases

/// Resolves the `variable` blocks (overrides > secret > default), reporting every problem.
/// Failed variables still get a zero value of their type so later phases do not cascade.
std::vector<variable> resolve_variables(const std::vector<const hcl::block*>& blocks,
                                        const load_options& opts, hcl::diagnostics& diags);

/// Decodes every top-level block but `variable` into `cfg` with `var` = cfg.vars, within the
/// count limits of `limits` (blocks past a limit are reported once and not decoded).
void decode_definitions(const std::vector<const hcl::block*>& blocks, pipeline_config& cfg,
                        const load_limits& limits, hcl::diagnostics& diags);

/// The top-level schema (also used for built-in definitions).
const body_schema& root_schema();

/// One instance of a job block: the block itself (no each) or a for_each/matrix instance.
struct job_instance {
  std::string name;
  bool expanded = false;
  std::string key;
  hcl::value value;
};

/// Instances of a `job` block per reference §1.9 (sorted by key, slug-named, duplicates and
/// for_each+matrix reported). A plain job yields itself. More than `max_instances` instances
/// are an error (reported at the for_each value or the matrix block) and yield none.
std::vector<job_instance> expand_job(const hcl::block& job, reader& r,
                                     std::size_t max_instances);

/// Decodes one job instance (the block's body evaluated with `each` when expanded).
job decode_job(const hcl::block& block, const job_instance& inst, const hcl::eval_context& ctx,
               hcl::diagnostics& diags);

/// Adds the built-in types the pipeline does not override and resolves `pikoci://` sources.
void merge_builtins(pipeline_config& cfg, hcl::diagnostics& diags);

/// Copies the commands of the definition a `source` names into the declared type; params and
/// runner override only when the declaration gives none (one rule for pikoci:// and URLs).
void adopt(resource_type& t, const resource_type& from);
void adopt(runner_type& t, const runner_type& from);
void adopt(secret_type& t, const secret_type& from);
void adopt(notification_type& t, const notification_type& from);
void adopt(service_type& t, const service_type& from);

/// True for `http://` and `https://` sources (the fetched ones).
bool is_url_source(const std::string& source);

/// Fills every declared type whose `source` is an http(s) URL from the definition
/// `opts.fetch` returns (a block of the type's kind, or just its body); a failed fetch or an
/// invalid or command-less definition is an error at the `source` value. Without `fetch`, each
/// such source is a note when `opts.offline`, else an error.
void resolve_url_sources(pipeline_config& cfg, const load_options& opts, hcl::diagnostics& diags,
                         hcl::diagnostics& notes);

/// Cross-references and whole-pipeline rules (duplicates, collisions, references, runners).
void validate(pipeline_config& cfg, hcl::diagnostics& diags);

/// Rules on the params of resources of a built-in type whose handler could not run with them
/// (builtin_rules.cpp), reported at the resource.
void builtin_param_rules(const pipeline_config& cfg, hcl::diagnostics& diags);

/// "name" quoted like Go's %q for messages.
using domain::quote;

}  // namespace pikoci::pipeline::detail
