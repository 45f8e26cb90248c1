#include "config/pipeline/eval.hpp"

#include <algorithm>
#include <cmath>

#include "config/pipeline/budget.hpp"
#include "domain/text.hpp"

namespace pikoci::hcl {

const value* eval_context::lookup(const std::string& name) const {
  for (const eval_context* c = this; c != nullptr; c = c->parent) {
    auto it = c->variables.find(name);
    if (it != c->variables.end()) return &it->second;
  }
  return nullptr;
}

namespace {

using result = std::optional<value>;

const function_table* find_functions(const eval_context& ctx) {
  for (const eval_context* c = &ctx; c != nullptr; c = c->parent)
    if (c->functions != nullptr) return c->functions;
  return nullptr;
}

using domain::quote;

/// Recursion guard: expressions nest as deep as the parser allowed; evaluation of deeply nested
/// values (templates over for expressions) is bounded the same way.
constexpr int max_eval_depth = 512;

/// A value constructor's own cost: its node (elements were charged when they were made).
constexpr std::size_t node_bytes = sizeof(value);
/// What a key costs in an object besides its value (map node and key text).
std::size_t key_bytes(const std::string& key) {
  return 48 + key.size();
}

/// Evaluates under a budget (budget.hpp): every value made or copied is charged, the clock is
/// checked as it goes, and once the budget is exhausted everything fails without further
/// diagnostics (the budget keeps the one that says why).
class evaluator {
 public:
  evaluator(diagnostics& diags, budget& b) : diags_(diags), budget_(b) {}

  result eval(const expr& e, const eval_context& ctx) {
    if (!budget_.tick(e.rng)) return std::nullopt;
    if (++depth_ > max_eval_depth) {
      --depth_;
      error(e.rng, "Expression too complex", "This expression nests too deeply to evaluate.");
      return std::nullopt;
    }
    result r = eval_inner(e, ctx);
    --depth_;
    if (budget_.exhausted()) return std::nullopt;
    if (r && !r->is_sequence() && !r->is_collection()) result_depth_ = 0;
    return r;
  }

 private:
  void error(range rng, std::string summary, std::string detail) {
    diags_.add(rng, std::move(summary), std::move(detail));
  }

  // A tuple constructor: every item is evaluated (so all their errors are reported).
  result tuple_constructor(const expr& e, const eval_context& ctx) {
    value::sequence_t items;
    std::size_t deepest = 0;
    bool ok = true;
    for (const auto& item : e.items) {
      auto v = eval(*item, ctx);
      if (!v) {
        ok = false;
        continue;
      }
      deepest = std::max(deepest, result_depth_);
      items.push_back(std::move(*v));
    }
    if (!ok) return std::nullopt;
    return made(value::tuple(std::move(items)), node_bytes, deepest + 1, e.rng);
  }

  result eval_inner(const expr& e, const eval_context& ctx) {
    switch (e.kind) {
      case expr_kind::literal:
        return copy(&e.lit, e.rng);
      case expr_kind::scope_traversal: {
        const value* root = ctx.lookup(e.name);
        if (root == nullptr) {
          error(e.rng, "Unknown variable", "There is no variable named " + quote(e.name) + ".");
          return std::nullopt;
        }
        return copy(traverse(*root, e.trav), e.rng);
      }
      case expr_kind::splat_item: {
        const value* item = ctx.lookup(e.name);
        if (item == nullptr) return value{};
        return copy(item, e.rng);
      }
      case expr_kind::relative: {
        auto base = eval(*e.a, ctx);
        if (!base) return std::nullopt;
        return copy(traverse(*base, e.trav), e.rng);
      }
      case expr_kind::index: {
        auto base = eval(*e.a, ctx);
        auto key = eval(*e.b, ctx);
        if (!base || !key) return std::nullopt;
        traverser step;
        step.k = traverser::kind::index;
        step.key = *key;
        step.rng = e.b->rng;
        return copy(apply_step(*base, step), e.rng);
      }
      case expr_kind::parens:
        return eval(*e.a, ctx);
      case expr_kind::call:
        return call(e, ctx);
      case expr_kind::conditional:
        return conditional(e, ctx);
      case expr_kind::binary:
        return binary(e, ctx);
      case expr_kind::unary:
        return unary(e, ctx);
      case expr_kind::tuple:
        return tuple_constructor(e, ctx);
      case expr_kind::object:
        return object(e, ctx);
      case expr_kind::for_tuple:
      case expr_kind::for_object:
        return for_expr(e, ctx);
      case expr_kind::splat:
        return splat(e, ctx);
      case expr_kind::template_:
        return template_expr(e, ctx);
      case expr_kind::template_if: {
        auto s = template_if(e, ctx);
        if (!s) return std::nullopt;
        return value::string(std::move(*s));
      }
      case expr_kind::template_for: {
        auto s = template_for(e, ctx);
        if (!s) return std::nullopt;
        return value::string(std::move(*s));
      }
      case expr_kind::object_key:
        return eval(*e.a, ctx);
    }
    return std::nullopt;
  }

  // ---- budget -----------------------------------------------------------------------------

  /// A copy of an existing value (a reference, a literal) costs all of it.
  result copy(const value* v, const range& rng) {
    if (v == nullptr || !budget_.charge_value(*v, rng, result_depth_)) return std::nullopt;
    return *v;
  }

  /// A value built here from elements already paid for costs `own` bytes; its nesting
  /// (`depth`, from the elements' result_depth_) is checked.
  result made(value v, std::size_t own, std::size_t depth, const range& rng) {
    if (!budget_.check_depth(depth, rng) || !budget_.charge(own, rng)) return std::nullopt;
    result_depth_ = depth;
    return v;
  }

  // ---- traversal (pointers into existing values: nothing is copied until the end) ------------

  const value* traverse(const value& root, const std::vector<traverser>& steps) {
    const value* v = &root;
    for (const auto& step : steps) {
      v = apply_step(*v, step);
      if (v == nullptr) return nullptr;
    }
    return v;
  }

  const value* apply_step(const value& v, const traverser& step) {
    if (step.k == traverser::kind::attr) return get_attr(v, step.name, step.rng);
    return index(v, step.key, step.rng);
  }

  const value* get_attr(const value& v, const std::string& name, range rng) {
    if (v.is_null()) {
      error(rng, "Attempt to get attribute from null value",
            "This value is null, so it does not have any attributes.");
      return nullptr;
    }
    if (v.is_collection()) {
      auto it = v.attrs().find(name);
      if (it != v.attrs().end()) return &it->second;
      if (v.flav() == value::flavor::map) {
        error(rng, "Missing map element",
              "This map does not have an element with the key " + quote(name) + ".");
      } else {
        error(rng, "Unsupported attribute",
              "This object does not have an attribute named " + quote(name) + ".");
      }
      return nullptr;
    }
    if (v.is_sequence()) {
      error(rng, "Unsupported attribute",
            "Can't access attributes on a list of objects. Did you mean to access an attribute "
            "for a specific element of the list, or across all elements of the list?");
      return nullptr;
    }
    error(rng, "Unsupported attribute",
          "Can't access attributes on a primitive-typed value (" + v.type_name() + ").");
    return nullptr;
  }

  const value* index(const value& v, const value& key, range rng) {
    if (v.is_null()) {
      error(rng, "Attempt to index null value",
            "This value is null, so it does not have any indices.");
      return nullptr;
    }
    if (key.is_null()) {
      error(rng, "Invalid index", "Can't use a null value as an indexing key.");
      return nullptr;
    }
    if (v.is_set()) {
      error(rng, "Invalid index",
            "Elements of a set are identified only by their value and don't have any separate "
            "index or key to select with, so it's only possible to perform operations across all "
            "elements of the set.");
      return nullptr;
    }
    if (v.is_sequence()) {
      double n;
      if (!to_number(key, n)) {
        error(rng, "Invalid index",
              "The given key does not identify an element in this collection value: number "
              "required.");
        return nullptr;
      }
      if (n != std::floor(n)) {
        error(rng, "Invalid index",
              "The given key does not identify an element in this collection value: a whole "
              "number is required.");
        return nullptr;
      }
      if (n < 0 || n >= static_cast<double>(v.items().size())) {
        error(rng, "Invalid index",
              n < 0 ? "The given key does not identify an element in this collection value: a "
                      "negative number is not a valid index for a sequence."
                    : "The given key does not identify an element in this collection value: the "
                      "given index is greater than or equal to the length of the collection.");
        return nullptr;
      }
      return &v.items()[static_cast<std::size_t>(n)];
    }
    if (v.is_collection()) {
      std::string k;
      if (!to_string(key, k)) {
        error(rng, "Invalid index",
              "The given key does not identify an element in this collection value: string "
              "required.");
        return nullptr;
      }
      auto it = v.attrs().find(k);
      if (it == v.attrs().end()) {
        error(rng, "Invalid index",
              "The given key does not identify an element in this collection value.");
        return nullptr;
      }
      return &it->second;
    }
    error(rng, "Invalid index", "This value does not have any indices.");
    return nullptr;
  }

  // ---- calls ------------------------------------------------------------------------------

  result call(const expr& e, const eval_context& ctx) {
    const function_table* table = find_functions(ctx);
    auto fit = table ? table->find(e.name) : decltype(table->end()){};
    if (table == nullptr || fit == table->end()) {
      error(e.rng, "Call to unknown function", "There is no function named " + quote(e.name) + ".");
      return std::nullopt;
    }
    const function_def& fn = fit->second;
    std::vector<value> args;
    std::vector<range> arg_rngs;
    bool ok = true;
    for (std::size_t i = 0; i < e.items.size(); ++i) {
      auto v = eval(*e.items[i], ctx);
      if (!v) {
        ok = false;
        continue;
      }
      bool expand = e.expand_final && i + 1 == e.items.size();
      if (!expand) {
        args.push_back(std::move(*v));
        arg_rngs.push_back(e.items[i]->rng);
        continue;
      }
      if (v->is_null()) {
        error(e.items[i]->rng, "Invalid expanding argument value",
              "The expanding argument (indicated by ...) must not be null.");
        ok = false;
        continue;
      }
      if (!v->is_sequence()) {
        error(e.items[i]->rng, "Invalid expanding argument value",
              "The expanding argument (indicated by ...) must be of a tuple, list, or set type.");
        ok = false;
        continue;
      }
      for (const auto& item : v->items()) {
        args.push_back(item);
        arg_rngs.push_back(e.items[i]->rng);
      }
    }
    if (!ok) return std::nullopt;
    std::size_t fixed = fn.params.size() - (fn.variadic ? 1 : 0);
    if (args.size() < fixed) {
      error(e.rng, "Not enough function arguments",
            "Function " + quote(e.name) + " expects " + std::to_string(fixed) +
                " argument(s). Missing value for " + quote(fn.params[args.size()]) + ".");
      return std::nullopt;
    }
    if (!fn.variadic && args.size() > fixed) {
      error(
          e.items.empty() ? e.rng : arg_rngs[fixed], "Too many function arguments",
          "Function " + quote(e.name) + " expects only " + std::to_string(fixed) + " argument(s).");
      return std::nullopt;
    }
    function_result r = fn.impl(args);
    if (r.ok()) {
      if (!budget_.charge_value(r.v, e.rng, result_depth_)) return std::nullopt;
      return std::move(r.v);
    }
    if (r.arg >= 0 && static_cast<std::size_t>(r.arg) < args.size()) {
      std::size_t pi = std::min(static_cast<std::size_t>(r.arg), fn.params.size() - 1);
      error(arg_rngs[static_cast<std::size_t>(r.arg)], "Invalid function argument",
            "Invalid value for " + quote(fn.params[pi]) + " parameter: " + r.error + ".");
    } else {
      error(e.rng, "Error in function call",
            "Call to function " + quote(e.name) + " failed: " + r.error + ".");
    }
    return std::nullopt;
  }

  // ---- operators --------------------------------------------------------------------------

  /// cty's primitive type unification for conditional results: equal kinds stay, string wins
  /// over number and bool, null adopts the other side. Returns false when they cannot unify.
  static bool unify(value& chosen, const value& other) {
    if (chosen.is_null() || other.is_null()) return true;
    if (chosen.type() == other.type()) return true;
    if (chosen.is_primitive() && other.is_primitive()) {
      if (chosen.is_string()) return true;
      if (other.is_string()) {
        std::string s;
        to_string(chosen, s);
        chosen = value::string(s);
        return true;
      }
      return false;  // number vs bool
    }
    return false;
  }

  /// The bool value of a `?:` or `%{if}` condition; errors for null and non-bool values.
  std::optional<bool> condition(const expr& c, const eval_context& ctx) {
    auto v = eval(c, ctx);
    if (!v) return std::nullopt;
    if (v->is_null()) {
      error(c.rng, "Null condition",
            "The condition value is null. Conditions must either be true or false.");
      return std::nullopt;
    }
    bool b;
    if (!to_bool(*v, b)) {
      error(c.rng, "Incorrect condition type", "The condition expression must be of type bool.");
      return std::nullopt;
    }
    return b;
  }

  result conditional(const expr& e, const eval_context& ctx) {
    auto cond = condition(*e.a, ctx);
    if (!cond) return std::nullopt;
    bool c = *cond;
    const expr& pick = c ? *e.b : *e.c;
    const expr& other_expr = c ? *e.c : *e.b;
    auto chosen = eval(pick, ctx);
    if (!chosen) return std::nullopt;
    // The other branch only matters for its type; its errors are not reported (as in hcl).
    diagnostics ignored;
    evaluator side(ignored, budget_);
    side.depth_ = depth_;
    auto other = side.eval(other_expr, ctx);
    if (other && !unify(*chosen, *other)) {
      error(range{e.b->rng.start, e.c->rng.end}, "Inconsistent conditional result types",
            "The true and false result expressions must have consistent types. The 'true' value "
            "is " +
                (c ? chosen->type_name() : other->type_name()) + ", but the 'false' value is " +
                (c ? other->type_name() : chosen->type_name()) + ".");
      return std::nullopt;
    }
    return chosen;
  }

  result binary(const expr& e, const eval_context& ctx) {
    if (!budget_.charge(node_bytes, e.rng)) return std::nullopt;
    const std::string& op = e.name;
    auto lhs = eval(*e.a, ctx);
    if (lhs && (op == "&&" || op == "||")) {
      // short-circuit like hcl: `false && x` and `true || y` ignore the other side
      bool l;
      if (to_bool(*lhs, l) && l == (op == "||")) return value::boolean(l);
    }
    auto rhs = eval(*e.b, ctx);
    if (!lhs || !rhs) return std::nullopt;
    if (op == "==") return value::boolean(*lhs == *rhs);
    if (op == "!=") return value::boolean(*lhs != *rhs);
    if (op == "&&" || op == "||") {
      bool l, r;
      bool lok = operand_bool(*lhs, e.a->rng, "left", l);
      bool rok = operand_bool(*rhs, e.b->rng, "right", r);
      if (!lok || !rok) return std::nullopt;
      return value::boolean(op == "&&" ? (l && r) : (l || r));
    }
    double l, r;
    bool lok = operand_number(*lhs, e.a->rng, "left", l);
    bool rok = operand_number(*rhs, e.b->rng, "right", r);
    if (!lok || !rok) return std::nullopt;
    if (op == "<") return value::boolean(l < r);
    if (op == "<=") return value::boolean(l <= r);
    if (op == ">") return value::boolean(l > r);
    if (op == ">=") return value::boolean(l >= r);
    if (op == "+") return value::number(l + r);
    if (op == "-") return value::number(l - r);
    if (op == "*") return value::number(l * r);
    if (op == "/") {
      if (l == 0 && r == 0) {
        error(e.rng, "Operation failed",
              "Error during operation: can't divide zero by zero or infinity by infinity.");
        return std::nullopt;
      }
      return value::number(l / r);
    }
    if (op == "%") {
      if (r == 0) return value::number(l);  // cty: x % 0 is x
      return value::number(std::fmod(l, r));
    }
    error(e.rng, "Invalid operator", "The operator " + quote(op) + " is not supported.");
    return std::nullopt;
  }

  bool operand_number(const value& v, range rng, const char* side, double& out) {
    if (to_number(v, out)) return true;
    error(rng, "Invalid operand",
          std::string("Unsuitable value for ") + side +
              " operand: " + (v.is_null() ? "a number is required" : "number required") + ".");
    return false;
  }

  bool operand_bool(const value& v, range rng, const char* side, bool& out) {
    if (to_bool(v, out)) return true;
    error(rng, "Invalid operand",
          std::string("Unsuitable value for ") + side +
              " operand: " + (v.is_null() ? "a bool is required" : "bool required") + ".");
    return false;
  }

  result unary(const expr& e, const eval_context& ctx) {
    if (!budget_.charge(node_bytes, e.rng)) return std::nullopt;
    auto v = eval(*e.a, ctx);
    if (!v) return std::nullopt;
    if (e.name == "-") {
      double n;
      if (!to_number(*v, n)) {
        error(e.a->rng, "Invalid operand", "Unsuitable value for unary operand: number required.");
        return std::nullopt;
      }
      return value::number(-n);
    }
    bool b;
    if (!to_bool(*v, b)) {
      error(e.a->rng, "Invalid operand", "Unsuitable value for unary operand: bool required.");
      return std::nullopt;
    }
    return value::boolean(!b);
  }

  // ---- constructors -----------------------------------------------------------------------

  result object_key(const expr& key, const eval_context& ctx) {
    const expr& inner = *key.a;
    if (inner.kind == expr_kind::scope_traversal) {
      if (inner.trav.empty()) return value::string(inner.name);
      error(inner.rng, "Ambiguous attribute key",
            "If this expression is intended to be a reference, wrap it in parentheses. If it's "
            "instead intended as a literal name containing periods, wrap it in quotes to create "
            "a string literal.");
      return std::nullopt;
    }
    auto v = eval(inner, ctx);
    if (!v) return std::nullopt;
    if (v->is_null()) {
      error(inner.rng, "Null value as key", "Can't use a null value as a key.");
      return std::nullopt;
    }
    std::string s;
    if (!to_string(*v, s)) {
      error(inner.rng, "Incorrect key type", "Can't use this value as a key: string required.");
      return std::nullopt;
    }
    return value::string(s);
  }

  result object(const expr& e, const eval_context& ctx) {
    value::collection_t attrs;
    std::size_t own = node_bytes, deepest = 0;
    bool ok = true;
    for (const auto& [k, v] : e.pairs) {
      auto key = object_key(*k, ctx);
      auto val = eval(*v, ctx);
      if (!key || !val) {
        ok = false;
        continue;
      }
      deepest = std::max(deepest, result_depth_);
      own += key_bytes(key->as_string());
      attrs[key->as_string()] = std::move(*val);
    }
    if (!ok) return std::nullopt;
    return made(value::object(std::move(attrs)), own, deepest + 1, e.rng);
  }

  /// Calls `body(key, value)` for each element of an iterable collection; false on a non-
  /// iterable (reported).
  template <class F>
  bool iterate(const value& coll, range rng, const char* what, F&& body) {
    if (coll.is_null()) {
      error(rng, "Iteration over null value",
            std::string("A null value cannot be used as the collection in a ") + what + ".");
      return false;
    }
    if (coll.is_sequence()) {
      for (std::size_t i = 0; i < coll.items().size(); ++i) {
        value key = coll.is_set() ? coll.items()[i] : value::number(static_cast<double>(i));
        if (!body(key, coll.items()[i])) return false;
      }
      return true;
    }
    if (coll.is_collection()) {
      for (const auto& [k, v] : coll.attrs())
        if (!body(value::string(k), v)) return false;
      return true;
    }
    error(rng, "Iteration over non-iterable value",
          "A value of type " + coll.type_name() + " cannot be used as the collection in a " + what +
              ".");
    return false;
  }

  /// The scope of one iteration of a `for` expression or directive: its key and value names.
  static eval_context iteration_scope(const expr& e, const eval_context& ctx, const value& k,
                                      const value& v) {
    eval_context child;
    child.functions = nullptr;
    child.parent = &ctx;
    if (!e.key_var.empty()) child.variables[e.key_var] = k;
    child.variables[e.val_var] = v;
    return child;
  }

  result for_expr(const expr& e, const eval_context& ctx) {
    auto coll = eval(*e.a, ctx);
    if (!coll) return std::nullopt;
    bool tuple = e.kind == expr_kind::for_tuple;
    value::sequence_t items;
    value::collection_t attrs;
    std::map<std::string, value::sequence_t> groups;
    std::size_t own = node_bytes, deepest = 0;
    bool ok = iterate(*coll, e.a->rng, "'for' expression", [&](const value& k, const value& v) {
      eval_context child = iteration_scope(e, ctx, k, v);
      if (e.c) {
        auto cond = eval(*e.c, child);
        if (!cond) return false;
        if (cond->is_null()) {
          error(e.c->rng, "Condition is null", "The value of the 'if' clause must not be null.");
          return false;
        }
        bool pass;
        if (!to_bool(*cond, pass)) {
          error(e.c->rng, "Invalid 'for' condition",
                "The 'if' clause value is invalid: bool required.");
          return false;
        }
        if (!pass) return true;
      }
      if (tuple) {
        auto val = eval(*e.b, child);
        if (!val) return false;
        deepest = std::max(deepest, result_depth_);
        items.push_back(std::move(*val));
        return true;
      }
      auto key = eval(*e.d, child);
      if (!key) return false;
      if (key->is_null()) {
        error(e.d->rng, "Invalid object key",
              "Key expression in 'for' expression must not produce a null value.");
        return false;
      }
      std::string ks;
      if (!to_string(*key, ks)) {
        error(e.d->rng, "Invalid object key",
              "The key expression produced an invalid result: string required.");
        return false;
      }
      auto val = eval(*e.b, child);
      if (!val) return false;
      deepest = std::max(deepest, result_depth_ + (e.grouped ? 1 : 0));
      if (e.grouped) {
        auto [group, fresh] = groups.try_emplace(ks);
        if (fresh) own += key_bytes(ks) + node_bytes;
        group->second.push_back(std::move(*val));
        return true;
      }
      if (attrs.count(ks) != 0) {
        error(e.d->rng, "Duplicate object key",
              "Two different items produced the key " + quote(ks) +
                  " in this 'for' expression. If duplicates are expected, use the ellipsis (...) "
                  "after the value expression to enable grouping by key.");
        return false;
      }
      own += key_bytes(ks);
      attrs.emplace(ks, std::move(*val));
      return true;
    });
    if (!ok) return std::nullopt;
    if (tuple) return made(value::tuple(std::move(items)), own, deepest + 1, e.rng);
    if (e.grouped)
      for (auto& [k, vs] : groups) attrs.emplace(k, value::tuple(std::move(vs)));
    return made(value::object(std::move(attrs)), own, deepest + 1, e.rng);
  }

  result splat(const expr& e, const eval_context& ctx) {
    auto source = eval(*e.a, ctx);
    if (!source) return std::nullopt;
    if (source->is_null()) return value::tuple({});
    // a single value is treated as a one-element tuple
    value::sequence_t single;
    if (!source->is_sequence()) single.push_back(*source);
    const value::sequence_t& elems = source->is_sequence() ? source->items() : single;
    value::sequence_t out;
    std::size_t deepest = 0;
    for (const auto& elem : elems) {
      eval_context child;
      child.functions = nullptr;
      child.parent = &ctx;
      child.variables[e.name] = elem;
      auto v = eval(*e.b, child);
      if (!v) return std::nullopt;
      deepest = std::max(deepest, result_depth_);
      out.push_back(std::move(*v));
    }
    if (source->flav() == value::flavor::list)
      return made(value::list(std::move(out)), node_bytes, deepest + 1, e.rng);
    return made(value::tuple(std::move(out)), node_bytes, deepest + 1, e.rng);
  }

  // ---- templates --------------------------------------------------------------------------

  result template_expr(const expr& e, const eval_context& ctx) {
    if (e.unwrap && e.items.size() == 1) return eval(*e.items[0], ctx);
    auto s = render(e, ctx);
    if (!s) return std::nullopt;
    return made(value::string(std::move(*s)), node_bytes, 0, e.rng);
  }

  std::optional<std::string> render(const expr& tmpl, const eval_context& ctx) {
    std::string out;
    bool ok = true;
    for (const auto& part : tmpl.items) {
      if (part->kind == expr_kind::literal && part->lit.is_string()) {
        if (!budget_.charge(part->lit.as_string().size(), part->rng)) return std::nullopt;
        out += part->lit.as_string();
        continue;
      }
      auto v = eval(*part, ctx);
      if (!v) {
        ok = false;
        continue;
      }
      if (v->is_null()) {
        error(part->rng, "Invalid template interpolation value",
              "The expression result is null. Cannot include a null value in a string "
              "template.");
        ok = false;
        continue;
      }
      std::string s;
      if (!to_string(*v, s)) {
        error(part->rng, "Invalid template interpolation value",
              "Cannot include the given value in a string template: string required, but have " +
                  v->type_name() + ".");
        ok = false;
        continue;
      }
      if (!budget_.charge(s.size(), part->rng)) return std::nullopt;
      out += s;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<std::string> template_if(const expr& e, const eval_context& ctx) {
    auto c = condition(*e.a, ctx);
    if (!c) return std::nullopt;
    if (*c) return render(*e.b, ctx);
    if (e.c) return render(*e.c, ctx);
    return std::string{};
  }

  std::optional<std::string> template_for(const expr& e, const eval_context& ctx) {
    auto coll = eval(*e.a, ctx);
    if (!coll) return std::nullopt;
    std::string out;
    bool ok = iterate(*coll, e.a->rng, "'for' directive", [&](const value& k, const value& v) {
      eval_context child = iteration_scope(e, ctx, k, v);
      auto s = render(*e.b, child);
      if (!s || !budget_.charge(s->size(), e.rng)) return false;
      out += *s;
      return true;
    });
    if (!ok) return std::nullopt;
    return out;
  }

  diagnostics& diags_;
  budget& budget_;
  int depth_ = 0;
  /// Nesting of the value the last eval() returned (0 for primitives), so constructors know
  /// their own without walking their elements again.
  std::size_t result_depth_ = 0;
};

}  // namespace

std::optional<value> evaluate(const expr& e, const eval_context& ctx, diagnostics& diags) {
  if (budget* b = budget::current()) return evaluator(diags, *b).eval(e, ctx);
  // A standalone evaluation gets a budget of its own, with the default limits.
  budget own;
  budget_scope scope(own);
  auto v = evaluator(diags, own).eval(e, ctx);
  if (const auto& f = own.failure()) diags.add(f->rng, f->summary, f->detail);
  return v;
}

std::optional<std::string> evaluate_string(const expr& e, const eval_context& ctx,
                                           diagnostics& diags) {
  auto v = evaluate(e, ctx, diags);
  if (!v) return std::nullopt;
  std::string s;
  if (v->is_null() || !to_string(*v, s)) {
    diags.add(e.rng, "Incorrect attribute value type",
              "Inappropriate value for attribute: string required" +
                  std::string(v->is_null() ? ", but have null" : "") + ".");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> bare_name(const expr& e) {
  if (e.kind == expr_kind::scope_traversal && e.trav.empty()) return e.name;
  return std::nullopt;
}

}  // namespace pikoci::hcl
