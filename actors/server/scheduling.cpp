#include "actors/server/scheduling.hpp"

#include <utility>

#include "config/pipeline/inputs.hpp"

namespace pikoci::server {
namespace {

using nlohmann::json;

json resource_trigger(const std::string& canonical, version_id v) {
  return {{"type", domain::to_string(domain::trigger_type::resource)}, {"resource", canonical}, {"version_id", v}};
}

/// The build of `job` triggered by version `v` of `canonical` (reference §5.3.1), or the reason
/// a get has no version.
void trigger_one(const schedule_inputs& in, const pipeline::job& job, const std::string& canonical,
                 version_id v, resource_triggers& out) {
  out.tried.push_back(job.name);
  auto rc = in.resolution();
  rc.trigger = {canonical, v};
  auto inputs = resolve_inputs(job, rc);
  if (auto* why = std::get_if<std::string>(&inputs)) {
    out.skipped.push_back({job.name, std::move(*why)});
    return;
  }
  out.builds.push_back(
      {&job, resource_trigger(canonical, v), std::get<0>(std::move(inputs)), {}});
}

std::optional<version_id> pin_of(const schedule_inputs& in, const std::string& canonical) {
  auto it = in.pins.find(canonical);
  if (it == in.pins.end()) return std::nullopt;
  return it->second;
}

}  // namespace

bool schedule_inputs::job_paused(const std::string& job) const {
  auto it = jobs.find(job);
  return paused || (it != jobs.end() && it->second.paused);
}

resolve_context schedule_inputs::resolution() const {
  resolve_context rc;
  rc.versions = versions;
  rc.pins = pins;
  rc.usage = usage;
  rc.ignore_passed = ignore_passed;
  return rc;
}

bool triggered_by(const pipeline::job& job, const std::string& canonical) {
  for (const auto* g : get_steps(job))
    if (g->canonical == canonical && g->trigger && g->passed_jobs.empty()) return true;
  return false;
}

resource_triggers version_triggers(const schedule_inputs& in, const std::string& canonical,
                                   version_id v) {
  resource_triggers out;
  if (pin_of(in, canonical).value_or(v) != v) return out;
  for (const auto& job : in.cfg->jobs) {
    if (!triggered_by(job, canonical) || in.job_paused(job.name) ||
        v <= in.jobs.at(job.name).baseline)
      continue;
    trigger_one(in, job, canonical, v, out);
  }
  return out;
}

resource_triggers retry_refused(const schedule_inputs& in, const std::string& canonical) {
  resource_triggers out;
  auto pin = pin_of(in, canonical);
  const auto* latest = in.versions->latest(canonical);
  for (const auto& job : in.cfg->jobs) {
    const auto& gate = in.jobs.at(job.name);
    if (gate.retry_resources.count(canonical) == 0 || in.job_paused(job.name)) continue;
    auto v = pin.value_or(latest ? latest->id : 0);
    if (v > gate.baseline && triggered_by(job, canonical)) trigger_one(in, job, canonical, v, out);
  }
  return out;
}

passed_decision evaluate_passed(const schedule_inputs& in, const pipeline::job& job) {
  passed_decision out;
  out.job = &job;
  // one pending build at a time; it takes the newest when it runs
  if (in.job_paused(job.name) || in.usage->has_pending(job.name)) return out;
  out.considered = true;
  const auto& gate = in.jobs.at(job.name);
  auto rc = in.resolution();
  json trigger;
  for (const auto* g : get_steps(job)) {
    if (g->passed_jobs.empty() || !g->trigger) continue;
    passed_query q{g->name, g->canonical, g->passed_jobs, gate.baseline, pin_of(in, g->canonical)};
    auto id = ready_version(q, job.name, *in.usage, *in.versions);
    if (!id) return out;
    rc.chosen[g->name] = *id;
    if (trigger.is_null())
      trigger = {{"type", domain::to_string(domain::trigger_type::passed)}, {"resource", g->canonical}, {"version_id", *id}};
  }
  if (trigger.is_null()) return out;
  auto inputs = resolve_inputs(job, rc);
  if (auto* why = std::get_if<std::string>(&inputs)) {
    out.no_version = std::move(*why);
    return out;
  }
  out.build = planned_build{&job, std::move(trigger), std::get<0>(std::move(inputs)), {}};
  return out;
}

std::vector<passed_decision> evaluate_downstream(const schedule_inputs& in,
                                                 const std::string& upstream) {
  std::vector<passed_decision> out;
  for (const auto& job : in.cfg->jobs) {
    bool involved = false;
    for (const auto* g : get_steps(job))
      if (g->trigger)
        for (const auto& p : g->passed_jobs) involved = involved || p == upstream;
    if (involved) out.push_back(evaluate_passed(in, job));
  }
  return out;
}

std::vector<passed_decision> retry_passed(const schedule_inputs& in) {
  std::vector<passed_decision> out;
  for (const auto& job : in.cfg->jobs) {
    auto it = in.jobs.find(job.name);
    if (it != in.jobs.end() && it->second.retry_passed) out.push_back(evaluate_passed(in, job));
  }
  return out;
}

std::variant<planned_build, domain::error> manual_trigger(
    const schedule_inputs& in, const std::string& name,
    const std::map<std::string, std::string>& values) {
  using domain::errc;
  const auto* job = in.cfg->find_job(name);
  if (job == nullptr) return domain::error{errc::not_found, "job \"" + name + "\" not found"};
  if (in.job_paused(name))
    return domain::error{errc::conflict, in.paused ? "pipeline \"" + in.pipeline + "\" is paused"
                                                   : "job \"" + name + "\" is paused"};
  auto checked = pipeline::trigger_values(*job, values);
  if (auto* why = std::get_if<std::string>(&checked))
    return domain::error{errc::bad_request, std::move(*why)};
  auto inputs = resolve_inputs(*job, in.resolution());
  if (auto* why = std::get_if<std::string>(&inputs))
    return domain::error{errc::conflict, std::move(*why)};
  return planned_build{job, {{"type", domain::to_string(domain::trigger_type::manual)}},
                       std::get<0>(std::move(inputs)), std::get<0>(std::move(checked))};
}

version_trigger trigger_version(const schedule_inputs& in, const std::string& canonical,
                                version_id v) {
  version_trigger out;
  auto rc = in.resolution();
  rc.trigger = {canonical, v};
  for (const auto& job : in.cfg->jobs) {
    bool consumer = false;
    for (const auto* g : get_steps(job))
      consumer = consumer || (g->canonical == canonical && g->passed_jobs.empty());
    if (!consumer) continue;
    auto inputs = resolve_inputs(job, rc);
    if (auto* why = std::get_if<std::string>(&inputs)) {
      out.refused = domain::error{domain::errc::conflict, std::move(*why)};
      continue;
    }
    out.builds.push_back({&job,
                          {{"type", domain::to_string(domain::trigger_type::version)}, {"resource", canonical}, {"version_id", v}},
                          std::get<0>(std::move(inputs)),
                          {}});
  }
  return out;
}

std::vector<unpinned_build> cancel_unpinned(const schedule_inputs& in, const std::string& canonical,
                                            version_id pin) {
  std::vector<unpinned_build> out;
  for (const auto& [id, u] : in.usage->builds()) {
    if (!u.pending) continue;
    const auto* job = in.cfg->find_job(u.job);
    if (job == nullptr) continue;
    bool other = false;
    for (const auto* g : get_steps(*job)) {
      auto used = u.gets.find(g->name);
      other = other || (g->canonical == canonical && used != u.gets.end() && used->second != pin);
    }
    if (other) out.push_back({id, u.job});
  }
  return out;
}

}  // namespace pikoci::server
