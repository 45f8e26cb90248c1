#include "actors/model/work.hpp"

namespace pikoci::work {
namespace {

using ojson = nlohmann::ordered_json;

ojson to_json(const std::optional<command_spec>& c) {
  return c ? to_json(*c) : ojson(nullptr);
}

ojson to_json(const std::optional<millis>& d) {
  return d ? ojson(static_cast<std::int64_t>(d->count())) : ojson(nullptr);
}

ojson to_json(const step_plan& s);

ojson to_json(const hook_plan& h) {
  ojson o = ojson::object();
  o["kind"] = pipeline::to_string(h.kind);
  o["name"] = h.name;
  o["command"] = to_json(h.command);
  ojson steps = ojson::array();
  for (const auto& s : h.steps) steps.push_back(to_json(s));
  o["steps"] = std::move(steps);
  return o;
}

ojson to_json(const std::vector<hook_plan>& hooks) {
  ojson a = ojson::array();
  for (const auto& h : hooks) a.push_back(to_json(h));
  return a;
}

ojson to_json(const step_plan& s) {
  ojson o = ojson::object();
  o["kind"] = domain::to_string(s.kind);
  o["name"] = s.name;
  o["command"] = to_json(s.command);
  o["timeout_ms"] = to_json(s.timeout);
  o["attempts"] = s.attempts;
  o["inputs"] = s.inputs;
  o["outputs"] = s.outputs;
  o["version"] = ojson(s.version);
  o["hooks"] = to_json(s.hooks);
  ojson children = ojson::array();
  for (const auto& c : s.children) children.push_back(to_json(c));
  o["children"] = std::move(children);
  o["limit"] = s.limit;
  o["fail_fast"] = s.fail_fast;
  ojson branches = ojson::array();
  for (const auto& b : s.branches) {
    ojson j = ojson::object();
    j["kind"] = to_string(b.kind);
    j["label"] = b.label;
    j["condition"] = b.condition;
    ojson steps = ojson::array();
    for (const auto& c : b.steps) steps.push_back(to_json(c));
    j["steps"] = std::move(steps);
    branches.push_back(std::move(j));
  }
  o["branches"] = std::move(branches);
  return o;
}

ojson to_json(const service_plan& s) {
  ojson o = ojson::object();
  o["name"] = s.name;
  o["start"] = to_json(s.start);
  o["ready"] = to_json(s.ready);
  o["interval_ms"] = static_cast<std::int64_t>(s.interval.count());
  o["timeout_ms"] = static_cast<std::int64_t>(s.timeout.count());
  o["stop"] = to_json(s.stop);
  return o;
}

}  // namespace

const char* to_string(branch_kind k) {
  switch (k) {
    case branch_kind::if_:
      return "if";
    case branch_kind::else_if:
      return "else_if";
    case branch_kind::else_:
      return "else";
  }
  return "if";
}

std::optional<branch_kind> parse_branch_kind(std::string_view text) {
  for (auto k : {branch_kind::if_, branch_kind::else_if, branch_kind::else_})
    if (text == to_string(k)) return k;
  return std::nullopt;
}

nlohmann::ordered_json to_json(const command_spec& c) {
  ojson t = ojson::object();
  t["path"] = c.tmpl.path;
  t["args"] = c.tmpl.args;
  ojson o = ojson::object();
  o["tmpl"] = std::move(t);
  o["params"] = c.params;
  o["args"] = c.args;
  if (!c.cache.empty()) o["cache"] = c.cache;
  return o;
}

nlohmann::ordered_json to_json(const secret_plan& p) {
  using ojson = nlohmann::ordered_json;
  ojson o = ojson::object();
  o["pipeline"] = p.pipeline;
  ojson vars = ojson::array();
  for (const auto& v : p.variables)
    vars.push_back({{"name", v.name}, {"type", v.type}, {"path", v.path}, {"key", v.key}});
  o["variables"] = std::move(vars);
  ojson types = ojson::array();
  for (const auto& t : p.types) {
    ojson j = ojson::object();
    j["name"] = t.name;
    j["store"] = t.store;
    j["get"] = t.get ? to_json(*t.get) : ojson(nullptr);
    types.push_back(std::move(j));
  }
  o["types"] = std::move(types);
  return o;
}

nlohmann::ordered_json to_json(const build_plan& p) {
  ojson o = ojson::object();
  o["build_id"] = p.build_id;
  o["attempt"] = p.attempt;
  o["pipeline"] = p.pipeline;
  o["job"] = p.job;
  o["number"] = p.number;
  ojson services = ojson::array();
  for (const auto& s : p.services) services.push_back(to_json(s));
  o["services"] = std::move(services);
  ojson steps = ojson::array();
  for (const auto& s : p.steps) steps.push_back(to_json(s));
  o["steps"] = std::move(steps);
  o["job_hooks"] = to_json(p.job_hooks);
  o["timeout_ms"] = to_json(p.timeout);
  o["env"] = p.env;
  if (!p.secrets.empty()) o["secrets"] = to_json(p.secrets);
  return o;
}

}  // namespace pikoci::work
