#include "actors/server/resolve.hpp"

#include <algorithm>
#include <set>

namespace pikoci::server {
namespace {

void collect(const std::vector<pipeline::step>& steps, pipeline::step_kind kind,
             std::set<std::string>& seen, std::vector<const pipeline::step*>& out) {
  for (const auto& s : steps) {
    if (s.kind == kind && seen.insert(s.name).second) out.push_back(&s);
    collect(s.steps, kind, seen, out);
    for (const auto& b : s.branches) collect(b.steps, kind, seen, out);
    for (const auto& h : s.hooks) collect(h.steps, kind, seen, out);
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::vector<const pipeline::step*> steps_of_kind(const pipeline::job& job,
                                                 pipeline::step_kind kind) {
  std::set<std::string> seen;
  std::vector<const pipeline::step*> out;
  collect(job.plan, kind, seen, out);
  for (const auto& h : job.hooks) collect(h.steps, kind, seen, out);
  return out;
}

std::vector<const pipeline::step*> get_steps(const pipeline::job& job) {
  return steps_of_kind(job, pipeline::step_kind::get);
}

std::variant<std::vector<model::build_input>, std::string> resolve_inputs(
    const pipeline::job& job, const resolve_context& ctx) {
  std::vector<model::build_input> inputs;
  for (const auto* get : get_steps(job)) {
    std::optional<version_id> id;
    if (auto c = ctx.chosen.find(get->name); c != ctx.chosen.end()) {
      id = c->second;
    } else if (!get->passed_jobs.empty() && !ctx.ignore_passed) {
      id = highest_common_version(get->name, get->passed_jobs, *ctx.usage);
      if (!id) return "no version of \"" + get->canonical + "\" passed " + join(get->passed_jobs);
    } else if (ctx.trigger && ctx.trigger->first == get->canonical) {
      id = ctx.trigger->second;
    } else if (auto p = ctx.pins.find(get->canonical); p != ctx.pins.end()) {
      id = p->second;
    } else if (const auto* latest = ctx.versions->latest(get->canonical)) {
      id = latest->id;
    }
    const version_record* rec = id ? ctx.versions->find(*id) : nullptr;
    if (rec == nullptr) return "no version found for resource \"" + get->canonical + "\"";
    inputs.push_back({get->name, get->canonical, rec->id, rec->version});
  }
  return inputs;
}

std::vector<const pipeline::job*> reachable_jobs(const pipeline::pipeline_config& cfg,
                                                 const std::set<std::string>& direct) {
  std::set<std::string> reached;
  for (const auto& j : cfg.jobs)
    if (direct.count(j.name) != 0) reached.insert(j.name);
  // a fixed point: passed chains are short, and a cycle (refused by validation) still ends
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& j : cfg.jobs) {
      if (reached.count(j.name) != 0) continue;
      for (const auto* g : get_steps(j)) {
        bool from_reached = std::any_of(g->passed_jobs.begin(), g->passed_jobs.end(),
                                        [&](const std::string& p) { return reached.count(p); });
        if (!from_reached) continue;
        reached.insert(j.name);
        grew = true;
        break;
      }
    }
  }
  std::vector<const pipeline::job*> out;
  for (const auto& j : cfg.jobs)
    if (reached.count(j.name) != 0) out.push_back(&j);
  return out;
}

}  // namespace pikoci::server
