// Whole-pipeline rules (reference §1.1): duplicate names, for_each collisions and every
// cross-reference, all reported together. Also expands `passed` and notification job lists.

#include <algorithm>
#include <map>
#include <set>

#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/names.hpp"

namespace pikoci::pipeline::detail {

namespace {

std::string at(const hcl::range& r) {
  return std::to_string(r.start.line) + ":" + std::to_string(r.start.column);
}

// A set of known names of one kind, reporting unknown references with a suggestion.
class known_names {
 public:
  known_names(std::string kind, hcl::diagnostics& diags) : kind_(std::move(kind)), diags_(diags) {}

  void add(const std::string& name) {
    if (names_.insert(name).second) list_.push_back(name);
  }
  bool has(const std::string& name) const { return names_.count(name) > 0; }

  // `who` says where the reference is ("resource \"x.y\"", "task \"build\"").
  void require(const std::string& name, const hcl::range& rng, const std::string& who) {
    if (has(name)) return;
    auto hint = suggest(name, list_);
    diags_.add(rng, "Unknown " + kind_,
               who + " refers to the " + kind_ + " " + quote(name) + ", which is not defined." +
                   (hint ? " Did you mean " + quote(*hint) + "?" : std::string{}));
  }

 private:
  std::string kind_;
  hcl::diagnostics& diags_;
  std::set<std::string> names_;
  std::vector<std::string> list_;
};

// Reports the second and later definitions of a name (built-ins never count).
template <class T, class Name>
void no_duplicates(const std::vector<T>& items, const std::string& kind, Name name_of,
                   hcl::diagnostics& diags) {
  std::map<std::string, const T*> first;
  for (const auto& item : items) {
    if constexpr (std::is_same_v<T, resource_type> || std::is_same_v<T, runner_type> ||
                  std::is_same_v<T, secret_type>) {
      if (item.builtin) continue;
    }
    auto [it, fresh] = first.emplace(name_of(item), &item);
    if (fresh) continue;
    diags.add(item.name_rng, "Duplicate " + kind,
              "A " + kind + " named " + quote(name_of(item)) + " was already defined at " +
                  at(it->second->name_rng) + ".");
  }
}

class validator {
 public:
  validator(pipeline_config& cfg, hcl::diagnostics& diags)
      : cfg_(cfg),
        diags_(diags),
        resource_types_("resource_type", diags),
        resources_("resource", diags),
        runners_("runner", diags),
        secret_types_("secret_type", diags),
        service_types_("service_type", diags),
        notification_types_("notification_type", diags),
        notifications_("notification", diags),
        jobs_("job", diags) {}

  void run() {
    duplicates();
    collect();
    for (const auto& v : cfg_.variables) {
      if (v.secret)
        secret_types_.require(v.secret->type, v.secret->type_rng, "variable " + quote(v.name));
    }
    for (const auto& r : cfg_.resources)
      resource_types_.require(r.type, r.type_rng, "resource " + quote(r.canonical));
    for (auto& t : cfg_.resource_types) {
      commands("resource_type " + quote(t.name), {&t.check, &t.pull, &t.push}, t.runner);
    }
    for (auto& t : cfg_.secret_types) {
      commands("secret_type " + quote(t.name), {&t.get}, t.runner);
      // a source resolved later (http) brings its command; otherwise nothing could fetch
      if (!t.get && !t.internal && !t.source)
        diags_.add(t.name_rng, "Secret type without a get command",
                   "secret_type " + quote(t.name) +
                       " has neither a get command nor a source: nothing can fetch its secrets");
    }
    for (auto& t : cfg_.service_types) {
      commands("service_type " + quote(t.name), {&t.start, &t.ready_check, &t.stop}, t.runner);
    }
    for (auto& t : cfg_.notification_types)
      commands("notification_type " + quote(t.name), {&t.notify}, t.runner);
    for (auto& n : cfg_.notifications) {
      std::string who = "notification " + quote(n.canonical);
      notification_types_.require(n.type, n.type_rng, who);
      server_sent_secrets(n, who);
      n.jobs_expanded = job_list(n.jobs, n.jobs_rng, who);
      n.exclude_expanded = job_list(n.exclude, n.exclude_rng, who);
    }
    for (auto& j : cfg_.jobs) {
      std::string who = "job " + quote(j.name);
      steps(j.plan, who);
      hooks(j.hooks, who);
      steps(j.on_trigger, who);
      if (j.approve) {
        steps(j.approve->notify, who);
        gate_notifies(*j.approve, who);
      }
    }
  }

 private:
  /// An approval gate's notify steps are sent by the server when a build starts waiting: a type
  /// whose notify command runs on a worker cannot be sent there.
  void gate_notifies(const approval& a, const std::string& who) {
    for (const auto& s : a.notify) {
      const auto* n = cfg_.find_notification(s.canonical);
      const auto* t = n != nullptr ? cfg_.find_notification_type(n->type) : nullptr;
      if (t == nullptr || !t->delivery.empty() || (t->source && !t->source_resolved)) continue;
      diags_.add(s.type_rng, "Approval notify of a command type",
                 who + ": approve " + quote(a.label) + " notifies " + quote(s.canonical) +
                     ", of type " + quote(t->name) +
                     ", which a notify command sends from a worker; an approval gate's "
                     "notifications are sent by the server: use an http, slack or discord type");
    }
  }

  /// Built-in http/slack/discord notifications are sent by the server, which never resolves
  /// secrets (workers do, where commands run): a secret-backed param or message is refused.
  void server_sent_secrets(const notification& n, const std::string& who) {
    const auto* t = cfg_.find_notification_type(n.type);
    if (t == nullptr || t->delivery.empty()) return;
    auto secret = [](const std::string& s) {
      return s.find("__pikoci_secret:") != std::string::npos;
    };
    std::string what;
    for (const auto& [k, v] : n.params)
      if (what.empty() && secret(v)) what = "param " + quote(k);
    if (what.empty() && n.message && secret(*n.message)) what = "message";
    if (what.empty()) return;
    diags_.add(n.rng, "Secret in a server-sent notification",
               who + ": its " + what + " uses a secret-backed variable, but the built-in " +
                   quote(t->delivery) +
                   " type is sent by the server, which does not resolve secrets; use a "
                   "notification_type with a notify command (run by a worker) instead");
  }

  void duplicates() {
    auto name = [](const auto& x) { return x.name; };
    auto canonical = [](const auto& x) { return x.canonical; };
    no_duplicates(cfg_.resource_types, "resource_type", name, diags_);
    no_duplicates(cfg_.resources, "resource", canonical, diags_);
    no_duplicates(cfg_.runner_types, "runner_type", name, diags_);
    no_duplicates(cfg_.secret_types, "secret_type", name, diags_);
    no_duplicates(cfg_.service_types, "service_type", name, diags_);
    no_duplicates(cfg_.notification_types, "notification_type", name, diags_);
    no_duplicates(cfg_.notifications, "notification", canonical, diags_);
    // Jobs: explicit duplicates, and explicit jobs shadowing a for_each/matrix instance.
    std::map<std::string, const job*> explicit_jobs, instances;
    for (const auto& j : cfg_.jobs) {
      auto& table = j.group ? instances : explicit_jobs;
      auto [it, fresh] = table.emplace(j.name, &j);
      if (!fresh && !j.group) {
        diags_.add(j.name_rng, "Duplicate job",
                   "A job named " + quote(j.name) + " was already defined at " +
                       at(it->second->name_rng) + ".");
      }
    }
    for (const auto& [name, inst] : instances) {
      auto it = explicit_jobs.find(name);
      if (it == explicit_jobs.end()) continue;
      diags_.add(it->second->name_rng, "Duplicate job",
                 "The job " + quote(name) + " collides with an instance of the job " +
                     quote(*inst->group) + " (at " + at(inst->name_rng) + ").");
    }
  }

  void collect() {
    for (const auto& t : cfg_.resource_types) resource_types_.add(t.name);
    for (const auto& r : cfg_.resources) resources_.add(r.canonical);
    for (const auto& t : cfg_.runner_types) runners_.add(t.name);
    for (const auto& t : cfg_.secret_types) secret_types_.add(t.name);
    for (const auto& t : cfg_.service_types) service_types_.add(t.name);
    for (const auto& t : cfg_.notification_types) notification_types_.add(t.name);
    for (const auto& n : cfg_.notifications) notifications_.add(n.canonical);
    for (const auto& j : cfg_.jobs) jobs_.add(j.name);
    for (const auto& [group, members] : cfg_.job_groups) jobs_.add(group);
  }

  void commands(const std::string& who, const std::vector<std::optional<runner_command>*>& cmds,
                const std::optional<runner_override>& ov) {
    for (const auto* c : cmds)
      if (*c) runners_.require((*c)->runner, (*c)->runner_rng, who);
    if (ov) runners_.require(ov->runner, ov->runner_rng, who);
  }

  // Job names or for_each groups, groups expanded to their instances.
  std::vector<std::string> job_list(const std::vector<std::string>& names, const hcl::range& rng,
                                    const std::string& who) {
    std::vector<std::string> out;
    auto add = [&out](const std::string& job) {
      if (std::find(out.begin(), out.end(), job) == out.end()) out.push_back(job);
    };
    for (const auto& n : names) {
      jobs_.require(n, rng, who);
      if (auto g = cfg_.job_groups.find(n); g != cfg_.job_groups.end())
        for (const auto& member : g->second) add(member);
      else
        add(n);
    }
    return out;
  }

  void hooks(std::vector<hook>& hs, const std::string& who) {
    for (auto& h : hs) {
      std::string what = std::string(to_string(h.kind)) + " hook of " + who;
      if (h.command) runners_.require(h.command->runner, h.command->runner_rng, what);
      steps(h.steps, what);
    }
  }

  /// A put of the built-in artifact type stores `dir`: without it every run would fail.
  void artifact_put(const step& s, const std::string& what) {
    const auto* res = cfg_.find_resource(s.canonical);
    const auto* type = res != nullptr ? cfg_.find_resource_type(res->type) : nullptr;
    if (type == nullptr || !type->push || type->push->runner != "pikoci-node") return;
    auto handler = type->push->params.find("handler");
    if (handler == type->push->params.end() || handler->second != "artifact.push") return;
    if (s.params.count("dir") == 0)
      diags_.add(s.rng, "Missing attribute",
                 what + " stores a directory of the build: it needs `dir = \"<directory>\"`.");
  }

  void steps(std::vector<step>& plan, const std::string& who) {
    for (auto& s : plan) {
      std::string what = std::string(to_string(s.kind)) + " " + quote(s.name) + " in " + who;
      switch (s.kind) {
        case step_kind::get:
          resources_.require(s.canonical, s.type_rng, what);
          s.passed_jobs = job_list(s.passed, s.passed_rng, what);
          break;
        case step_kind::put:
          resources_.require(s.canonical, s.type_rng, what);
          artifact_put(s, what);
          break;
        case step_kind::notify:
          notifications_.require(s.canonical, s.type_rng, what);
          break;
        case step_kind::service:
          service_types_.require(s.name, s.name_rng, what);
          break;
        case step_kind::task:
          if (s.run) runners_.require(s.run->runner, s.run->runner_rng, what);
          break;
        case step_kind::in_parallel:
          steps(s.steps, who);
          break;
        case step_kind::if_chain:
          for (auto& b : s.branches) steps(b.steps, who);
          break;
      }
      hooks(s.hooks, what);
    }
  }

  pipeline_config& cfg_;
  hcl::diagnostics& diags_;
  known_names resource_types_, resources_, runners_, secret_types_, service_types_,
      notification_types_, notifications_, jobs_;
};

}  // namespace

void validate(pipeline_config& cfg, hcl::diagnostics& diags) {
  validator(cfg, diags).run();
  builtin_param_rules(cfg, diags);
}

}  // namespace pikoci::pipeline::detail
