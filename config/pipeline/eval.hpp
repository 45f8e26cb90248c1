#pragma once
// Expression and template evaluation with hclsyntax's semantics.

#include <map>
#include <optional>
#include <string>

#include "config/pipeline/ast.hpp"
#include "config/pipeline/functions.hpp"

namespace pikoci::hcl {

/// Variables visible to an expression (`var`, `each`, for-expression names) and the functions.
/// Contexts chain: a child sees its parent's variables unless it shadows them.
struct eval_context {
  std::map<std::string, value> variables;
  const function_table* functions = &builtin_functions();
  const eval_context* parent = nullptr;

  const value* lookup(const std::string& name) const;
};

/// Evaluates `e`. On error the diagnostics get the reason with its range and nullopt is
/// returned. Never throws.
std::optional<value> evaluate(const expr& e, const eval_context& ctx, diagnostics& diags);

/// Evaluates and converts to a string (as an attribute typed `string` would).
std::optional<std::string> evaluate_string(const expr& e, const eval_context& ctx,
                                           diagnostics& diags);

/// When `e` is a bare name (a traversal with a root and nothing else: `string`, `exec`), that
/// name. Used for keyword-like attributes such as `variable.type`.
std::optional<std::string> bare_name(const expr& e);

}  // namespace pikoci::hcl
