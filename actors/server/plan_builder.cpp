#include "actors/server/plan_builder.hpp"

#include <algorithm>
#include <set>

#include "actors/model/notification.hpp"
#include "actors/model/step_protocol.hpp"
#include "config/pipeline/inputs.hpp"

namespace pikoci::server {
namespace {

using pipeline::pipeline_config;
using pipeline::runner_command;

struct plan_error {
  std::string reason;
};

/// Resolves the runner of `cmd` (after a type-level override) into a template plus params.
work::command_spec resolve(const pipeline_config& cfg, const runner_command& cmd,
                           const std::optional<pipeline::runner_override>& type_override) {
  std::string runner = cmd.runner.empty() ? "exec" : cmd.runner;
  work::env_map params(cmd.params.begin(), cmd.params.end());
  std::vector<std::string> args = cmd.args;
  if (type_override) {
    runner = type_override->runner;
    for (const auto& [k, v] : type_override->params) params.emplace(k, v);
    if (args.empty()) args = type_override->args;
  }
  const pipeline::runner_type* rt = cfg.find_runner_type(runner);
  if (rt == nullptr || !rt->run)
    throw plan_error{"runner \"" + runner + "\" is not available on this node"};
  work::command_spec spec;
  auto path = rt->run->params.find("path");
  spec.tmpl.path = path == rt->run->params.end() ? "" : path->second;
  spec.tmpl.args = rt->run->args;
  if (runner == "shell") {
    params.emplace("shell", "/bin/sh");
    // `file` runs a script from the work directory instead of `cmd`
    if (params.count("file") != 0 && params.count("cmd") == 0) {
      // executed directly unless an interpreter is named
      spec.tmpl = cmd.params.count("shell") == 0 ? work::runner_template{"$file", {}}
                                                 : work::runner_template{"$shell", {"$file"}};
      if (!params["file"].empty() && params["file"][0] != '/')
        params["file"] = "./" + params["file"];
    }
  }
  spec.params = std::move(params);
  spec.args = std::move(args);
  return spec;
}

/// What every command of a resource gets: `param_<k>` for the resource params its type declares
/// (reference §1.3: only those), and its cache directory when the resource (or else its type)
/// asks for one: `<team>/<pipeline>/<resource>` below each worker's cache root; commands of the
/// pikoci-node runner also get `PIKOCI_RESOURCE` = `<pipeline>/<resource>`.
void add_resource_env(const pipeline::resource_type& type, const pipeline::resource& res,
                      const std::string& pipeline_name, work::command_spec& cmd) {
  for (const auto& name : type.params) {
    auto it = res.params.find(name);
    if (it != res.params.end()) cmd.params["param_" + name] = it->second;
  }
  if (res.cache.value_or(type.cache)) cmd.cache = "main/" + pipeline_name + "/" + res.canonical;
  // the node's own handlers (the pikoci-node runner) learn which resource they serve: the
  // artifact store is kept per pipeline and resource
  if (cmd.tmpl.path == "$PIKOCI_NODE_BIN")
    cmd.params["PIKOCI_RESOURCE"] = pipeline_name + "/" + res.canonical;
}

struct builder {
  const pipeline_config& cfg;
  const build_request& req;

  const pipeline::resource& resource_of(const pipeline::step& s) const {
    const auto* res = cfg.find_resource(s.canonical);
    if (res == nullptr) throw plan_error{"resource \"" + s.canonical + "\" not found"};
    return *res;
  }
  const pipeline::resource_type& type_of(const pipeline::resource& res) const {
    const auto* t = cfg.find_resource_type(res.type);
    if (t == nullptr) throw plan_error{"resource type \"" + res.type + "\" not found"};
    return *t;
  }

  std::vector<work::hook_plan> hooks(const std::vector<pipeline::hook>& hs,
                                     const std::string& prefix) const {
    std::map<pipeline::hook_kind, int> count;
    for (const auto& h : hs) ++count[h.kind];
    std::map<pipeline::hook_kind, int> seen;
    std::vector<work::hook_plan> out;
    for (const auto& h : hs) {
      work::hook_plan p;
      p.kind = h.kind;
      std::string name = pipeline::to_string(h.kind);
      // several hooks of a kind are numbered: "0:on_success", "1:on_success"
      if (count[h.kind] > 1) name = std::to_string(seen[h.kind]++) + ":" + name;
      p.name = prefix.empty() ? name : prefix + ":" + name;
      if (h.command) p.command = resolve(cfg, *h.command, std::nullopt);
      for (const auto& s : h.steps) p.steps.push_back(step(s));
      out.push_back(std::move(p));
    }
    return out;
  }

  work::step_plan step(const pipeline::step& s) const {
    work::step_plan p;
    p.name = s.name;
    if (s.timeout) p.timeout = std::chrono::duration_cast<work::millis>(*s.timeout);
    p.attempts = s.attempts.value_or(1);
    switch (s.kind) {
      case pipeline::step_kind::get: {
        p.kind = work::step_kind::get;
        const auto& res = resource_of(s);
        const auto& type = type_of(res);
        auto v = req.versions.find(s.name);
        p.version = v == req.versions.end() ? nlohmann::json::object() : v->second;
        if (type.pull) {
          p.command = resolve(cfg, *type.pull, type.runner);
          add_resource_env(type, res, req.pipeline, *p.command);
          for (const auto& [k, val] : work::version_env(p.version)) p.command->params[k] = val;
        }
        break;
      }
      case pipeline::step_kind::put: {
        p.kind = work::step_kind::put;
        const auto& res = resource_of(s);
        const auto& type = type_of(res);
        if (type.push) {
          p.command = resolve(cfg, *type.push, type.runner);
          add_resource_env(type, res, req.pipeline, *p.command);
          for (const auto& [k, val] : s.params) p.command->params["put_" + k] = val;
        }
        break;
      }
      case pipeline::step_kind::task:
        p.kind = work::step_kind::task;
        if (s.run) p.command = resolve(cfg, *s.run, std::nullopt);
        p.inputs = s.inputs;
        p.outputs = s.outputs;
        break;
      case pipeline::step_kind::in_parallel:
        p.kind = work::step_kind::in_parallel;
        p.limit = s.limit;
        p.fail_fast = s.fail_fast;
        for (const auto& child : s.steps) p.children.push_back(step(child));
        break;
      case pipeline::step_kind::notify:
        p.kind = work::step_kind::notify;
        p.command = notify_command(s);
        break;
      case pipeline::step_kind::if_chain:
        p.kind = work::step_kind::if_chain;
        for (const auto& b : s.branches) {
          work::branch_plan bp;
          bp.kind = b.k;
          bp.label = b.label;
          bp.condition = b.condition;
          for (const auto& child : b.steps) bp.steps.push_back(step(child));
          p.branches.push_back(std::move(bp));
        }
        break;
      case pipeline::step_kind::service:  // collected by `service` at the top level only
        throw plan_error{"service \"" + s.name + "\" is only allowed at the top of a job's plan"};
    }
    p.hooks = hooks(s.hooks, s.name);
    return p;
  }

  /// A notify step of a type with a `notify` command: `param_<k>` (the notification's params),
  /// `notify_<k>` (the step's attributes) and `NOTIFY_MESSAGE` (the step's message, else the
  /// notification's, `\n` turned into a newline; the worker expands its $VARs). None for the
  /// built-in kinds: the server's outbox sends those when the step is recorded.
  std::optional<work::command_spec> notify_command(const pipeline::step& s) const {
    const auto* n = cfg.find_notification(s.canonical);
    if (n == nullptr) throw plan_error{"notification \"" + s.canonical + "\" not found"};
    if (!model::delivery_kind(cfg, n->type).empty()) return std::nullopt;
    const auto* type = cfg.find_notification_type(n->type);
    // a loaded pipeline has none without (its source was resolved or refused when it was set)
    if (type == nullptr || !type->notify)
      throw plan_error{"notification type \"" + n->type + "\" has no notify command"};
    auto spec = resolve(cfg, *type->notify, type->runner);
    for (const auto& [k, v] : n->params) spec.params["param_" + k] = v;
    for (const auto& [k, v] : s.params) spec.params["notify_" + k] = v;
    auto message = s.message ? s.message : n->message;
    spec.params["NOTIFY_MESSAGE"] = model::literal_newlines(message.value_or(""));
    return spec;
  }

  /// Automatic dispatch (`on`) of notifications whose type has a `notify` command: job hooks
  /// named `notification:<canonical>` after the job's own (built-in kinds go through the server's
  /// outbox instead). One hook per event, of the hook kind that runs on it; `all` is an `ensure`.
  /// `notify_build_status` is expanded on the worker, like the message.
  void automatic_notifications(const pipeline::job& job, std::vector<work::hook_plan>& out) const {
    for (const auto& n : cfg.notifications) {
      if (n.on.empty() || !model::delivery_kind(cfg, n.type).empty()) continue;
      pipeline::step s;
      s.kind = pipeline::step_kind::notify;
      s.name = n.name;
      s.canonical = n.canonical;
      for (const auto& [event, kind] :
           {std::pair{"success", pipeline::hook_kind::on_success},
            {"failure", pipeline::hook_kind::on_failure}, {"cancel", pipeline::hook_kind::on_cancel},
            {"all", pipeline::hook_kind::ensure}}) {
        bool listed = std::find(n.on.begin(), n.on.end(), event) != n.on.end();
        if (!listed || !model::fires(n, job.name, event == std::string("all") ? "success" : event))
          continue;
        work::hook_plan h;
        h.kind = kind;
        h.name = "notification:" + n.canonical;
        auto cmd = notify_command(s);
        if (!cmd) continue;
        cmd->params["notify_build_status"] = "$BUILD_STATUS";
        work::step_plan p;
        p.kind = work::step_kind::notify;
        p.name = n.name;
        p.command = std::move(cmd);
        h.steps.push_back(std::move(p));
        out.push_back(std::move(h));
      }
    }
  }

  /// A job's `service "<type>" { k = v }`: the type's commands with `param_<k>` from the job.
  work::service_plan service(const pipeline::step& s) const {
    const auto* type = cfg.find_service_type(s.name);
    if (type == nullptr) throw plan_error{"service \"" + s.name + "\" not found in pipeline"};
    if (!type->start) throw plan_error{"service \"" + s.name + "\" has no start command"};
    auto with_params = [&](const pipeline::runner_command& c) {
      auto spec = resolve(cfg, c, type->runner);
      for (const auto& [k, v] : s.params) spec.params["param_" + k] = v;
      return spec;
    };
    work::service_plan p;
    p.name = s.name;
    p.start = with_params(*type->start);
    if (type->ready_check) {
      p.ready = with_params(*type->ready_check);
      if (type->ready_check->interval)
        p.interval = std::chrono::duration_cast<work::millis>(*type->ready_check->interval);
      if (type->ready_check->timeout)
        p.timeout = std::chrono::duration_cast<work::millis>(*type->ready_check->timeout);
    }
    if (type->stop) p.stop = with_params(*type->stop);
    return p;
  }
};

}  // namespace

plan_result make_build_plan(const pipeline_config& cfg, const pipeline::job& job,
                            const build_request& req) {
  work::build_plan plan;
  plan.build_id = req.build_id;
  plan.attempt = req.attempt;
  plan.pipeline = req.pipeline;
  plan.job = job.name;
  plan.number = req.number;
  if (job.timeout) plan.timeout = std::chrono::duration_cast<work::millis>(*job.timeout);
  plan.env = {{"BUILD_NUMBER", req.number},
              {"BUILD_JOB_NAME", job.name},
              {"BUILD_PIPELINE_NAME", req.pipeline},
              {"BUILD_TEAM_NAME", "main"},
              {"BUILD_ID", std::to_string(req.build_id)}};
  for (const auto& in : job.inputs) plan.env["INPUT_" + in.name] = pipeline::default_text(in);
  for (const auto& [k, v] : req.inputs) plan.env["INPUT_" + k] = v;
  try {
    builder b{cfg, req};
    for (const auto& s : job.plan) {
      if (s.kind == pipeline::step_kind::service) {
        plan.services.push_back(b.service(s));
      } else {
        plan.steps.push_back(b.step(s));
      }
    }
    plan.job_hooks = b.hooks(job.hooks, "");
    b.automatic_notifications(job, plan.job_hooks);
  } catch (const plan_error& e) {
    return e.reason;
  }
  plan.secrets = make_secret_plan(cfg, req.pipeline);
  return plan;
}

work::secret_plan make_secret_plan(const pipeline_config& cfg, const std::string& pipeline_name) {
  work::secret_plan out;
  out.pipeline = pipeline_name;
  std::set<std::string> types;
  for (const auto& v : cfg.variables) {
    if (v.source != pipeline::variable_source::secret || !v.secret) continue;
    out.variables.push_back({v.name, v.secret->type, v.secret->path, v.secret->key});
    types.insert(v.secret->type);
  }
  for (const auto& name : types) {
    const auto* t = cfg.find_secret_type(name);
    if (t == nullptr) continue;  // refused by validate; at run time a clear step failure
    work::secret_type_spec spec;
    spec.name = t->name;
    spec.store = t->internal;
    if (t->get) {
      try {
        spec.get = resolve(cfg, *t->get, t->runner);
      } catch (const plan_error&) {
        continue;
      }
      for (const auto& [k, val] : t->config) spec.get->params["param_" + k] = val;
    }
    out.types.push_back(std::move(spec));
  }
  return out;
}

namespace {

bool outbox_notify(const pipeline_config& cfg, const pipeline::step& s) {
  if (s.kind != pipeline::step_kind::notify) return false;
  const auto* n = cfg.find_notification(s.canonical);
  return n != nullptr && !model::delivery_kind(cfg, n->type).empty();
}

/// The hooks of `hs` as plan_builder names them, with the outbox's notify steps of each.
void hook_notifies(const pipeline_config& cfg, const std::vector<pipeline::hook>& hs,
                   const std::string& prefix, const std::string& record_name,
                   std::vector<const pipeline::step*>& out) {
  std::map<pipeline::hook_kind, int> count, seen;
  for (const auto& h : hs) ++count[h.kind];
  for (const auto& h : hs) {
    std::string name = pipeline::to_string(h.kind);
    if (count[h.kind] > 1) name = std::to_string(seen[h.kind]++) + ":" + name;
    if (!prefix.empty()) name = prefix + ":" + name;
    if (name != record_name) continue;
    for (const auto& s : h.steps)
      if (outbox_notify(cfg, s)) out.push_back(&s);
  }
}

void step_notifies(const pipeline_config& cfg, const std::vector<pipeline::step>& steps,
                   const std::string& record_type, const std::string& record_name,
                   std::vector<const pipeline::step*>& out) {
  for (const auto& s : steps) {
    if (record_type == "notify" && s.name == record_name && outbox_notify(cfg, s) && out.empty())
      out.push_back(&s);
    if (record_type == "hook") hook_notifies(cfg, s.hooks, s.name, record_name, out);
    step_notifies(cfg, s.steps, record_type, record_name, out);
    for (const auto& b : s.branches) step_notifies(cfg, b.steps, record_type, record_name, out);
  }
}

}  // namespace

std::vector<const pipeline::step*> outbox_notify_steps(const pipeline_config& cfg,
                                                       const pipeline::job& job,
                                                       const std::string& record_type,
                                                       const std::string& record_name,
                                                       bool job_hook) {
  std::vector<const pipeline::step*> out;
  if (record_type == "hook" && job_hook) {
    hook_notifies(cfg, job.hooks, "", record_name, out);
  } else if (record_type == "notify" || record_type == "hook") {
    step_notifies(cfg, job.plan, record_type, record_name, out);
  }
  return out;
}

std::optional<work::command_spec> make_check_command(const pipeline_config& cfg,
                                                     const std::string& pipeline_name,
                                                     const pipeline::resource& res,
                                                     const nlohmann::json& latest) {
  const auto* type = cfg.find_resource_type(res.type);
  if (type == nullptr || !type->check) return std::nullopt;
  try {
    auto cmd = resolve(cfg, *type->check, type->runner);
    add_resource_env(*type, res, pipeline_name, cmd);
    if (latest.is_object())
      for (const auto& [k, v] : work::version_env(latest)) cmd.params[k] = v;
    return cmd;
  } catch (const plan_error&) {
    return std::nullopt;
  }
}

}  // namespace pikoci::server
