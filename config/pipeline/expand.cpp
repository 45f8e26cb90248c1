// for_each / matrix expansion of jobs (reference §1.9): one job per key, named
// `<job>--<slug(key)>`, sorted by key, with `each.key` / `each.value`.

#include <algorithm>
#include <map>

#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/names.hpp"

namespace pikoci::pipeline::detail {

namespace {

const body_schema matrix_schema{{}, {}, true};

/// "A job's for_each/matrix may give at most N instances; this one gives M."
void too_many(reader& r, const hcl::range& where, std::size_t max, const std::string& count) {
  r.error(where, "Too many job instances",
          "A job's for_each or matrix may give at most " + std::to_string(max) +
              " instances; this one gives " + count + ".");
}

std::vector<job_instance> for_each_instances(const hcl::attribute& fe, reader& r,
                                             std::size_t max) {
  auto v = hcl::evaluate(*fe.value, r.context(), r.diags());
  if (!v) return {};
  if (v->size() > max) {
    too_many(r, fe.value->rng, max, std::to_string(v->size()));
    return {};
  }
  std::vector<job_instance> out;
  if (v->is_set()) {
    for (const auto& item : v->items()) {
      auto key = param_string(item);
      if (!key) {
        r.error(fe.value->rng, "Invalid for_each argument",
                "The elements of a for_each set must be strings, not " + item.type_name() + ".");
        return {};
      }
      // Terraform's rule: for a set, each.value is each.key.
      out.push_back({{}, true, *key, hcl::value::string(*key)});
    }
    return out;
  }
  if (v->is_collection()) {
    for (const auto& [key, value] : v->attrs()) out.push_back({{}, true, key, value});
    return out;
  }
  std::string hint = v->is_sequence() ? "; convert a list with toset([...])" : "";
  r.error(
      fe.value->rng, "Invalid for_each argument",
      "The for_each value must be a set of strings or a map, not " + v->type_name() + hint + ".");
  return {};
}

std::vector<job_instance> matrix_instances(const hcl::block& m, reader& r, std::size_t max) {
  check_body(*m.content, matrix_schema, m.type_rng, r.diags());
  // Axes sorted by name: attributes keep source order, a map sorts them.
  std::map<std::string, std::vector<hcl::value>> axes;
  bool ok = true;
  for (const auto& a : m.content->attributes) {
    auto v = r.value(&a);
    bool good = v && v->is_sequence() && v->size() > 0;
    for (std::size_t i = 0; good && i < v->items().size(); ++i) good = v->items()[i].is_primitive();
    if (!good) {
      r.error(
          a.value->rng, "Invalid matrix axis",
          "The axis " + quote(a.name) + " must be a non-empty list of strings, numbers or bools.");
      ok = false;
      continue;
    }
    axes[a.name] = v->items();
  }
  if (!ok) return {};
  if (axes.empty()) {
    r.error(m.type_rng, "Empty matrix", "A matrix block needs at least one axis.");
    return {};
  }
  std::size_t product = 1;  // counted before anything is built: axes multiply
  for (const auto& [axis, values] : axes) {
    if (values.size() > max || (product *= values.size()) > max) {
      too_many(r, m.type_rng, max, "more than " + std::to_string(max));
      return {};
    }
  }
  // Cartesian product in axis order; the last axis varies fastest.
  std::vector<job_instance> out{{{}, true, {}, hcl::value::object({})}};
  for (const auto& [axis, values] : axes) {
    std::vector<job_instance> next;
    for (const auto& inst : out) {
      for (const auto& val : values) {
        auto attrs = inst.value.attrs();
        attrs[axis] = val;
        std::string part = make_slug(param_string(val).value_or(""));
        std::string key = inst.key.empty() ? part : inst.key + "-" + part;
        next.push_back({{}, true, key, hcl::value::object(std::move(attrs))});
      }
    }
    out = std::move(next);
  }
  return out;
}

}  // namespace

std::vector<job_instance> expand_job(const hcl::block& job, reader& r,
                                     std::size_t max_instances) {
  const auto& body = *job.content;
  const std::string& base = job.labels[0];
  const auto* fe = body.find_attribute("for_each");
  const hcl::block* matrix = nullptr;
  for (const auto& b : body.blocks)
    if (b.type == "matrix" && b.labels.empty() && !matrix) matrix = &b;
  if (!fe && !matrix) return {job_instance{base, false, {}, {}}};
  if (fe && matrix) {
    r.error(matrix->type_rng, "Conflicting arguments",
            "A job cannot have both \"for_each\" and a \"matrix\" block.");
    return {};
  }
  const hcl::range where = fe ? fe->value->rng : matrix->type_rng;
  auto out = fe ? for_each_instances(*fe, r, max_instances)
                : matrix_instances(*matrix, r, max_instances);
  std::stable_sort(out.begin(), out.end(),
                   [](const job_instance& a, const job_instance& b) { return a.key < b.key; });
  std::map<std::string, std::string> seen;  // name → key that produced it
  std::vector<job_instance> unique;
  for (auto& inst : out) {
    std::string slug = make_slug(inst.key);
    if (slug.empty()) {
      r.error(where, "Invalid for_each key",
              "The key " + quote(inst.key) + " has no letters or digits, so it cannot name a job.");
      continue;
    }
    inst.name = base + "--" + slug;
    if (inst.name.size() > max_name_length) {
      r.error(where, "Invalid job name",
              "The key " + quote(inst.key) + " gives the job name " + quote(inst.name) +
                  ", longer than " + std::to_string(max_name_length) + " characters.");
      continue;
    }
    auto [it, fresh] = seen.emplace(inst.name, inst.key);
    if (!fresh) {
      r.error(where, "Duplicate job name",
              "The keys " + quote(it->second) + " and " + quote(inst.key) +
                  " both give the job name " + quote(inst.name) + ".");
      continue;
    }
    unique.push_back(std::move(inst));
  }
  return unique;
}

}  // namespace pikoci::pipeline::detail
