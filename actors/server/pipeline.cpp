#include "actors/server/pipeline.hpp"

#include <deque>
#include <set>

#include <spdlog/spdlog.h>

#include "actors/model/notification.hpp"
#include "actors/server/gather.hpp"
#include "actors/server/graph.hpp"
#include "actors/server/guard.hpp"
#include "actors/server/job.hpp"
#include "actors/server/persist.hpp"
#include "actors/server/plan_builder.hpp"
#include "actors/server/resolve.hpp"
#include "actors/server/resource_checker.hpp"
#include "actors/server/scheduling.hpp"
#include "auth/auth.hpp"
#include "auth/git_webhook.hpp"
#include "config/pipeline/group_template.hpp"
#include "config/pipeline/json_decode.hpp"
#include "persistence/crash_point.hpp"
#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"
#include "persistence/records.hpp"

namespace pikoci::server {
namespace {

using model::build_status;
using nlohmann::json;

/// A job of the pipeline: its actor and what scheduling remembers about it.
struct job_entry : job_gate {
  proto::job_actor actor;
};

struct resource_entry {
  proto::resource_checker_actor checker;
  std::optional<version_id> pinned;
  std::string webhook_token;
};

/// The pipeline's concurrency rule (SPEC §6.1).
struct concurrency_rule {
  std::string mode;
  std::optional<pipeline::group_template> tmpl;
  bool cancel_running = false;

  nlohmann::json to_json() const {
    return {{"mode", mode},
            {"group_template", tmpl ? tmpl->source() : ""},
            {"cancel_running", cancel_running}};
  }
};

struct pipeline_state {
  std::string name;
  concurrency_rule rule;
  context ctx;
  std::string text;
  json vars = json::object();
  proto::config_ptr cfg;
  model::time_point created_at{}, updated_at{};
  bool paused = false;
  std::map<std::string, job_entry> jobs;
  std::map<std::string, resource_entry> resources;  // by canonical
  version_store versions;
  usage_index usage;  // every build by what it used: `passed` decisions
  // git push webhooks (docs/webhooks.md)
  std::string git_secret;                     // "": deliveries are refused
  std::deque<std::string> deliveries;         // recent delivery ids, oldest first, for replays
  std::set<std::string> delivery_set;         // the same ids, for lookups
  std::map<std::string, json> hook_wanted;    // canonical -> .Webhook for its next check
  std::map<std::string, json> hook_checking;  // canonical -> .Webhook of its check in flight
};

using self_ptr = proto::pipeline_actor::stateful_pointer<pipeline_state>;
using reply_fn = std::function<void(domain::reply)>;

domain::reply no_job(const std::string& job) {
  return domain::fail(domain::errc::not_found, "job \"" + job + "\" not found");
}

/// The canonical name of `rc` (a canonical or a unique bare name), or nullopt.
std::optional<std::string> find_resource(self_ptr self, const std::string& rc) {
  const auto& cfg = *self->state.cfg;
  if (cfg.find_resource(rc) != nullptr) return rc;
  std::optional<std::string> found;
  for (const auto& r : cfg.resources) {
    if (r.name != rc) continue;
    if (found) return std::nullopt;  // ambiguous: the canonical is needed
    found = r.canonical;
  }
  return found;
}

domain::reply no_resource(const std::string& rc) {
  return domain::fail(domain::errc::not_found, "resource \"" + rc + "\" not found");
}

/// What the scheduling decisions read now (actors/server/scheduling.hpp).
schedule_inputs inputs(self_ptr self) {
  auto& st = self->state;
  schedule_inputs in;
  in.pipeline = st.name;
  in.cfg = st.cfg.get();
  in.versions = &st.versions;
  in.usage = &st.usage;
  for (const auto& [canonical, r] : st.resources)
    if (r.pinned) in.pins[canonical] = *r.pinned;
  in.paused = st.paused;
  in.ignore_passed = st.ctx.local_run;
  for (const auto& [name, e] : st.jobs) in.jobs[name] = e;  // the job_gate part
  return in;
}

// ---- write-through (persistence/keys.hpp)

void save_usage(self_ptr self, std::int64_t id) {
  const auto* u = self->state.usage.find(id);
  if (u == nullptr) return;
  put(self, self->state.ctx,
      {set_json(
          persistence::keys::usage(self->state.name, id),
          persistence::to_json(persistence::usage_entry{u->job, u->pending, u->passed, u->gets}))});
}

void forget_usage(self_ptr self, std::int64_t id) {
  self->state.usage.erase(id);
  put(self, self->state.ctx, {erase_key(persistence::keys::usage(self->state.name, id))});
}

void save_versions(self_ptr self, const std::vector<version_record>& created) {
  persistence::batch ops;
  for (const auto& v : created)
    ops.push_back(set_json(persistence::keys::version(self->state.name, v.id),
                           persistence::to_json(persistence::version_entry{
                               v.id, v.resource, v.version, model::format_time(v.created_at)})));
  if (!ops.empty()) put(self, self->state.ctx, std::move(ops));
}

/// The pipeline's own record: its text and everything set on it through the API.
persistence::write_op doc_op(self_ptr self) {
  auto& st = self->state;
  persistence::pipeline_record r;
  r.name = st.name;
  r.text = st.text;
  r.vars = st.vars;
  if (st.cfg) r.sources = st.cfg->fetched_sources;
  r.created_at = model::format_time(st.created_at);
  r.updated_at = model::format_time(st.updated_at);
  r.paused = st.paused;
  r.mode = st.rule.mode;
  r.group_template = st.rule.tmpl ? st.rule.tmpl->source() : "";
  r.cancel_running = st.rule.cancel_running;
  r.git_secret = st.git_secret;
  r.deliveries.assign(st.deliveries.begin(), st.deliveries.end());
  for (const auto& [name, e] : st.jobs) r.jobs[name] = {e.paused, e.baseline};
  for (const auto& [canonical, e] : st.resources)
    r.resources[canonical] = {e.pinned, e.webhook_token};
  return set_json(persistence::keys::pipeline(st.name), persistence::to_json(r));
}

/// Cluster mode: what every node knows of the pipeline (its partition, paused, jobs, times).
domain::cluster::pipeline_summary catalog_summary(self_ptr self) {
  auto& st = self->state;
  domain::cluster::pipeline_summary s;
  s.partition = persistence::partition_of(st.name, st.ctx.partition_count);
  s.paused = st.paused;
  if (st.cfg)
    for (const auto& j : st.cfg->jobs) s.jobs.push_back(j.name);
  s.created_at = model::format_time(st.created_at);
  s.updated_at = model::format_time(st.updated_at);
  for (const auto& [canonical, e] : st.resources)
    if (!e.webhook_token.empty())
      s.webhook_digests.push_back(auth::git_webhook::webhook_token_digest(e.webhook_token));
  return s;
}

/// The pipeline's record, and in cluster mode (`with_catalog`) its entry of the pipeline catalog
/// (`catalog/<p>`), in one batch.
persistence::batch doc_ops(self_ptr self, bool with_catalog) {
  persistence::batch ops{doc_op(self)};
  if (with_catalog && self->state.ctx.partition_count > 0)
    ops.push_back({persistence::keys::catalog(self->state.name),
                   domain::cluster::encode(catalog_summary(self)), false});
  return ops;
}

/// A change made through the API is durable before it is answered: the pipeline's record is
/// written (synced), then `make` produces the answer. `with_catalog`: a change every node's
/// catalog shows (set, pause): in cluster mode the catalog entry is written with the record and,
/// once stored, this node's catalog has it at once.
caf::result<domain::reply> after_save(self_ptr self, std::function<void(reply_fn)> make,
                                      bool with_catalog = false) {
  auto rp = self->make_response_promise<domain::reply>();
  write_then(self, self->state.ctx, doc_ops(self, with_catalog), [self, rp, make, with_catalog](
                                                                      bool ok) mutable {
    auto& st = self->state;
    if (ok && with_catalog && st.ctx.partition_count > 0 && st.ctx.catalog)
      st.ctx.catalog->apply(st.name, catalog_summary(self));
    if (!ok) {
      // in effect here already: written once the store takes writes again
      put(self, self->state.ctx, doc_ops(self, with_catalog));
      rp.deliver(domain::fail(domain::errc::store_unavailable, "the store could not record the change"));
      return;
    }
    make([rp](domain::reply r) mutable { rp.deliver(std::move(r)); });
  });
  return rp;
}

/// Creates a build of `job` with resolved `inputs`; `done` gets the job's reply. `webhook` is
/// `.Webhook` of the group template (a git delivery's, or `{}`).
void create_build(self_ptr self, const std::string& job, json trigger,
                  std::vector<model::build_input> inputs, std::map<std::string, std::string> values,
                  std::vector<std::string> args, reply_fn done,
                  const json& webhook = json::object()) {
  auto& st = self->state;
  proto::build_spec spec;
  spec.id = st.ctx.build_ids->next();
  spec.rules.mode = st.rule.mode;
  spec.rules.cancel_running = st.rule.cancel_running;
  if (st.rule.mode == "group") {
    json data{{"Pipeline", st.name},
              {"Job", job},
              {"Args", args},
              {"Inputs", values},
              {"Webhook", webhook}};
    auto key = st.rule.tmpl->render(data);
    if (!key.error.empty()) {
      spec.failure = "concurrency group: " + key.error;
    } else if (key.text.empty()) {
      spec.failure = "concurrency group: the template rendered an empty key";
    }
    spec.rules.group = key.text;
  }
  spec.trigger = std::move(trigger);
  spec.inputs = std::move(inputs);
  spec.values = std::move(values);
  spec.args = std::move(args);
  build_usage u{job, true, false, {}};
  for (const auto& in : spec.inputs) u.gets[in.name] = in.version_id;
  auto id = spec.id;
  st.usage.record(id, std::move(u));  // before the job answers, so no second decision takes it
  save_usage(self, id);
  self->request(st.jobs.at(job).actor, caf::infinite, proto::create_atom::value, std::move(spec))
      .then(
          [self, id, done](domain::reply& r) {
            if (r.failed()) forget_usage(self, id);
            done(std::move(r));
          },
          [self, id, done](caf::error& e) {
            forget_usage(self, id);
            done(domain::fail(domain::errc::internal, "job: " + caf::to_string(e)));
          });
}


/// The reply to an automatic trigger (nobody waits for it): a refusal is logged, and one by a
/// full queue is retried (SPEC §6: at the resource's next check, or at the pipeline's next build
/// that leaves the queue for `passed`).
/// `kind` is resource or passed.
reply_fn automatic_outcome(self_ptr self, std::string job, domain::trigger_type kind,
                           std::string canonical) {
  return [self, job = std::move(job), kind, canonical = std::move(canonical)](domain::reply r) {
    if (!r.failed()) return;
    auto& st = self->state;
    bool retry = r.code() == domain::errc::queue_full;
    spdlog::warn(
        "event=trigger.skipped pipeline={} job={} trigger={} code={} retry={} error=\"{}\"",
        st.name, job, domain::to_string(kind),
        domain::to_string(r.code()), retry, r.failure->message);
    auto it = st.jobs.find(job);
    if (!retry || it == st.jobs.end()) return;
    if (kind == domain::trigger_type::resource)
      it->second.retry_resources.insert(canonical);
    else
      it->second.retry_passed = true;
  };
}

void log_no_version(self_ptr self, const std::string& job, const std::string& reason) {
  spdlog::info("event=trigger.no_version pipeline={} job={} reason=\"{}\"", self->state.name, job,
               reason);
}

/// Jobs `t` tried to trigger: their retries of `canonical` are over; those with a get without a
/// version are logged.
void tried(self_ptr self, const std::string& canonical, resource_triggers& t) {
  for (const auto& job : t.tried) self->state.jobs.at(job).retry_resources.erase(canonical);
  for (const auto& s : t.skipped) log_no_version(self, s.job, s.reason);
  t.tried.clear();
  t.skipped.clear();
}

/// Applies automatic triggers by a resource: their retries of `canonical` are over, builds are
/// created (`webhook` as in create_build).
void create_triggered(self_ptr self, const std::string& canonical, resource_triggers t,
                      const json& webhook = json::object()) {
  tried(self, canonical, t);
  for (auto& b : t.builds)
    create_build(self, b.job->name, std::move(b.trigger), std::move(b.inputs), {}, {},
                 automatic_outcome(self, b.job->name, domain::trigger_type::resource, canonical),
                 webhook);
}

/// Version `v` of `canonical` is about to trigger builds of `direct`: the `on_trigger` notify
/// hooks of every job it reaches (reachable_jobs) fire once, before any of those builds is
/// created (docs/notifications.md). Built-in kinds go to the store writer, then the outbox; the
/// caller sends its create requests after this returns, so the store writer (which applies writes
/// in arrival order) has each message before the build record: after a crash, a build that
/// exists implies its on_trigger messages do. Types with a `notify` command are not run yet.
void fire_on_trigger(self_ptr self, const std::string& canonical, const version_record& v,
                     const std::set<std::string>& direct) {
  auto& st = self->state;
  if (direct.empty()) return;
  const auto& cfg = *st.cfg;
  std::vector<model::notification_message> messages;
  for (const auto* job : reachable_jobs(cfg, direct)) {
    for (std::size_t i = 0; i < job->on_trigger.size(); ++i) {
      const auto& s = job->on_trigger[i];
      const auto* n = cfg.find_notification(s.canonical);
      if (s.kind != pipeline::step_kind::notify || n == nullptr) continue;  // validation refuses
      auto kind = model::delivery_kind(cfg, n->type);
      if (kind.empty()) {
        // a notify command would have to run on a worker and finish before the builds exist;
        // the worker side runs only builds and checks so far
        spdlog::warn(
            "event=notify.on_trigger_unsupported pipeline={} job={} notification={} "
            "resource={} version_id={} reason=\"types with a notify command are not run "
            "for on_trigger hooks yet\"",
            st.name, job->name, n->canonical, canonical, v.id);
        continue;
      }
      messages.push_back(model::render_trigger(
          *n, kind, {st.name, job->name, canonical, v.id, v.version}, s, i, st.ctx.now()));
    }
  }
  if (messages.empty()) return;
  spdlog::info("event=notify.on_trigger pipeline={} resource={} version_id={} messages={}", st.name,
               canonical, v.id, messages.size());
  enqueue_notifications(self, st.ctx, std::move(messages));
}

/// New versions of `canonical` (oldest first; from a check or a put): builds for jobs that get
/// it with `trigger = true` and no `passed`, one per version, after the version's `on_trigger`
/// hooks. `webhook`: the git delivery that asked for the check (`.Webhook` of their group
/// template), or `{}`.
void on_versions(self_ptr self, const std::string& canonical,
                 const std::vector<version_record>& created, const json& webhook = json::object()) {
  for (const auto& v : created) {
    spdlog::info("event=resource.version pipeline={} resource={} version_id={}", self->state.name,
                 canonical, v.id);
    if (self->state.ctx.local_run) continue;
    auto t = version_triggers(inputs(self), canonical, v.id);
    std::set<std::string> direct;
    for (const auto& b : t.builds) direct.insert(b.job->name);
    tried(self, canonical, t);
    fire_on_trigger(self, canonical, v, direct);
    create_triggered(self, canonical, std::move(t), webhook);
  }
}

/// Applies `passed` decisions: retries that are over, builds.
void apply_passed(self_ptr self, std::vector<passed_decision> decisions) {
  if (self->state.ctx.local_run) return;
  for (auto& d : decisions) {
    if (!d.considered) continue;
    self->state.jobs.at(d.job->name).retry_passed = false;
    if (d.no_version) log_no_version(self, d.job->name, *d.no_version);
    if (!d.build) continue;
    create_build(self, d.job->name, std::move(d.build->trigger), std::move(d.build->inputs), {}, {},
                 automatic_outcome(self, d.job->name, domain::trigger_type::passed, ""));
  }
}

json resource_json(self_ptr self, const pipeline::resource& r, const std::optional<json>& state) {
  const auto& e = self->state.resources.at(r.canonical);
  json j{{"canonical", r.canonical},
         {"type", r.type},
         {"name", r.name},
         {"check_interval", r.check_interval},
         {"checking", false},
         {"last_check_at", nullptr},
         {"next_check_at", nullptr},
         {"check_error", nullptr},
         {"pinned_version_id", e.pinned ? json(*e.pinned) : json(nullptr)},
         {"webhook_token", e.webhook_token}};
  if (state)
    for (const auto& [k, v] : state->items()) j[k] = v;
  return j;
}

// ---- GET /events: what changes in the pipeline, for the node's subscribers

/// Publishes one event of this pipeline (nothing to do without subscribers).
void publish(self_ptr self, const char* type, const json& data) {
  const auto& events = self->state.ctx.events;
  if (events->wanted()) events->publish(self->state.name, type, hcl::to_json_text(data));
}

/// `pipeline` event: set, paused, unpaused or deleted.
void publish_pipeline(self_ptr self, const char* action) {
  publish(self, "pipeline",
          {{"name", self->state.name}, {"paused", self->state.paused}, {"action", action}});
}

/// `resource` event: the resource as GET .../resources shows it (its checker's `state`) and its
/// newest version.
void publish_resource(self_ptr self, const pipeline::resource& r,
                      const std::optional<json>& state) {
  const auto* latest = self->state.versions.latest(r.canonical);
  json version = nullptr;
  if (latest != nullptr)
    version = {{"id", latest->id},
               {"version", latest->version},
               {"created_at", model::format_time(latest->created_at)}};
  publish(self, "resource",
          {{"pipeline", self->state.name},
           {"resource", resource_json(self, r, state)},
           {"latest_version", std::move(version)}});
}

/// Resource objects of `canonicals` with their checkers' state.
void resources_json(self_ptr self, std::vector<std::string> canonicals,
                    std::function<void(json)> done) {
  std::vector<proto::resource_checker_actor> checkers;
  for (const auto& c : canonicals) checkers.push_back(self->state.resources.at(c).checker);
  gather<json>(
      self, checkers,
      [self, canonicals, done](std::vector<std::optional<json>> states) {
        auto out = json::array();
        for (std::size_t i = 0; i < canonicals.size(); ++i) {
          // the resource may have gone while its checker answered
          const auto* r = self->state.cfg->find_resource(canonicals[i]);
          if (r != nullptr && self->state.resources.count(canonicals[i]) != 0)
            out.push_back(resource_json(self, *r, states[i]));
        }
        done(std::move(out));
      },
      proto::state_atom::value);
}

/// `resource` event for a change the pipeline made (pin, unpin, a new webhook token, a version
/// from a put or the API): the checker's state is asked first.
void resource_changed(self_ptr self, const std::string& canonical) {
  if (!self->state.ctx.events->wanted()) return;
  auto it = self->state.resources.find(canonical);
  if (it == self->state.resources.end()) return;
  self->request(it->second.checker, caf::infinite, proto::state_atom::value)
      .then(
          [self, canonical](json& state) {
            const auto* r = self->state.cfg->find_resource(canonical);
            if (r != nullptr && self->state.resources.count(canonical) != 0)
              publish_resource(self, *r, state);
          },
          [](caf::error&) {});
}

/// A check of `canonical` started or ended: the checker sent its `state`.
void check_changed(self_ptr self, const std::string& canonical, const json& state) {
  const auto* r = self->state.cfg->find_resource(canonical);
  if (r != nullptr && self->state.resources.count(canonical) != 0)
    publish_resource(self, *r, state);
}

std::vector<proto::job_actor> job_actors(self_ptr self) {
  std::vector<proto::job_actor> out;
  for (const auto& j : self->state.cfg->jobs) out.push_back(self->state.jobs.at(j.name).actor);
  return out;
}

void jobs_json(self_ptr self, std::function<void(json)> done) {
  gather<json>(
      self, job_actors(self),
      [done](std::vector<std::optional<json>> summaries) {
        auto out = json::array();
        for (auto& s : summaries)
          if (s) out.push_back(std::move(*s));
        done(std::move(out));
      },
      proto::summary_atom::value);
}

json summary(self_ptr self) {
  auto& st = self->state;
  auto jobs = json::array();
  for (const auto& j : st.cfg->jobs) jobs.push_back(j.name);
  return {{"name", st.name},
          {"paused", st.paused},
          {"jobs", std::move(jobs)},
          {"created_at", model::format_time(st.created_at)},
          {"updated_at", model::format_time(st.updated_at)}};
}

/// The full pipeline object (jobs with their latest builds, resources with their check state).
void full_json(self_ptr self, std::function<void(json)> done) {
  jobs_json(self, [self, done](json jobs) {
    std::vector<std::string> canonicals;
    for (const auto& r : self->state.cfg->resources) canonicals.push_back(r.canonical);
    resources_json(self, canonicals, [self, done, jobs](json resources) {
      auto& st = self->state;
      json p = summary(self);
      p["config"] = st.text;
      p["vars"] = st.vars;
      p["concurrency"] = st.rule.to_json();
      p["git_webhook"] = {{"secret_set", !st.git_secret.empty()}};
      p["jobs"] = jobs;
      p["resources"] = std::move(resources);
      done(std::move(p));
    });
  });
}

/// GET /pipelines/{p}/graph (server/graph): the jobs' summaries and the resources' check state
/// gathered at once, the rest from the config.
void graph(self_ptr self, reply_fn done) {
  gather<json>(
      self, job_actors(self),
      [self, done](std::vector<std::optional<json>> summaries) {
        std::vector<std::string> canonicals;
        for (const auto& r : self->state.cfg->resources) canonicals.push_back(r.canonical);
        resources_json(self, canonicals, [self, done, summaries](json resources) {
          auto& st = self->state;
          done(domain::done({{"graph", graph_json(*st.cfg, st.name, st.paused, summaries,
                                                  std::move(resources))}}));
        });
      },
      proto::summary_atom::value);
}

/// The resources of the new config: kept ones get its check interval, new ones a checker (with
/// their stored settings and check on restore), removed ones go with their versions.
void reconcile_resources(self_ptr self, persistence::stored_pipeline* stored,
                         const persistence::pipeline_record* record) {
  auto& st = self->state;
  auto host = caf::actor_cast<proto::checker_host_actor>(self);
  std::set<std::string> keep;
  for (const auto& r : st.cfg->resources) {
    keep.insert(r.canonical);
    auto it = st.resources.find(r.canonical);
    if (it != st.resources.end()) {
      self->send(it->second.checker, proto::config_atom::value, r.check_interval);
      continue;
    }
    resource_entry e;
    e.webhook_token = auth::random_token(24).value_or("");
    checker_setup cs{st.name, r.canonical, r.check_interval, host, st.ctx, nullptr};
    if (stored != nullptr) {
      auto saved = persistence::resource_settings_of(*record, r.canonical);
      e.pinned = saved.pinned;
      if (saved.webhook_token) e.webhook_token = std::move(*saved.webhook_token);
      if (auto c = stored->checks.find(r.canonical); c != stored->checks.end())
        cs.stored = c->second;
    }
    e.checker = spawn_resource_checker(self->system(), std::move(cs));
    self->link_to(e.checker);
    st.resources.emplace(r.canonical, std::move(e));
  }
  for (auto it = st.resources.begin(); it != st.resources.end();) {
    if (keep.count(it->first) != 0) {
      ++it;
      continue;
    }
    self->unlink_from(it->second.checker);
    self->send_exit(it->second.checker, caf::exit_reason::user_shutdown);
    persistence::batch gone{erase_key(persistence::keys::check(st.name, it->first))};
    for (const auto& v : st.versions.list(it->first))
      gone.push_back(erase_key(persistence::keys::version(st.name, v.id)));
    put(self, st.ctx, std::move(gone));
    st.versions.remove(it->first);
    it = st.resources.erase(it);
  }
}

/// The jobs of the new config: kept ones get it, new ones an actor (with their stored settings
/// and builds on restore), removed ones go with their builds.
void reconcile_jobs(self_ptr self, persistence::stored_pipeline* stored,
                    const persistence::pipeline_record* record) {
  auto& st = self->state;
  auto observer = caf::actor_cast<proto::build_observer_actor>(self);
  std::set<std::string> keep;
  for (const auto& j : st.cfg->jobs) {
    keep.insert(j.name);
    auto it = st.jobs.find(j.name);
    if (it != st.jobs.end()) {
      self->send(it->second.actor, proto::config_atom::value, st.cfg, it->second.paused);
      continue;
    }
    job_entry e;
    e.paused = st.paused;
    e.baseline = st.ctx.version_ids->last();
    std::vector<std::string> builds;
    if (stored != nullptr) {
      auto saved = persistence::job_settings_of(*record, j.name);
      e.paused = saved.paused.value_or(e.paused);
      e.baseline = saved.baseline;
      builds = std::move(stored->builds[j.name]);  // the job parses them
    }
    job_setup js{st.name, j.name, st.cfg, e.paused, observer, st.ctx, std::move(builds)};
    if (stored != nullptr && !stored->orphan_reason.empty()) js.orphan_reason = stored->orphan_reason;
    e.actor = spawn_job(self->system(), std::move(js));
    self->link_to(e.actor);
    st.jobs.emplace(j.name, std::move(e));
  }
  for (auto it = st.jobs.begin(); it != st.jobs.end();) {
    if (keep.count(it->first) != 0) {
      ++it;
      continue;
    }
    self->unlink_from(it->second.actor);
    self->send(it->second.actor, proto::shutdown_atom::value);
    persistence::batch gone{erase_prefix(persistence::keys::prefix({"build", st.name, it->first}))};
    for (auto id : st.usage.erase_job(it->first))
      gone.push_back(erase_key(persistence::keys::usage(st.name, id)));
    put(self, st.ctx, std::move(gone));
    it = st.jobs.erase(it);
  }
}

/// Applies a (re-)set: jobs and resources that keep their names keep their actors, builds,
/// versions, pins and pause flags; new ones are spawned; removed ones go with their history.
/// On restore, `stored` and its decoded `record` give the stored settings and state.
void reconcile(self_ptr self, proto::config_ptr cfg, persistence::stored_pipeline* stored = nullptr,
               const persistence::pipeline_record* record = nullptr) {
  self->state.cfg = std::move(cfg);
  // resources first: a new resource's first check asks for its command right away
  reconcile_resources(self, stored, record);
  reconcile_jobs(self, stored, record);
}

void set_job_paused(self_ptr self, const std::string& job, bool paused) {
  auto& e = self->state.jobs.at(job);
  e.paused = paused;
  self->send(e.actor, proto::config_atom::value, self->state.cfg, paused);
  self->send(self->state.ctx.queue, proto::pause_atom::value, self->state.name, job, paused);
  publish(self, "job", {{"pipeline", self->state.name}, {"name", job}, {"paused", paused}});
}

/// Pinning cancels pending builds that would use another version of the resource (§5.3.5).
void cancel_unpinned(self_ptr self, const std::string& canonical, version_id pin) {
  auto& st = self->state;
  for (const auto& u : server::cancel_unpinned(inputs(self), canonical, pin)) {
    proto::cancel_build c{st.name, u.job, "",
                          "cancelled: " + canonical + " pinned to version " + std::to_string(pin),
                          u.id};
    self->request(st.jobs.at(u.job).actor, caf::infinite, std::move(c))
        .then([](domain::reply&) {}, [](caf::error&) {});
  }
}

/// PUT /pipelines/{p}/concurrency: checked as a whole, then it applies to builds created after.
domain::reply set_rule(self_ptr self, const proto::set_concurrency& req) {
  auto bad = [](const std::string& m) { return domain::fail(domain::errc::bad_request, m); };
  static const std::set<std::string> modes = {"", "serial", "group", "skip-if-running"};
  if (modes.count(req.mode) == 0)
    return bad("mode must be one of \"\", serial, group, skip-if-running");
  if (req.mode == "group" && req.group_template.empty())
    return bad("mode group needs a group_template");
  if (req.mode != "group" && !req.group_template.empty())
    return bad("group_template is only used with mode group");
  if (req.mode != "group" && req.cancel_running)
    return bad("cancel_running is only used with mode group");
  concurrency_rule rule{req.mode, std::nullopt, req.cancel_running};
  if (!req.group_template.empty()) {
    auto parsed = pipeline::group_template::parse(req.group_template);
    if (auto* error = std::get_if<std::string>(&parsed)) return bad(*error);
    rule.tmpl = std::get<pipeline::group_template>(std::move(parsed));
  }
  self->state.rule = std::move(rule);
  spdlog::info("event=pipeline.concurrency pipeline={} mode={} cancel_running={}", self->state.name,
               req.mode.empty() ? "none" : req.mode, req.cancel_running);
  return domain::done({{"concurrency", self->state.rule.to_json()}});
}

/// A build someone asked for records who: the trigger's `user`.
void by_user(json& trigger, const std::string& user) {
  if (!user.empty()) trigger["user"] = user;
}

caf::result<domain::reply> trigger(self_ptr self, const proto::trigger_job& req) {
  auto decided = manual_trigger(inputs(self), req.job, req.inputs);
  if (auto* refused = std::get_if<domain::error>(&decided))
    return domain::fail(std::move(*refused));
  auto& b = std::get<planned_build>(decided);
  by_user(b.trigger, req.user);
  auto rp = self->make_response_promise<domain::reply>();
  create_build(self, req.job, std::move(b.trigger), std::move(b.inputs), std::move(b.values),
               req.args,
               [rp](domain::reply r) mutable { rp.deliver(std::move(r)); });
  return rp;
}

caf::result<domain::reply> trigger_version(self_ptr self, const proto::trigger_version& req) {
  auto& st = self->state;
  auto canonical = find_resource(self, req.resource);
  if (!canonical) return no_resource(req.resource);
  const auto* v = st.versions.find(req.version_id);
  if (v == nullptr || v->resource != *canonical)
    return domain::fail(domain::errc::not_found, "version " + std::to_string(req.version_id) +
                                                     " of \"" + *canonical + "\" not found");
  auto decided = server::trigger_version(inputs(self), *canonical, v->id);
  struct collected {
    json builds = json::array();
    std::size_t left = 0;
    std::optional<domain::reply> error;
  };
  auto acc = std::make_shared<collected>();
  if (decided.refused) acc->error = domain::fail(std::move(*decided.refused));
  auto rp = self->make_response_promise<domain::reply>();
  auto finish = [acc, rp]() mutable {
    if (acc->builds.empty() && acc->error) {
      rp.deliver(std::move(*acc->error));
    } else {
      rp.deliver(domain::created({{"builds", acc->builds}}));
    }
  };
  acc->left = decided.builds.size();
  if (decided.builds.empty()) {
    finish();
    return rp;
  }
  for (auto& b : decided.builds) {
    by_user(b.trigger, req.user);
    create_build(self, b.job->name, std::move(b.trigger), std::move(b.inputs), {}, {},
                 [acc, finish](domain::reply r) mutable {
                   if (r.failed()) {
                     acc->error = std::move(r);
                   } else {
                     acc->builds.push_back(r.value["build"]);
                   }
                   if (--acc->left == 0) finish();
                 });
  }
  return rp;
}

/// Recent delivery ids a git webhook remembers per pipeline (stored with it): older replays are
/// checked again.
constexpr std::size_t max_deliveries = 1000;

void remember_delivery(self_ptr self, const std::string& id) {
  auto& st = self->state;
  if (!st.delivery_set.insert(id).second) return;
  st.deliveries.push_back(id);
  while (st.deliveries.size() > max_deliveries) {
    st.delivery_set.erase(st.deliveries.front());
    st.deliveries.pop_front();
  }
}

/// POST /pipelines/{p}/webhooks/git (docs/webhooks.md): verified against the pipeline's secret,
/// replays ignored by delivery id; then every resource is checked now, and builds created from
/// the versions those checks find get the delivery as `.Webhook` in their group template.
caf::result<domain::reply> git_delivery(self_ptr self, const proto::git_webhook& req) {
  namespace gw = auth::git_webhook;
  auto& st = self->state;
  auto who = gw::verify(st.git_secret, req.headers, req.body);
  if (!who) {
    spdlog::warn("event=webhook.git_refused pipeline={} error=\"{}\"", st.name, who.error);
    return domain::fail(domain::errc::unauthenticated, who.error);
  }
  auto decoded = pikoci::pipeline::decode_json(req.body);
  if (decoded.failure == pikoci::pipeline::json_failure::too_deep ||
      decoded.failure == pikoci::pipeline::json_failure::too_large)
    return domain::fail(domain::errc::bad_request, "the webhook body: " + decoded.error);
  auto body = std::move(decoded.value);
  if (body.is_discarded() || !body.is_object())
    return domain::fail(domain::errc::bad_request, "the webhook body must be a JSON object");
  auto provider = *who.ok;
  auto delivery = gw::delivery_of(provider, req.headers);
  if (delivery.size() > 256)
    return domain::fail(domain::errc::bad_request, "the delivery id is longer than 256 bytes");
  if (!delivery.empty() && st.delivery_set.count(delivery) != 0) {
    spdlog::info("event=webhook.git_duplicate pipeline={} delivery={}", st.name, delivery);
    return domain::done({{"duplicate", true}, {"delivery", delivery}});
  }
  if (!delivery.empty()) remember_delivery(self, delivery);
  auto ref = gw::ref_of(body);
  json hook{{"Provider", std::string(gw::to_string(provider))},
            {"EventType", gw::event_of(provider, req.headers)},
            {"Branch", ref.branch},
            {"Ref", ref.ref},
            {"Headers", gw::template_headers(req.headers)},
            {"Query", req.query}};
  std::vector<std::string> checked;
  for (const auto& [canonical, e] : st.resources) checked.push_back(canonical);
  spdlog::info("event=webhook.git pipeline={} provider={} event=\"{}\" ref=\"{}\" delivery={} "
               "resources={}",
               st.name, gw::to_string(provider), hook["EventType"].get<std::string>(), ref.ref,
               delivery, checked.size());
  // checks start once the delivery id is stored, so a replay after a crash is still ignored
  return after_save(self, [self, hook, checked, delivery](reply_fn done) {
    for (const auto& c : checked) {
      auto it = self->state.resources.find(c);
      if (it == self->state.resources.end()) continue;
      self->state.hook_wanted[c] = hook;
      self->send(it->second.checker, proto::check_atom::value);
    }
    done(domain::accepted(
        {{"checked", checked}, {"delivery", delivery.empty() ? json(nullptr) : json(delivery)}}));
  });
}

/// A promise answered by `make` when it calls back.
caf::result<domain::reply> later(self_ptr self, std::function<void(reply_fn)> make) {
  auto rp = self->make_response_promise<domain::reply>();
  make([rp](domain::reply r) mutable { rp.deliver(std::move(r)); });
  return rp;
}

/// An operation on one job's builds goes to that job's actor.
template <class Op>
caf::result<domain::reply> to_job(self_ptr self, const std::string& job, Op op) {
  auto it = self->state.jobs.find(job);
  if (it == self->state.jobs.end()) return no_job(job);
  return self->delegate(it->second.actor, std::move(op));
}

/// The resource `rc` names, answered with its view (after `change` was saved, when given;
/// `with_catalog`: with the catalog entry, whose webhook digests changed).
caf::result<domain::reply> resource_reply(self_ptr self, const std::string& canonical,
                                          bool saved, bool with_catalog = false) {
  auto view = [self, canonical](reply_fn done) {
    resources_json(self, {canonical},
                   [done](json rs) { done(domain::done({{"resource", rs.at(0)}})); });
  };
  return saved ? after_save(self, view, with_catalog) : later(self, view);
}

caf::result<domain::reply> pause(self_ptr self, const proto::pause_pipeline& p) {
  auto& st = self->state;
  st.paused = p.paused;
  for (const auto& [name, e] : st.jobs) set_job_paused(self, name, p.paused);
  spdlog::info("event=pipeline.{} pipeline={}", p.paused ? "paused" : "unpaused", st.name);
  publish_pipeline(self, p.paused ? "paused" : "unpaused");
  return after_save(
      self,
      [self](reply_fn done) {
        full_json(self, [done](json p) { done(domain::done({{"pipeline", p}})); });
      },
      true);
}

caf::result<domain::reply> pause_job(self_ptr self, const proto::pause_job& p) {
  auto& st = self->state;
  if (st.jobs.count(p.job) == 0) return no_job(p.job);
  set_job_paused(self, p.job, p.paused);
  spdlog::info("event=job.{} pipeline={} job={}", p.paused ? "paused" : "unpaused", st.name, p.job);
  return after_save(self, [self, p, job = st.jobs.at(p.job).actor](reply_fn done) {
    persistence::fault_point("pipeline.paused");
    self->request(job, caf::infinite, p)
        .then([done](domain::reply& resp) { done(std::move(resp)); },
              [done](caf::error& e) {
                done(domain::fail(domain::errc::internal, "job: " + caf::to_string(e)));
              });
  });
}

/// GET /builds across pipelines: every job's builds; by id: the job that has it.
caf::result<domain::reply> list_builds(self_ptr self, const proto::list_builds& l) {
  if (!l.job.empty()) return to_job(self, l.job, l);
  return later(self, [self, l](reply_fn done) {
    gather<domain::reply>(
        self, job_actors(self),
        [done](std::vector<std::optional<domain::reply>> replies) {
          auto builds = json::array();
          for (auto& rep : replies)
            if (rep && !rep->failed())
              for (auto& b : rep->value["builds"]) builds.push_back(b);
          done(domain::done({{"builds", builds}}));
        },
        l);
  });
}

caf::result<domain::reply> get_build(self_ptr self, const proto::get_build& g) {
  if (!g.job.empty()) return to_job(self, g.job, g);
  const auto* u = self->state.usage.find(g.id);
  if (u == nullptr)
    return domain::fail(domain::errc::not_found, "build " + std::to_string(g.id) + " not found");
  return to_job(self, u->job, g);
}

caf::result<domain::reply> check(self_ptr self, const proto::check_resource& c) {
  auto canonical = find_resource(self, c.resource);
  if (!canonical) return no_resource(c.resource);
  self->send(self->state.resources.at(*canonical).checker, proto::check_atom::value);
  return later(self, [self, canonical = *canonical](reply_fn done) {
    resources_json(self, {canonical},
                   [done](json rs) { done(domain::accepted({{"resource", rs.at(0)}})); });
  });
}

domain::reply versions(self_ptr self, const proto::list_versions& v) {
  auto canonical = find_resource(self, v.resource);
  if (!canonical) return no_resource(v.resource);
  auto out = json::array();
  for (const auto& rec : self->state.versions.list(*canonical, v.limit))
    out.push_back({{"id", rec.id},
                   {"version", rec.version},
                   {"created_at", model::format_time(rec.created_at)}});
  return domain::done({{"versions", std::move(out)}});
}

caf::result<domain::reply> add_version(self_ptr self, const proto::add_version& a) {
  auto& st = self->state;
  auto canonical = find_resource(self, a.resource);
  if (!canonical) return no_resource(a.resource);
  auto created = st.versions.add(*canonical, {a.version}, st.ctx.now());
  save_versions(self, created);
  on_versions(self, *canonical, created);
  if (!created.empty()) resource_changed(self, *canonical);
  for (const auto& known : st.versions.list(*canonical))
    if (known.version == a.version)
      return after_save(self, [id = known.id, v = a.version](reply_fn done) {
        done(domain::created({{"version", {{"id", id}, {"version", v}}}}));
      });
  return domain::fail(domain::errc::internal, "the version was not recorded");
}

caf::result<domain::reply> pin(self_ptr self, const proto::pin_resource& p) {
  auto& st = self->state;
  auto canonical = find_resource(self, p.resource);
  if (!canonical) return no_resource(p.resource);
  if (p.version_id) {
    const auto* v = st.versions.find(*p.version_id);
    if (v == nullptr || v->resource != *canonical)
      return domain::fail(domain::errc::not_found, "version " + std::to_string(*p.version_id) +
                                                       " of \"" + *canonical + "\" not found");
  }
  st.resources.at(*canonical).pinned = p.version_id;
  if (p.version_id) cancel_unpinned(self, *canonical, *p.version_id);
  spdlog::info("event=resource.{} pipeline={} resource={}", p.version_id ? "pinned" : "unpinned",
               st.name, *canonical);
  resource_changed(self, *canonical);
  return resource_reply(self, *canonical, true);
}

domain::reply token_webhook(self_ptr self, const proto::webhook& w) {
  for (const auto& [canonical, e] : self->state.resources) {
    if (e.webhook_token.empty() || e.webhook_token != w.token) continue;
    self->send(e.checker, proto::check_atom::value);
    return domain::accepted({{"resource", canonical}});
  }
  return domain::fail(domain::errc::not_found, "unknown webhook token");
}

caf::result<domain::reply> new_webhook_token(self_ptr self,
                                             const proto::regenerate_webhook_token& g) {
  auto& st = self->state;
  auto canonical = find_resource(self, g.resource);
  if (!canonical) return no_resource(g.resource);
  auto token = auth::random_token(24);
  if (!token) return domain::fail(domain::errc::internal, "cannot generate a webhook token");
  st.resources.at(*canonical).webhook_token = std::move(*token);
  spdlog::info("event=resource.webhook_token pipeline={} resource={}", st.name, *canonical);
  resource_changed(self, *canonical);
  return resource_reply(self, *canonical, true, true);  // the catalog's digests change
}

caf::result<domain::reply> set_git_secret(self_ptr self, const proto::set_git_webhook& s) {
  bool set = s.secret.has_value();
  self->state.git_secret = s.secret.value_or("");
  spdlog::info("event=webhook.git_secret pipeline={} secret_set={}", self->state.name, set);
  return after_save(self, [set](reply_fn done) {
    done(set ? domain::done({{"webhook", {{"secret_set", true}}}}) : domain::nothing());
  });
}

/// Restart: the pipeline's stored record, versions and usage, then its jobs (with their builds)
/// and checkers (with their schedules) through the same reconcile as a set.
void restore(self_ptr self, proto::config_ptr cfg, persistence::stored_pipeline& stored) {
  auto& st = self->state;
  auto d = persistence::pipeline_from_json(stored.doc);
  auto time_of = [&](const std::string& text) {
    try {
      return model::parse_time(text);
    } catch (const std::exception&) {
      return st.ctx.now();
    }
  };
  st.text = std::move(d.text);
  st.vars = std::move(d.vars);
  st.created_at = time_of(d.created_at);
  st.updated_at = time_of(d.updated_at);
  st.paused = d.paused;
  concurrency_rule rule{d.mode, std::nullopt, d.cancel_running};
  if (!d.group_template.empty()) {
    auto parsed = pipeline::group_template::parse(d.group_template);
    if (auto* t = std::get_if<pipeline::group_template>(&parsed)) rule.tmpl = std::move(*t);
  }
  st.rule = std::move(rule);
  st.git_secret = d.git_secret;
  for (const auto& id : d.deliveries) remember_delivery(self, id);
  for (const auto& v : stored.versions) {
    try {
      auto e = persistence::version_from_json(v);
      st.versions.restore(
          {e.id, std::move(e.resource), std::move(e.version), model::parse_time(e.created_at)});
    } catch (const std::exception& e) {
      spdlog::error("event=store.bad_record pipeline={} error=\"{}\" (version skipped)", st.name,
                    e.what());
    }
  }
  for (const auto& [id, u] : stored.usage) {
    try {
      auto e = persistence::usage_from_json(u);
      st.usage.record(id, {std::move(e.job), e.pending, e.passed, std::move(e.gets)});
    } catch (const std::exception& e) {
      spdlog::error("event=store.bad_record pipeline={} error=\"{}\" (usage skipped)", st.name,
                    e.what());
    }
  }
  // Counted before reconcile, which hands each job its stored builds.
  std::size_t builds = 0;
  for (const auto& [job, list] : stored.builds) builds += list.size();
  reconcile(self, std::move(cfg), &stored, &d);
  for (const auto& [name, e] : st.jobs)
    if (e.paused) self->send(st.ctx.queue, proto::pause_atom::value, st.name, name, true);
  spdlog::info("event=pipeline.restored pipeline={} jobs={} resources={} versions={} builds={}",
               st.name, st.cfg->jobs.size(), st.cfg->resources.size(), stored.versions.size(),
               builds);
}

caf::result<domain::reply> set_config(self_ptr self, proto::config_ptr cfg, std::string text,
                                      json vars) {
  auto& st = self->state;
  bool created = st.cfg == nullptr;
  auto now = st.ctx.now();
  if (created) st.created_at = now;
  st.updated_at = now;
  st.text = std::move(text);
  st.vars = std::move(vars);
  reconcile(self, std::move(cfg));
  spdlog::info("event=pipeline.{} pipeline={} jobs={} resources={}",
               created ? "created" : "updated", st.name, st.cfg->jobs.size(),
               st.cfg->resources.size());
  publish_pipeline(self, "set");
  return after_save(
      self,
      [self, created](reply_fn done) {
        full_json(self, [done, created](json p) {
          json view{{"pipeline", std::move(p)}};
          done(created ? domain::created(std::move(view)) : domain::done(std::move(view)));
        });
      },
      true);
}

/// Restores, then answers once every job restored its builds.
caf::result<bool> restore_and_answer(self_ptr self, proto::config_ptr cfg,
                                     persistence::stored_pipeline& stored) {
  restore(self, std::move(cfg), stored);
  auto rp = self->make_response_promise<bool>();
  auto& st = self->state;
  gather<bool>(
      self, job_actors(self), [rp](std::vector<std::optional<bool>>) mutable { rp.deliver(true); },
      proto::restore_atom::value, st.rule.mode, st.rule.cancel_running);
  return rp;
}

void shut_down(self_ptr self) {
  auto& st = self->state;
  publish_pipeline(self, "deleted");
  for (auto& [name, e] : st.jobs) {
    self->unlink_from(e.actor);
    self->send(e.actor, proto::shutdown_atom::value);
  }
  self->send(st.ctx.queue, proto::withdraw_atom::value, st.name);
  self->quit();  // linked checkers go with it
}

/// Cluster: the pipeline moves to another node. Unlike shut_down nothing is cancelled, withdrawn
/// or published: its jobs quit leaving their builds to the store, the queue drops its entries and
/// the dispatcher forgets the builds a worker holds (the worker goes on; the new owner adopts
/// them). Replies once the jobs are gone, then quits (trigger_hub::leave is attached).
caf::result<bool> hand_off(self_ptr self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<bool>();
  std::vector<proto::job_actor> jobs;
  for (auto& [name, e] : st.jobs) {
    self->unlink_from(e.actor);
    jobs.push_back(e.actor);
  }
  for (auto& [canonical, r] : st.resources) {
    self->unlink_from(r.checker);
    self->send_exit(r.checker, caf::exit_reason::user_shutdown);
  }
  gather<std::vector<std::int64_t>>(
      self, jobs,
      [self, rp](std::vector<std::optional<std::vector<std::int64_t>>> held) mutable {
        auto& st = self->state;
        std::vector<std::int64_t> ids;
        for (auto& h : held)
          if (h) ids.insert(ids.end(), h->begin(), h->end());
        self->send(st.ctx.queue, proto::withdraw_atom::value, st.name, true);
        if (!ids.empty())
          self->send(caf::actor_cast<proto::build_forgetter_actor>(st.ctx.dispatcher),
                     proto::forget_atom::value, std::move(ids));
        spdlog::info("event=pipeline.handed_off pipeline={}", st.name);
        rp.deliver(true);
        self->quit();
      },
      proto::handoff_atom::value);
  return rp;
}

/// Restart: the records are authoritative for status and inputs; the stored usage adds the
/// versions put steps produced.
void restored_builds(self_ptr self, const std::string& job,
                     const std::vector<proto::build_state>& builds) {
  auto& st = self->state;
  if (st.jobs.count(job) == 0) return;
  for (const auto& b : builds) {
    build_usage u;
    if (const auto* known = st.usage.find(b.id)) u = *known;
    u.job = job;
    u.pending = domain::is_unstarted(b.status);
    u.passed = b.status == build_status::succeeded || b.status == build_status::warning;
    for (const auto& [step, v] : b.gets) u.gets[step] = v;
    st.usage.record(b.id, std::move(u));
  }
}

/// A build of `job` was created or changed status: its usage, then the `passed` decisions.
void build_changed(self_ptr self, const std::string& job, std::int64_t id, build_status status,
                   std::map<std::string, std::int64_t> gets) {
  auto& st = self->state;
  if (st.jobs.count(job) == 0) return;
  bool passed = status == build_status::succeeded || status == build_status::warning;
  build_usage u{job, domain::is_unstarted(status), passed, std::move(gets)};
  // what its puts produced stays (implicit get-after-put, recorded by put_found)
  if (const auto* known = st.usage.find(id))
    for (const auto& [name, version] : known->gets) u.gets[name] = version;
  st.usage.record(id, std::move(u));
  save_usage(self, id);
  if (passed) apply_passed(self, evaluate_downstream(inputs(self), job));
  if (domain::is_unstarted(status)) return;
  // a build left the queue: `passed` triggers the full queue refused try again
  apply_passed(self, retry_passed(inputs(self)));
}

/// A put step of build `build_id` produced `versions` of `canonical`.
void put_found(self_ptr self, const std::string& canonical, const std::vector<json>& versions,
               std::int64_t build_id) {
  auto& st = self->state;
  if (st.resources.count(canonical) == 0) return;
  auto created = st.versions.add(canonical, versions, st.ctx.now());
  // implicit get-after-put: the build counts as having used what it put, even when that
  // version was known already
  const auto* res = st.cfg->find_resource(canonical);
  std::optional<version_id> put_version;
  if (!created.empty()) {
    put_version = created.back().id;
  } else if (!versions.empty()) {
    for (const auto& known : st.versions.list(canonical))
      if (known.version == versions.back()) put_version = known.id;
  }
  if (const auto* u = st.usage.find(build_id); put_version && res && u) {
    auto used = *u;
    used.gets[res->name] = *put_version;
    st.usage.record(build_id, std::move(used));
    save_usage(self, build_id);
  }
  save_versions(self, created);
  on_versions(self, canonical, created);
  if (!created.empty()) resource_changed(self, canonical);
  // a trigger event (the built-in type's put) reaches every pipeline declaring the same trigger
  const auto* type = res != nullptr ? st.cfg->find_resource_type(res->type) : nullptr;
  bool trigger_event = type != nullptr && res->type == "trigger" && type->push &&
                       type->push->runner == "pikoci-node" &&
                       type->push->params.count("handler") != 0 &&
                       type->push->params.at("handler") == "trigger.push";
  if (trigger_event && !created.empty()) {
    std::vector<json> events;
    for (const auto& v : created) events.push_back(v.version);
    st.ctx.triggers->publish(st.name, canonical, events);
  }
}

/// The command of the check of `canonical` that starts now.
proto::check_command check_command(self_ptr self, const std::string& canonical) {
  auto& st = self->state;
  const auto* res = st.cfg->find_resource(canonical);
  if (res == nullptr) return proto::check_command{std::nullopt, "resource gone", {}, {}};
  // a git delivery's .Webhook goes with the check that starts now (docs/webhooks.md)
  if (auto w = st.hook_wanted.find(canonical); w != st.hook_wanted.end()) {
    st.hook_checking[canonical] = std::move(w->second);
    st.hook_wanted.erase(w);
  } else {
    st.hook_checking.erase(canonical);
  }
  const auto* latest = st.versions.latest(canonical);
  return proto::check_command{
      make_check_command(*st.cfg, st.name, *res, latest ? latest->version : json(nullptr)), {},
      res->tags, make_secret_plan(*st.cfg, st.name)};
}

/// A check of `canonical` ended and found `versions`.
void check_found(self_ptr self, const std::string& canonical, const std::vector<json>& versions) {
  auto& st = self->state;
  if (st.resources.count(canonical) == 0) return;
  auto created = st.versions.add(canonical, versions, st.ctx.now());
  save_versions(self, created);
  json hook = json::object();
  if (auto w = st.hook_checking.find(canonical); w != st.hook_checking.end()) {
    hook = std::move(w->second);
    st.hook_checking.erase(w);
  }
  on_versions(self, canonical, created, hook);
  if (!st.ctx.local_run) create_triggered(self, canonical, retry_refused(inputs(self), canonical));
}

proto::pipeline_actor::behavior_type pipeline_behavior(self_ptr self, std::string name,
                                                       context ctx) {
  self->state.name = std::move(name);
  self->state.versions = version_store(ctx.version_ids);
  self->state.ctx = std::move(ctx);
  self->state.ctx.triggers->join(self->state.name, self->address());
  self->attach_functor([hub = self->state.ctx.triggers, name = self->state.name,
                        addr = self->address()](const caf::error&) { hub->leave(name, addr); });
  return guarded_behavior<proto::pipeline_actor::behavior_type>(
      self, [self] { return "pipeline=" + self->state.name; },
      // ---- operations (protocols/pipeline.hpp, protocols/job.hpp)
      [self](const proto::get_pipeline&) {
        return later(self, [self](reply_fn done) {
          full_json(self, [done](json p) { done(domain::done({{"pipeline", p}})); });
        });
      },
      [self](const proto::get_graph&) {
        return later(self, [self](reply_fn done) { graph(self, done); });
      },
      [self](const proto::pause_pipeline& p) { return pause(self, p); },
      [self](const proto::set_concurrency& c) -> caf::result<domain::reply> {
        auto r = set_rule(self, c);
        if (r.failed()) return r;
        return after_save(self, [r](reply_fn done) { done(r); });
      },
      [self](const proto::list_jobs&) {
        return later(self, [self](reply_fn done) {
          jobs_json(self, [done](json jobs) { done(domain::done({{"jobs", jobs}})); });
        });
      },
      [self](const proto::trigger_job& t) { return trigger(self, t); },
      [self](const proto::list_resources&) {
        return later(self, [self](reply_fn done) {
          std::vector<std::string> all;
          for (const auto& res : self->state.cfg->resources) all.push_back(res.canonical);
          resources_json(self, all, [done](json rs) { done(domain::done({{"resources", rs}})); });
        });
      },
      [self](const proto::check_resource& c) { return check(self, c); },
      [self](const proto::list_versions& v) { return versions(self, v); },
      [self](const proto::add_version& a) { return add_version(self, a); },
      [self](const proto::trigger_version& t) { return trigger_version(self, t); },
      [self](const proto::pin_resource& p) { return pin(self, p); },
      [self](const proto::webhook& w) { return token_webhook(self, w); },
      [self](const proto::regenerate_webhook_token& g) { return new_webhook_token(self, g); },
      [self](const proto::set_git_webhook& g) { return set_git_secret(self, g); },
      [self](const proto::git_webhook& g) { return git_delivery(self, g); },
      [self](const proto::get_job& g) { return to_job(self, g.job, g); },
      [self](const proto::list_builds& l) { return list_builds(self, l); },
      [self](const proto::get_build& g) { return get_build(self, g); },
      [self](const proto::cancel_build& c) { return to_job(self, c.job, c); },
      [self](const proto::retry_build& r) { return to_job(self, r.job, r); },
      [self](const proto::decide_build& d) { return to_job(self, d.job, d); },
      [self](const proto::mark_warning& w) { return to_job(self, w.job, w); },
      [self](const proto::watch_build& w) { return to_job(self, w.job, w); },
      [self](const proto::pause_job& p) { return pause_job(self, p); },
      [self](const proto::get_build_plan& p) { return to_job(self, p.job, p); },
      [self](proto::config_atom, proto::config_ptr cfg, std::string& text, json& vars) {
        return set_config(self, std::move(cfg), std::move(text), std::move(vars));
      },
      [self](proto::restore_atom, proto::config_ptr cfg, persistence::stored_pipeline& stored) {
        return restore_and_answer(self, std::move(cfg), stored);
      },
      [self](proto::summary_atom) { return summary(self); },
      [self](proto::dashboard_atom) -> caf::result<json> {
        auto rp = self->make_response_promise<json>();
        jobs_json(self, [self, rp](json jobs) mutable {
          rp.deliver(json{{"name", self->state.name},
                          {"paused", self->state.paused},
                          {"jobs", std::move(jobs)}});
        });
        return rp;
      },
      [self](proto::shutdown_atom) { shut_down(self); },
      [self](proto::handoff_atom) { return hand_off(self); },
      // ---- from jobs
      [self](proto::state_atom, const std::string& job, std::vector<proto::build_state>& builds) {
        restored_builds(self, job, builds);
      },
      [self](proto::state_atom, const std::string& job, std::int64_t id, build_status status,
             std::map<std::string, std::int64_t>& gets) {
        build_changed(self, job, id, status, std::move(gets));
      },
      [self](proto::found_atom, const std::string& canonical, std::vector<json>& versions,
             std::int64_t build_id) { put_found(self, canonical, versions, build_id); },
      // ---- from checkers
      [self](proto::command_atom, const std::string& canonical) {
        return check_command(self, canonical);
      },
      [self](proto::found_atom, const std::string& canonical, std::vector<json>& versions) {
        check_found(self, canonical, versions);
      },
      [self](proto::state_atom, const std::string& canonical, const json& state) {
        check_changed(self, canonical, state);
      });
}

}  // namespace

proto::pipeline_actor spawn_pipeline(caf::actor_system& sys, std::string name, context ctx) {
  // cluster mode: the pipeline draws the ids of its partition
  if (ctx.partition_count > 0 && !ctx.partition_build_ids.empty()) {
    auto k = static_cast<std::size_t>(persistence::partition_of(name, ctx.partition_count));
    ctx.build_ids = ctx.partition_build_ids.at(k);
    ctx.version_ids = ctx.partition_version_ids.at(k);
  }
  return sys.spawn(pipeline_behavior, std::move(name), std::move(ctx));
}

}  // namespace pikoci::server
