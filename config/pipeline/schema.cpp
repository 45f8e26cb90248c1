// The one routine that checks a block body against its schema table, and typed attribute
// reading. Messages follow hcl/gohcl's wording so users coming from PikoCI recognise them.

#include <cmath>
#include <limits>
#include <map>

#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/names.hpp"

namespace pikoci::pipeline::detail {

namespace {

std::string at(const hcl::range& r) {
  return std::to_string(r.start.line) + ":" + std::to_string(r.start.column);
}

std::string did_you_mean(const std::string& given, const std::vector<std::string>& candidates) {
  auto s = suggest(given, candidates);
  return s ? " Did you mean " + quote(*s) + "?" : std::string{};
}

std::string label_list(const block_spec& spec) {
  std::string out;
  for (const char* l : spec.labels) out += (out.empty() ? "" : ", ") + std::string(l);
  return out;
}

// Label count: hcl's "Missing <label> for <type>" / "Extraneous label for <type>".
bool check_labels(const hcl::block& b, const block_spec& spec, hcl::diagnostics& diags) {
  std::size_t want = spec.labels.size();
  std::size_t got = b.labels.size();
  if (got == want || (spec.label_optional && got == 0)) return true;
  if (got < want) {
    diags.add(b.type_rng, "Missing " + std::string(spec.labels[got]) + " for " + b.type,
              "All " + b.type + " blocks must have " + std::to_string(want) + " labels (" +
                  label_list(spec) + ").");
  } else if (want == 0) {
    diags.add(b.label_rngs[0], "Extraneous label for " + b.type,
              "No labels are expected for " + b.type + " blocks.");
  } else {
    diags.add(b.label_rngs[want], "Extraneous label for " + b.type,
              "Only " + std::to_string(want) + " labels (" + label_list(spec) +
                  ") are expected for " + b.type + " blocks.");
  }
  return false;
}

}  // namespace

std::vector<const hcl::block*> check_body(const hcl::body& body, const body_schema& schema,
                                          const hcl::range& owner, hcl::diagnostics& diags) {
  std::vector<std::string> attr_names, block_names;
  for (const auto& a : schema.attributes) attr_names.emplace_back(a.name);
  for (const auto& b : schema.blocks) block_names.emplace_back(b.type);

  for (const auto& a : body.attributes) {
    bool known = false;
    for (const auto& n : attr_names) known = known || n == a.name;
    if (known) continue;
    if (!schema.open) {
      diags.add(a.name_rng, "Unsupported argument",
                "An argument named " + quote(a.name) + " is not expected here." +
                    did_you_mean(a.name, attr_names));
    } else if (auto s = suggest(a.name, attr_names)) {
      diags.add(a.name_rng, "Unsupported argument",
                "An argument named " + quote(a.name) + " is not expected here. Did you mean " +
                    quote(*s) + "?");
    }
  }
  for (const auto& spec : schema.attributes) {
    if (spec.required && !body.find_attribute(spec.name)) {
      diags.add(owner, "Missing required argument",
                "The argument " + quote(spec.name) + " is required, but no definition was found.");
    }
  }

  std::vector<const hcl::block*> accepted;
  std::map<std::string, const hcl::block*> first_of;
  for (const auto& b : body.blocks) {
    const block_spec* spec = nullptr;
    for (const auto& s : schema.blocks)
      if (b.type == s.type) spec = &s;
    if (!spec) {
      diags.add(b.type_rng, "Unsupported block type",
                "Blocks of type " + quote(b.type) + " are not expected here." +
                    did_you_mean(b.type, block_names));
      continue;
    }
    if (spec->forbidden) {
      diags.add(b.type_rng, "Invalid " + b.type + " block", spec->forbidden);
      continue;
    }
    if (!check_labels(b, *spec, diags)) continue;
    auto [it, fresh] = first_of.emplace(b.type, &b);
    if (!fresh && spec->single) {
      diags.add(b.type_rng, "Duplicate " + b.type + " block",
                "Only one " + quote(b.type) + " block is allowed here; another was defined at " +
                    at(it->second->type_rng) + ".");
      continue;
    }
    accepted.push_back(&b);
  }
  for (const auto& spec : schema.blocks) {
    if (spec.required && !first_of.count(spec.type)) {
      diags.add(owner, "Missing " + std::string(spec.type) + " block",
                "A " + quote(spec.type) + " block is required here.");
    }
  }
  return accepted;
}

// ---- reader

void reader::type_error(const hcl::attribute& a, const std::string& what) {
  diags_.add(a.value->rng, "Incorrect attribute value type",
             "Inappropriate value for attribute " + quote(a.name) + ": " + what + " required.");
}

std::optional<hcl::value> reader::value(const hcl::attribute* a) {
  if (!a) return std::nullopt;
  auto v = hcl::evaluate(*a->value, ctx_, diags_);
  if (!v || v->is_null()) return std::nullopt;
  return v;
}

std::optional<std::string> param_string(const hcl::value& v) {
  std::string out;
  if (!v.is_primitive() || !hcl::to_string(v, out)) return std::nullopt;
  return out;
}

std::optional<std::string> reader::string(const hcl::attribute* a) {
  auto v = value(a);
  if (!v) return std::nullopt;
  if (auto s = param_string(*v)) return s;
  type_error(*a, "string");
  return std::nullopt;
}

std::optional<bool> reader::boolean(const hcl::attribute* a) {
  auto v = value(a);
  if (!v) return std::nullopt;
  bool b = false;
  if ((v->is_bool() || v->is_string()) && hcl::to_bool(*v, b)) return b;
  type_error(*a, "bool");
  return std::nullopt;
}

std::optional<int> reader::integer(const hcl::attribute* a) {
  auto v = value(a);
  if (!v) return std::nullopt;
  double n = 0;
  if ((!v->is_number() && !v->is_string()) || !hcl::to_number(*v, n)) {
    type_error(*a, "number");
    return std::nullopt;
  }
  if (n != std::floor(n) || std::fabs(n) > std::numeric_limits<int>::max()) {
    type_error(*a, "whole number");
    return std::nullopt;
  }
  return static_cast<int>(n);
}

std::optional<std::vector<std::string>> reader::strings(const hcl::attribute* a) {
  auto v = value(a);
  if (!v) return std::nullopt;
  if (v->is_sequence()) {
    std::vector<std::string> out;
    for (const auto& item : v->items()) {
      auto s = param_string(item);
      if (!s) break;
      out.push_back(*s);
    }
    if (out.size() == v->items().size()) return out;
  }
  type_error(*a, "list of string");
  return std::nullopt;
}

std::optional<duration> reader::duration_of(const hcl::attribute* a) {
  auto s = string(a);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d || d->count() < 0) {
    error(a->value->rng, "Invalid duration",
          quote(*s) + " for " + quote(a->name) +
              " is not a valid duration; use a Go duration such as \"30s\", \"5m\" or \"1h30m\".");
    return std::nullopt;
  }
  return d;
}

}  // namespace pikoci::pipeline::detail
