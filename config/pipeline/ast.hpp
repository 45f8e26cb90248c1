#pragma once
// Syntax tree of HCL2 native syntax, as produced by the parser and walked by the evaluator and
// the pipeline decoder. Mirrors hclsyntax's node kinds.

#include <memory>
#include <string>
#include <vector>

#include "config/pipeline/diagnostics.hpp"
#include "config/pipeline/value.hpp"

namespace pikoci::hcl {

struct expr;
using expr_ptr = std::unique_ptr<expr>;

/// One step of a traversal: `.name`, `[key]` with a literal key (`a.0` legacy index included).
struct traverser {
  enum class kind { attr, index } k = kind::attr;
  std::string name;  // for attr
  value key;         // for index
  range rng;
};

enum class expr_kind {
  literal,          // lit
  scope_traversal,  // name + trav: var.a.b[0]
  relative,         // a + trav: (expr).x, f()[0]
  index,            // a[b] with a non-literal key b
  call,             // name(items...), expand_final for `f(xs...)`
  conditional,      // a ? b : c
  binary,           // a op b
  unary,            // op a ("!" or "-")
  tuple,            // [items...]
  object,           // {pairs...}
  for_tuple,        // [for key_var, val_var in a : b if c]
  for_object,       // {for key_var, val_var in a : b => d... if c}
  splat,            // a[*]trav or a.*trav; the element is splat_item evaluated per element
  splat_item,       // the anonymous element inside a splat's `each` expression
  parens,           // (a)
  template_,        // items: template parts; a lone interpolation unwraps (TemplateWrapExpr)
  template_if,      // %{if a} b %{else} c %{endif}, b and c are template_ nodes (c may be null)
  template_for,     // %{for key_var, val_var in a} b %{endfor}, b is a template_ node
  object_key,       // a: an object constructor key; a bare name is a literal string
};

/// An expression node. A single struct with optional children keeps the tree simple to walk.
struct expr {
  expr_kind kind = expr_kind::literal;
  range rng;

  value lit;                    // literal; template literal chunk (string)
  std::string name;             // traversal root / function name / operator
  std::vector<traverser> trav;  // scope_traversal, relative, splat (after the splat operator)
  std::vector<expr_ptr> items;  // tuple items, call arguments, template parts
  std::vector<std::pair<expr_ptr, expr_ptr>> pairs;  // object items (key is object_key)
  expr_ptr a, b, c, d;                               // operands, see expr_kind
  bool expand_final = false;                         // call: last argument followed by `...`
  bool grouped = false;                              // for_object: value followed by `...`
  std::string key_var, val_var;  // for expressions; key_var empty when only one name given
  bool unwrap = false;           // template_: a lone `${...}` returns its value unconverted
  // template parts: a literal with strip flags set by `~` markers on neighbouring sequences
  bool strip_left = false, strip_right = false;
};

struct body;

/// `name = expr`
struct attribute {
  std::string name;
  expr_ptr value;
  range name_rng;
  range rng;
};

/// `type "label" label { body }`
struct block {
  std::string type;
  std::vector<std::string> labels;
  std::vector<range> label_rngs;
  range type_rng;
  range open_brace_rng;
  std::unique_ptr<body> content;
  range rng;
};

/// Attributes (unique names, source order) and blocks (source order).
struct body {
  std::vector<attribute> attributes;
  std::vector<block> blocks;
  range rng;
  const attribute* find_attribute(const std::string& name) const {
    for (const auto& a : attributes)
      if (a.name == name) return &a;
    return nullptr;
  }
};

/// A parsed file. Keeps the source so diagnostics can quote it.
struct file {
  std::string name;
  std::string source;
  body root;
};

}  // namespace pikoci::hcl
