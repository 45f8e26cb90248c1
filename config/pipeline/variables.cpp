// Variable resolution (reference §1.2 and §1.10): overrides > secret > default, type checks,
// secret placeholders whose path/key may reference other variables (dependency order, cycle
// detection, depth ≤ 10).

#include <functional>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "config/pipeline/load_internal.hpp"

namespace pikoci::pipeline::detail {

namespace {

constexpr int max_secret_depth = 10;

const body_schema& variable_schema() {
  static const body_schema s{{{"type", true}, {"default"}},
                             {{"secret", {"secret_type"}, false, true}}};
  return s;
}

const body_schema& secret_schema() {
  static const body_schema s{{{"path"}, {"key", true}}, {}};
  return s;
}

// Every `var.<name>` an expression mentions, so secret paths resolve in dependency order.
void collect_var_refs(const hcl::expr* e, std::set<std::string>& out) {
  if (!e) return;
  if (e->kind == hcl::expr_kind::scope_traversal && e->name == "var" && !e->trav.empty() &&
      e->trav[0].k == hcl::traverser::kind::attr) {
    out.insert(e->trav[0].name);
  }
  for (const auto* child : {e->a.get(), e->b.get(), e->c.get(), e->d.get()})
    collect_var_refs(child, out);
  for (const auto& item : e->items) collect_var_refs(item.get(), out);
  for (const auto& [k, v] : e->pairs) {
    collect_var_refs(k.get(), out);
    collect_var_refs(v.get(), out);
  }
}

hcl::value zero_of(value_type t) {
  switch (t) {
    case value_type::number:
      return hcl::value::number(0);
    case value_type::boolean:
      return hcl::value::boolean(false);
    default:
      return hcl::value::string("");
  }
}

// Safe conversion (cty's): used for defaults and --var strings, which are text by nature.
std::optional<hcl::value> convert(const hcl::value& v, value_type t) {
  switch (t) {
    case value_type::string: {
      auto s = param_string(v);
      if (s) return hcl::value::string(*s);
      return std::nullopt;
    }
    case value_type::number: {
      double n = 0;
      if ((v.is_number() || v.is_string()) && hcl::to_number(v, n)) return hcl::value::number(n);
      return std::nullopt;
    }
    case value_type::boolean: {
      bool b = false;
      if ((v.is_bool() || v.is_string()) && hcl::to_bool(v, b)) return hcl::value::boolean(b);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// A vars-file value must already have the JSON type the variable declares.
bool json_matches(const nlohmann::json& j, value_type t) {
  switch (t) {
    case value_type::string:
      return j.is_string();
    case value_type::number:
      return j.is_number();
    case value_type::boolean:
      return j.is_boolean();
  }
  return false;
}

std::string type_message(const std::string& name, value_type t) {
  return "variable " + quote(name) + " configured with invalid type, expected '" + to_string(t) +
         "'";
}

// One declared variable while resolving: its block and the expressions of its secret.
struct pending {
  variable var;
  const hcl::attribute* path_attr = nullptr;
  const hcl::attribute* key_attr = nullptr;
  enum class state { todo, active, done } st = state::todo;
};

class resolver {
 public:
  resolver(const load_options& opts, hcl::diagnostics& diags) : opts_(opts), diags_(diags) {}

  void declare(const hcl::block& b) {
    hcl::eval_context empty;
    reader r(empty, diags_);
    pending p;
    p.var.name = b.labels[0];
    p.var.rng = b.rng;
    p.var.name_rng = b.label_rngs[0];
    auto blocks = check_body(*b.content, variable_schema(), b.type_rng, diags_);
    if (auto* t = b.content->find_attribute("type")) read_type(*t, p.var.type, r);
    // The default is checked even when an override wins: a wrong default is a latent bug.
    if (const auto* d = b.content->find_attribute("default")) {
      if (auto v = r.value(d)) {
        if (auto conv = convert(*v, p.var.type))
          p.var.default_value = conv;
        else
          diags_.add(d->value->rng, "Invalid variable value", type_message(p.var.name, p.var.type));
      }
    }
    for (const auto* sb : blocks) {
      check_body(*sb->content, secret_schema(), sb->type_rng, diags_);
      p.var.secret = secret_ref{sb->labels[0], {}, {}, sb->rng, sb->label_rngs[0]};
      p.path_attr = sb->content->find_attribute("path");
      p.key_attr = sb->content->find_attribute("key");
    }
    auto [it, fresh] = index_.emplace(p.var.name, order_.size());
    if (!fresh) {
      const auto& first = order_[it->second].var.name_rng.start;
      diags_.add(p.var.name_rng, "Duplicate variable",
                 "A variable named " + quote(p.var.name) + " was already declared at " +
                     std::to_string(first.line) + ":" + std::to_string(first.column) + ".");
      return;
    }
    order_.push_back(std::move(p));
  }

  std::vector<variable> resolve_all() {
    for (std::size_t i = 0; i < order_.size(); ++i) {
      std::vector<std::string> chain;
      resolve(i, 0, chain);
    }
    std::vector<variable> out;
    for (auto& p : order_) out.push_back(std::move(p.var));
    return out;
  }

 private:
  // `type` is a bare keyword; a quoted "string" is accepted too.
  void read_type(const hcl::attribute& a, value_type& out, reader& r) {
    std::optional<std::string> name = hcl::bare_name(*a.value);
    if (!name) {
      hcl::diagnostics ignored;
      hcl::eval_context empty;
      if (auto v = hcl::evaluate(*a.value, empty, ignored); v && v->is_string())
        name = v->as_string();
    }
    if (name == "string")
      out = value_type::string;
    else if (name == "number")
      out = value_type::number;
    else if (name == "bool")
      out = value_type::boolean;
    else
      r.error(a.value->rng, "Invalid variable type",
              "The type must be one of string, number or bool.");
  }

  void resolve(std::size_t i, int depth, std::vector<std::string>& chain) {
    pending& p = order_[i];
    if (p.st == pending::state::done) return;
    if (p.st == pending::state::active) {
      std::string cycle;
      bool in = false;
      for (const auto& n : chain) {
        in = in || n == p.var.name;
        if (in) cycle += n + " -> ";
      }
      diags_.add(p.var.name_rng, "Variable dependency cycle",
                 "variable " + quote(p.var.name) + " depends on itself: " + cycle + p.var.name);
      fail(p);
      return;
    }
    if (depth > max_secret_depth) {
      diags_.add(p.var.name_rng, "Variable dependencies too deep",
                 "variable " + quote(p.var.name) + " is more than " +
                     std::to_string(max_secret_depth) + " secret references deep");
      fail(p);
      return;
    }
    p.st = pending::state::active;
    chain.push_back(p.var.name);
    if (!from_overrides(p) && !from_secret(p, depth, chain) && !from_default(p)) {
      diags_.add(p.var.name_rng, "Missing variable value",
                 "variable " + quote(p.var.name) +
                     " has no value: give it with --var/--vars, a secret block or a default");
      fail(p);
    }
    chain.pop_back();
    p.st = pending::state::done;  // order_ never grows while resolving: `p` stays valid
    vars_[p.var.name] = p.var.value;
  }

  void fail(pending& p) {
    p.var.value = zero_of(p.var.type);
    p.st = pending::state::done;
    vars_[p.var.name] = p.var.value;
  }

  bool from_overrides(pending& p) {
    const auto& name = p.var.name;
    if (auto s = opts_.var_strings.find(name); s != opts_.var_strings.end()) {
      p.var.source = variable_source::override_string;
      set_or_fail(p, convert(hcl::value::string(s->second), p.var.type), p.var.name_rng);
      return true;
    }
    if (opts_.vars.is_object()) {
      if (auto j = opts_.vars.find(name); j != opts_.vars.end()) {
        p.var.source = variable_source::override_json;
        std::optional<hcl::value> v;
        if (json_matches(*j, p.var.type)) v = hcl::from_json(*j);
        set_or_fail(p, v, p.var.name_rng);
        return true;
      }
    }
    return false;
  }

  bool from_secret(pending& p, int depth, std::vector<std::string>& chain) {
    if (!p.var.secret) return false;
    std::set<std::string> deps;
    collect_var_refs(p.path_attr ? p.path_attr->value.get() : nullptr, deps);
    collect_var_refs(p.key_attr ? p.key_attr->value.get() : nullptr, deps);
    for (const auto& d : deps) {
      if (auto it = index_.find(d); it != index_.end()) resolve(it->second, depth + 1, chain);
    }
    hcl::eval_context ctx;
    ctx.variables["var"] = hcl::value::object(vars_);
    reader r(ctx, diags_);
    auto& sec = *p.var.secret;
    sec.path = r.string(p.path_attr).value_or("");
    sec.key = r.string(p.key_attr).value_or("");
    p.var.source = variable_source::secret;
    // The placeholder is always a string; the worker substitutes the fetched text.
    p.var.value =
        hcl::value::string("__pikoci_secret:" + sec.type + ":" + sec.path + ":" + sec.key + "__");
    return true;
  }

  bool from_default(pending& p) {
    if (!p.var.default_value) return false;
    p.var.source = variable_source::default_value;
    p.var.value = *p.var.default_value;
    return true;
  }

  void set_or_fail(pending& p, const std::optional<hcl::value>& v, const hcl::range& rng) {
    if (v) {
      p.var.value = *v;
      return;
    }
    diags_.add(rng, "Invalid variable value", type_message(p.var.name, p.var.type));
    p.var.value = zero_of(p.var.type);
  }

  const load_options& opts_;
  hcl::diagnostics& diags_;
  std::vector<pending> order_;
  std::map<std::string, std::size_t> index_;
  hcl::value::collection_t vars_;
};

}  // namespace

std::vector<variable> resolve_variables(const std::vector<const hcl::block*>& blocks,
                                        const load_options& opts, hcl::diagnostics& diags) {
  resolver res(opts, diags);
  for (const auto* b : blocks) res.declare(*b);
  return res.resolve_all();
}

}  // namespace pikoci::pipeline::detail
