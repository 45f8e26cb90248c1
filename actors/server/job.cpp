#include "actors/server/job.hpp"

#include <algorithm>
#include <optional>

#include <spdlog/spdlog.h>

#include "actors/model/notification.hpp"
#include "actors/server/graph.hpp"
#include "actors/server/guard.hpp"
#include "actors/server/persist.hpp"
#include "actors/server/plan_builder.hpp"
#include "config/pipeline/duration.hpp"
#include "persistence/crash_point.hpp"
#include "persistence/keys.hpp"

namespace pikoci::server {
namespace {

using model::build_record;
using model::build_status;

struct job_state {
  job_setup setup;
  const pipeline::job* def = nullptr;  // inside setup.cfg
  model::build_numbering numbering;
  std::map<std::int64_t, build_record> builds;  // by id; ids grow, so newest last
  std::map<std::string, std::int64_t> by_number;
  // builds whose creation is not durable yet: a grant for one waits until it is (a build never
  // runs unrecorded)
  std::set<std::int64_t> unsaved;
  std::set<std::int64_t> finished;  // ids of builds that are over, oldest first (retention)
  std::map<std::int64_t, std::pair<proto::build_key, proto::slot_owner_actor>> deferred;
  // live event subscribers of builds that are not over (GET .../builds/{n}/events)
  std::map<std::int64_t, std::vector<proto::event_sink_ptr>> watchers;
  // builds waiting for approval: the queue rules they enter the queue with once approved
  std::map<std::int64_t, proto::build_rules> gate_rules;
};

using self_ptr = proto::job_actor::stateful_pointer<job_state>;

std::map<std::string, std::int64_t> gets_of(const build_record& b) {
  std::map<std::string, std::int64_t> gets;
  for (const auto& in : b.inputs) gets[in.name] = in.version_id;
  return gets;
}

/// The build's stored record, written with the next group commit.
persistence::write_op record_op(const build_record& b) {
  return {persistence::keys::build(b.pipeline, b.job, b.id), b.to_record(), false};
}

void save(self_ptr self, const build_record& b) {
  put(self, self->state.setup.ctx, {record_op(b)});
}

/// The build just ended: the pipeline's notifications that fire for it (docs/notifications.md)
/// are recorded in the same batch as its final status (`ops`) and handed to the outbox.
void notify_end(self_ptr self, const build_record& b, persistence::batch& ops) {
  auto& ctx = self->state.setup.ctx;
  if (!ctx.outbox) return;
  auto messages = model::automatic_notifications(*self->state.setup.cfg, b, ctx.now());
  if (messages.empty()) return;
  for (const auto& m : messages) ops.push_back(outbox_op(m));
  self->send(ctx.outbox, proto::enqueue_atom::value, std::move(messages));
}

/// A notify step of a built-in kind, or a hook holding some, was recorded: the outbox sends them
/// (ids from the build and the step record: a step run again is the same message).
void notify_step(self_ptr self, const build_record& b, const work::step_ref& ref) {
  auto& st = self->state;
  auto& ctx = st.setup.ctx;
  if (!ctx.outbox || st.def == nullptr) return;
  const auto& cfg = *st.setup.cfg;
  auto steps = outbox_notify_steps(cfg, *st.def, ref.type, ref.name, ref.job_hook);
  std::vector<model::notification_message> messages;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto* n = cfg.find_notification(steps[i]->canonical);
    auto id = "n-" + std::to_string(b.id) + "-" + ref.id;
    if (ref.type == "hook") id += "-" + std::to_string(i);
    messages.push_back(model::render(
        *n, model::delivery_kind(cfg, n->type), b, model::event_of(b.status),
        steps[i]->message ? steps[i]->message : n->message, ctx.now(), id, steps[i]->params));
  }
  enqueue_notifications(self, ctx, std::move(messages));
}

/// Retention: beyond `max_builds_per_job` finished builds, the oldest finished ones go (from
/// memory and the store). What they used stays with the pipeline, so `passed` is unchanged.
void prune(self_ptr self) {
  auto& st = self->state;
  auto cap = st.setup.ctx.max_builds_per_job;
  persistence::batch gone;
  while (st.finished.size() > cap) {
    auto id = *st.finished.begin();
    if (st.unsaved.count(id) != 0) break;  // its record is still being written
    st.finished.erase(st.finished.begin());
    auto it = st.builds.find(id);
    if (it == st.builds.end()) continue;
    gone.push_back(erase_key(persistence::keys::build(it->second.pipeline, it->second.job, id)));
    st.by_number.erase(it->second.number);
    st.builds.erase(it);
  }
  if (!gone.empty()) put(self, st.setup.ctx, std::move(gone));
}

/// One event's data as a line of JSON (log chunks are valid UTF-8 already; anything else is
/// replaced rather than thrown on).
std::string event_text(const nlohmann::json& data) {
  return hcl::to_json_text(data);
}

/// Pushes one event to the subscribers of build `id`, with the position it leaves them at as its
/// id; the ones that refuse are dropped.
void stream(self_ptr self, std::int64_t id, const char* type, const nlohmann::json& data) {
  auto& watchers = self->state.watchers;
  auto it = watchers.find(id);
  if (it == watchers.end()) return;
  auto b = self->state.builds.find(id);
  auto at = b == self->state.builds.end() ? std::string() : b->second.position().str();
  auto text = event_text(data);
  auto& sinks = it->second;
  sinks.erase(std::remove_if(sinks.begin(), sinks.end(),
                             [&](const proto::event_sink_ptr& s) { return !s->push(type, text, at); }),
              sinks.end());
  if (sinks.empty()) watchers.erase(it);
}

/// Every status change comes through here: the pipeline (for `passed`), the build's
/// subscribers (`build`, then `end` and the end of their streams once it is over: it is over
/// once it has its finished_at) and the node's status stream.
void tell_observer(self_ptr self, build_record& b) {
  auto& st = self->state;
  if (b.finished_at && st.finished.insert(b.id).second)
    st.setup.ctx.stats->build_finished(b.status, *b.finished_at);
  self->send(st.setup.observer, proto::state_atom::value, st.setup.name, b.id, b.status,
             gets_of(b));
  auto watched = st.watchers.find(b.id);
  if (watched == st.watchers.end() && !st.setup.ctx.events->wanted()) return;
  auto text = event_text(b.to_json(false));
  if (st.setup.ctx.events->wanted()) st.setup.ctx.events->publish(st.setup.pipeline, "build", text);
  if (watched == st.watchers.end()) return;
  auto at = b.position().str();
  for (const auto& sink : watched->second) {
    sink->push("build", text, at);
    if (b.finished_at) {
      sink->push("end", text, at);
      sink->close();
    }
  }
  if (b.finished_at) st.watchers.erase(watched);
}

build_record* find_number(self_ptr self, const std::string& number) {
  auto it = self->state.by_number.find(number);
  if (it == self->state.by_number.end()) return nullptr;
  return &self->state.builds.at(it->second);
}

build_record* find_key(self_ptr self, const proto::build_key& key) {
  auto it = self->state.builds.find(key.id);
  if (it == self->state.builds.end() || it->second.attempt != key.attempt) return nullptr;
  return &it->second;
}

domain::reply not_found_build(self_ptr self, const std::string& number) {
  return domain::fail(domain::errc::not_found,
                   "build " + number + " of job \"" + self->state.setup.name + "\" not found");
}

domain::reply not_waiting(const build_record& b) {
  return domain::fail(domain::errc::conflict, "build " + b.number + " of job \"" + b.job +
                                                  "\" is not waiting for approval (" +
                                                  model::to_string(b.status) + ")");
}

/// Answers with build `id` once `ops` (its record, with what goes with it) are durable. When the
/// store takes no writes the change stands here and is written once it does; the answer says so.
void answer_recorded(self_ptr self, std::int64_t id, persistence::batch ops, std::string what,
                     caf::typed_response_promise<domain::reply> rp) {
  auto j = self->state.builds.at(id).to_json(false);
  write_then(self, self->state.setup.ctx, std::move(ops),
             [self, rp, id, j = std::move(j), what = std::move(what)](bool ok) mutable {
               if (ok) {
                 rp.deliver(domain::done({{"build", std::move(j)}}));
                 return;
               }
               if (auto it = self->state.builds.find(id); it != self->state.builds.end())
                 put(self, self->state.setup.ctx, {record_op(it->second)});
               rp.deliver(domain::fail(domain::errc::store_unavailable,
                                       "the store could not record " + what));
             });
}

caf::result<domain::reply> answer_recorded(self_ptr self, std::int64_t id, persistence::batch ops,
                                           std::string what) {
  auto rp = self->make_response_promise<domain::reply>();
  answer_recorded(self, id, std::move(ops), std::move(what), rp);
  return rp;
}

/// The final status of a build the worker decided, `allow_failure` applied.
build_status final_status(const pipeline::job* def, work::status st) {
  return st == build_status::failed && def && def->allow_failure ? build_status::warning : st;
}

void grant(self_ptr self, proto::build_key key, const proto::slot_owner_actor& slots);
caf::result<domain::reply> admit_approved(self_ptr self, build_record& b);
void record_dispatch(self_ptr self, proto::build_key key, proto::slot_owner_actor slots,
                     proto::plan_ptr plan, std::vector<std::string> tags);

/// Answers 201 once the new build's record is durable; a grant that came meanwhile runs now.
void acknowledge(self_ptr self, std::int64_t id, caf::typed_response_promise<domain::reply> rp) {
  auto& st = self->state;
  st.unsaved.insert(id);
  write_then(self, st.setup.ctx, {record_op(st.builds.at(id))}, [self, id, rp](bool ok) mutable {
    auto& st = self->state;
    st.unsaved.erase(id);
    auto it = st.builds.find(id);
    if (!ok && it != st.builds.end()) {
      // Not recorded, so not acknowledged: the build is withdrawn and never runs (its number is
      // not given again in this run).
      auto& ctx = st.setup.ctx;
      if (auto d = st.deferred.find(id); d != st.deferred.end()) {
        self->send(d->second.second, proto::release_atom::value, id);
        st.deferred.erase(d);
      }
      self->send(ctx.queue, proto::withdraw_atom::value, id);
      spdlog::warn("event=build.not_recorded pipeline={} job={} build={} number={}",
                   it->second.pipeline, it->second.job, id, it->second.number);
      st.by_number.erase(it->second.number);
      st.builds.erase(it);
      rp.deliver(domain::fail(domain::errc::store_unavailable, "the store could not record build " + std::to_string(id) +
                                        "; it was not created"));
      return;
    }
    if (auto d = st.deferred.find(id); d != st.deferred.end()) {
      auto [key, slots] = d->second;
      st.deferred.erase(d);
      grant(self, key, slots);
    }
    if (!ok || it == st.builds.end()) {
      rp.deliver(domain::fail(domain::errc::internal,
                           "the store could not record build " + std::to_string(id)));
      return;
    }
    persistence::crash_point("before_ack");
    rp.deliver(domain::created({{"build", it->second.to_json(false)}}));
    prune(self);  // a build recorded finished at once (skipped, failed) counts too
  });
}

/// The job's approval gate for new build `b`: whether it waits. A retry of a build that passed
/// the gate carries its approvals over and does not wait again; any other retry waits.
bool enter_gate(self_ptr self, build_record& b, const std::optional<std::string>& retry_of) {
  const auto& gate = self->state.def->approve;
  if (!gate) return false;
  if (const auto* parent = retry_of ? find_number(self, *retry_of) : nullptr;
      parent != nullptr && parent->passed_gate()) {
    b.approvals_required = parent->approvals_required;
    b.approvals = parent->approvals;
    return false;
  }
  b.status = build_status::waiting_for_approval;
  b.approvals_required = gate->approvals;
  return true;
}

/// The gate's notify steps of built-in kinds, sent through the outbox when a build starts
/// waiting (validation refuses the kinds a command sends).
void notify_gate(self_ptr self, const build_record& b) {
  auto& st = self->state;
  auto& ctx = st.setup.ctx;
  if (!ctx.outbox) return;
  const auto& cfg = *st.setup.cfg;
  const auto& steps = st.def->approve->notify;
  std::vector<model::notification_message> messages;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto* n = cfg.find_notification(steps[i].canonical);
    if (n == nullptr) continue;
    auto kind = model::delivery_kind(cfg, n->type);
    if (kind.empty()) continue;
    messages.push_back(model::render(
        *n, kind, b, "approval", steps[i].message ? steps[i].message : n->message, ctx.now(),
        "a-" + std::to_string(b.id) + "-" + std::to_string(i), steps[i].params));
  }
  enqueue_notifications(self, ctx, std::move(messages));
}

/// The approval timeout of waiting build `b` fires when it is due under the job's current gate
/// (a gate without a timeout never ends a build). A timer that fires early re-arms itself.
void arm_gate_timeout(self_ptr self, const build_record& b) {
  const auto& gate = self->state.def->approve;
  if (!gate || !gate->timeout) return;
  auto due = b.created_at + std::chrono::duration_cast<model::time_point::duration>(*gate->timeout);
  auto left = std::max(due - self->state.setup.ctx.now(), model::time_point::duration::zero());
  self->delayed_send(self, left, proto::due_atom::value, b.id);
}

void gate_timeout_due(self_ptr self, std::int64_t id) {
  auto& st = self->state;
  auto it = st.builds.find(id);
  if (it == st.builds.end() || it->second.status != build_status::waiting_for_approval) return;
  auto& b = it->second;
  const auto& gate = st.def->approve;
  if (!gate || !gate->timeout) return;
  auto& ctx = st.setup.ctx;
  if (ctx.now() <
      b.created_at + std::chrono::duration_cast<model::time_point::duration>(*gate->timeout)) {
    arm_gate_timeout(self, b);
    return;
  }
  b.status = build_status::failed;
  b.reason = "approval timed out after " + pipeline::format_duration(*gate->timeout);
  b.finished_at = ctx.now();
  st.gate_rules.erase(id);
  spdlog::info("event=build.approval_timeout pipeline={} job={} build={} number={}", b.pipeline,
               b.job, b.id, b.number);
  tell_observer(self, b);
  persistence::batch ops{record_op(b)};
  notify_end(self, b, ops);
  put(self, ctx, std::move(ops));
  prune(self);
}

/// A new build waits at the gate: recorded (answered once durable, like any new build), held
/// outside the execution queue with the rules it enters it with once approved.
void wait_for_approval(self_ptr self, build_record b, proto::build_rules rules,
                       caf::typed_response_promise<domain::reply> rp) {
  auto& st = self->state;
  st.gate_rules[b.id] = std::move(rules);
  st.by_number[b.number] = b.id;
  auto& stored = st.builds[b.id] = std::move(b);
  spdlog::info("event=build.waiting_for_approval pipeline={} job={} build={} number={} needs={}",
               stored.pipeline, stored.job, stored.id, stored.number, stored.approvals_required);
  tell_observer(self, stored);
  acknowledge(self, stored.id, rp);
  arm_gate_timeout(self, stored);
  notify_gate(self, stored);
}

/// Cancels a build that has not finished, for `reason`. One not started yet (pending, or waiting
/// for approval) ends at once and leaves the queue (if the queue dispatched it meanwhile, `accepted` arrives for a cancelled
/// build and cancels the run); a started one is stopped through the dispatcher and ends when its
/// worker reports. The store operations that record it.
persistence::batch stop_unfinished(self_ptr self, build_record& b, std::string reason) {
  auto& ctx = self->state.setup.ctx;
  auto was = b.status;
  bool was_started = !model::is_unstarted(was);
  b.status = build_status::cancelled;
  b.reason = std::move(reason);
  self->state.gate_rules.erase(b.id);
  if (was_started) {
    self->send(ctx.dispatcher, proto::cancel_atom::value, proto::build_key{b.id, b.attempt},
               b.reason);
  } else {
    self->send(ctx.queue, proto::withdraw_atom::value, b.id);
    b.finished_at = ctx.now();
  }
  spdlog::info("event=build.cancel pipeline={} job={} build={} number={} was={} reason=\"{}\"",
               b.pipeline, b.job, b.id, b.number, model::to_string(was), b.reason);
  tell_observer(self, b);
  persistence::batch ops{record_op(b)};
  if (!was_started) notify_end(self, b, ops);  // ended without running
  return ops;
}

/// `interruptible`: a new build of the job cancels the job's older builds that have not finished.
void interrupt_older_builds(self_ptr self, const build_record& newer) {
  if (!self->state.def->interruptible) return;
  for (auto& [id, b] : self->state.builds) {
    if (id >= newer.id || model::is_terminal(b.status)) continue;
    put(self, self->state.setup.ctx,
        stop_unfinished(self, b, "superseded by build #" + newer.number));
  }
}

/// The queue entry of build `b` under `rules` (the job's own limits added).
proto::queued_build queue_entry(self_ptr self, const build_record& b, proto::build_rules rules) {
  proto::queued_build q{{b.id, b.attempt},
                        b.pipeline,
                        b.job,
                        b.number,
                        b.created_at,
                        caf::actor_cast<proto::build_owner_actor>(self),
                        std::move(rules)};
  q.rules.job_concurrency = self->state.def->concurrency;
  q.rules.serial_groups = self->state.def->serial_groups;
  q.tags = self->state.def->tags;
  return q;
}

/// Creates the record and its queue entry. The plan is made when the queue grants the slot, so
/// a queued build is its record and a compact queue entry. The mailbox waits for the queue's
/// answer so a rejected build leaves no trace (its number is reused).
caf::result<domain::reply> create(self_ptr self, proto::build_spec spec,
                                  std::optional<std::string> retry_of) {
  auto& st = self->state;
  build_record b;
  b.id = spec.id;
  b.pipeline = st.setup.pipeline;
  b.job = st.setup.name;
  b.number = retry_of ? st.numbering.next_retry(*retry_of) : st.numbering.next();
  b.trigger = std::move(spec.trigger);
  b.created_at = st.setup.ctx.now();
  b.inputs = std::move(spec.inputs);
  b.input_values = std::move(spec.values);
  if (spec.rules.mode == "group") b.concurrency_group = spec.rules.group;
  auto rp = self->make_response_promise<domain::reply>();
  if (spec.failure.empty() && !st.setup.ctx.local_run && enter_gate(self, b, retry_of)) {
    auto id = b.id;
    wait_for_approval(self, std::move(b), std::move(spec.rules), rp);
    interrupt_older_builds(self, st.builds.at(id));
    return rp;
  }
  if (!spec.failure.empty()) {
    b.status = build_status::failed;
    b.reason = std::move(spec.failure);
    b.finished_at = b.created_at;
    st.by_number[b.number] = b.id;
    auto& stored = st.builds[b.id] = std::move(b);
    tell_observer(self, stored);
    acknowledge(self, stored.id, rp);
    return rp;
  }
  auto q = queue_entry(self, b, std::move(spec.rules));
  auto number = b.number;
  st.by_number[number] = b.id;
  st.builds[b.id] = std::move(b);
  self->request(st.setup.ctx.queue, caf::infinite, proto::enqueue_atom::value, std::move(q))
      .await(
          [self, rp, id = spec.id, number](proto::admission& a) mutable {
            auto& st = self->state;
            using outcome = proto::admission::outcome;
            if (a.result == outcome::rejected) {
              st.builds.erase(id);
              st.by_number.erase(number);
              st.numbering.forget(number);
              rp.deliver(domain::fail(std::move(a.rejection)));
              return;
            }
            auto& b = st.builds.at(id);
            b.queue_seq = a.seq;
            if (a.result == outcome::skipped) {
              b.status = build_status::skipped;
              b.reason = a.reason;
              b.finished_at = st.setup.ctx.now();
            } else {
              interrupt_older_builds(self, b);
            }
            tell_observer(self, b);
            acknowledge(self, id, rp);
          },
          [self, rp, id = spec.id, number](caf::error& e) mutable {
            auto& st = self->state;
            st.builds.erase(id);
            st.by_number.erase(number);
            st.numbering.forget(number);
            rp.deliver(domain::fail(domain::errc::internal, "execution queue: " + caf::to_string(e)));
          });
  return rp;
}

caf::result<domain::reply> cancel(self_ptr self, const proto::cancel_build& req) {
  auto* b = find_number(self, req.number);
  if (req.number.empty())
    if (auto it = self->state.builds.find(req.id); it != self->state.builds.end()) b = &it->second;
  if (b == nullptr) return not_found_build(self, req.number);
  if (model::is_terminal(b->status))
    return domain::fail(domain::errc::conflict, "build " + req.number + " of job \"" + b->job +
                                               "\" already finished (" +
                                               model::to_string(b->status) + ")");
  std::string reason =
      req.by.empty() ? "cancelled" : req.number.empty() ? req.by : "cancelled by " + req.by;
  auto id = b->id;
  return answer_recorded(self, id, stop_unfinished(self, *b, std::move(reason)), "the cancel");
}

/// POST .../approve and /reject. An approval from a user who approved already changes nothing
/// (answered with the build as it is); the last approval needed admits the build to the queue.
caf::result<domain::reply> decide(self_ptr self, const proto::decide_build& d) {
  auto& st = self->state;
  auto* b = find_number(self, d.number);
  if (b == nullptr) return not_found_build(self, d.number);
  if (b->status != build_status::waiting_for_approval) return not_waiting(*b);
  if (d.approve && b->approved_by(d.by)) return domain::done({{"build", b->to_json(false)}});
  auto& ctx = st.setup.ctx;
  b->approvals.push_back({d.by, d.approve, d.message, ctx.now()});
  spdlog::info("event=build.{} pipeline={} job={} build={} number={} by={}",
               d.approve ? "approved" : "rejected", b->pipeline, b->job, b->id, b->number, d.by);
  if (d.approve && b->passed_gate()) return admit_approved(self, *b);
  persistence::batch ops;
  if (!d.approve) {
    b->status = build_status::failed;
    b->reason = "rejected by " + d.by + (d.message.empty() ? "" : ": " + d.message);
    b->finished_at = ctx.now();
    st.gate_rules.erase(b->id);
    notify_end(self, *b, ops);
  }
  ops.insert(ops.begin(), record_op(*b));
  tell_observer(self, *b);
  auto id = b->id;
  auto answer =
      answer_recorded(self, id, std::move(ops), d.approve ? "the approval" : "the rejection");
  prune(self);
  return answer;
}

/// The gate let `b` through: it enters the execution queue as a new build does (the mailbox
/// waits for the admission). A queue that refuses it (full, draining) leaves it waiting without
/// the last approval, so the same approval can be given again later.
caf::result<domain::reply> admit_approved(self_ptr self, build_record& b) {
  auto& st = self->state;
  auto rules = st.gate_rules.count(b.id) != 0 ? st.gate_rules.at(b.id) : proto::build_rules{};
  auto rp = self->make_response_promise<domain::reply>();
  auto take_back = [self, id = b.id] { self->state.builds.at(id).approvals.pop_back(); };
  self->request(st.setup.ctx.queue, caf::infinite, proto::enqueue_atom::value,
                queue_entry(self, b, std::move(rules)))
      .await(
          [self, rp, take_back, id = b.id](proto::admission& a) mutable {
            auto& st = self->state;
            if (a.result == proto::admission::outcome::rejected) {
              take_back();
              rp.deliver(domain::fail(std::move(a.rejection)));
              return;
            }
            st.gate_rules.erase(id);
            auto& b = st.builds.at(id);
            b.queue_seq = a.seq;
            b.status = build_status::pending;
            if (a.result == proto::admission::outcome::skipped) {
              b.status = build_status::skipped;
              b.reason = a.reason;
              b.finished_at = st.setup.ctx.now();
            }
            tell_observer(self, b);
            answer_recorded(self, id, {record_op(b)}, "the approval", rp);
          },
          [rp, take_back](caf::error& e) mutable {
            take_back();
            rp.deliver(
                domain::fail(domain::errc::internal, "execution queue: " + caf::to_string(e)));
          });
  return rp;
}

/// POST .../warning: a failed build counts as passing from now on (downstream `passed` is
/// evaluated again, as after a success).
caf::result<domain::reply> mark_warning(self_ptr self, const proto::mark_warning& w) {
  auto* b = find_number(self, w.number);
  if (b == nullptr) return not_found_build(self, w.number);
  if (b->status != build_status::failed || !b->finished_at)
    return domain::fail(domain::errc::conflict,
                        "build " + b->number + " of job \"" + b->job + "\" is " +
                            (b->finished_at ? model::to_string(b->status) : "still running") +
                            ": only a failed build can be marked as warning");
  b->status = build_status::warning;
  b->reason = "marked as warning by " + w.by + (b->reason.empty() ? "" : " (" + b->reason + ")");
  spdlog::info("event=build.marked_warning pipeline={} job={} build={} number={} by={}",
               b->pipeline, b->job, b->id, b->number, w.by);
  tell_observer(self, *b);
  return answer_recorded(self, b->id, {record_op(*b)}, "the warning");
}

caf::result<domain::reply> retry(self_ptr self, const proto::retry_build& req) {
  auto& st = self->state;
  auto* parent = find_number(self, req.number);
  if (parent == nullptr) return not_found_build(self, req.number);
  if (!model::is_terminal(parent->status))
    return domain::fail(domain::errc::conflict, "build " + req.number + " of job \"" + parent->job +
                                               "\" is still " + model::to_string(parent->status));
  if (st.def->disable_retry)
    return domain::fail(domain::errc::conflict, "job \"" + parent->job + "\" has disable_retry");
  proto::build_spec spec;
  spec.id = st.setup.ctx.build_ids->next();
  spec.trigger = {{"type", domain::to_string(domain::trigger_type::retry)}, {"build", parent->number}, {"build_id", parent->id}};
  if (!req.user.empty()) spec.trigger["user"] = req.user;
  spec.inputs = parent->inputs;  // the exact versions of the parent (reference §5.2)
  return create(self, std::move(spec), parent->number);
}

domain::reply list(self_ptr self, const proto::list_builds& req) {
  auto out = nlohmann::json::array();
  const auto& builds = self->state.builds;
  for (auto it = builds.rbegin(); it != builds.rend(); ++it) {
    if (!req.statuses.empty() && req.statuses.count(it->second.status) == 0) continue;
    out.push_back(it->second.to_json(false));
    if (req.limit != 0 && out.size() >= req.limit) break;
  }
  return domain::done({{"builds", std::move(out)}});
}

nlohmann::json job_json(self_ptr self) {
  const auto& def = *self->state.def;
  return {{"name", def.name},
          {"paused", self->state.setup.paused},
          {"plan", plan_outline(def.plan)},
          {"inputs", inputs_json(def)},
          {"concurrency", def.concurrency > 0 ? nlohmann::json(def.concurrency) : nullptr},
          {"serial_groups", def.serial_groups}};
}

/// `running`: the builds a worker runs now (status `started`), what the UI animates.
nlohmann::json summary(self_ptr self) {
  const auto& builds = self->state.builds;
  std::size_t running = 0;
  for (const auto& [id, b] : builds) running += b.status == build_status::started;
  return {{"name", self->state.setup.name},
          {"paused", self->state.setup.paused},
          {"latest_build",
           builds.empty() ? nlohmann::json(nullptr) : builds.rbegin()->second.to_json(false)},
          {"running", running}};
}

/// GET .../builds/{n}/events: the build so far (`build`, then every step with its output), then
/// live events until it ends (`end`). With the id of an event the subscriber got before
/// (`Last-Event-ID`), only what came after it; an id that names no position of this build
/// replays it all, after a `reset` event.
domain::reply watch(self_ptr self, const proto::watch_build& w) {
  auto* b = find_number(self, w.number);
  if (b == nullptr) return not_found_build(self, w.number);
  auto summary = event_text(b->to_json(false));
  auto visit = [&](const char* type, nlohmann::json data, const std::string& id) {
    w.sink->push(type, event_text(data), id);
  };
  std::optional<model::stream_position> from;
  if (!w.last_event_id.empty()) from = model::stream_position::parse(w.last_event_id);
  // the current summary first: statuses are state, not a stream to resume
  if (from) {
    // resume() visits nothing when `from` is not a position of this build
    bool opened = false;
    auto open = [&] {
      if (!opened) w.sink->push("build", summary, from->str());
      opened = true;
    };
    if (b->resume(*from, [&](const char* t, nlohmann::json d, const std::string& id) {
          open();
          visit(t, std::move(d), id);
        })) {
      open();
    } else {
      from.reset();
    }
  }
  if (!from) {
    if (!w.last_event_id.empty()) {
      spdlog::info("event=sse.resume_reset pipeline={} job={} build={} last_event_id=\"{}\"",
                   b->pipeline, b->job, b->id, w.last_event_id.substr(0, 64));
      w.sink->push("reset", "{}", model::stream_position{}.str());
    }
    w.sink->push("build", summary, model::stream_position{}.str());
    b->replay(visit);
  }
  if (b->finished_at) {
    w.sink->push("end", summary, b->position().str());
    w.sink->close();
  } else {
    self->state.watchers[b->id].push_back(w.sink);
  }
  return domain::done(nullptr);
}

/// GET .../builds/{n}: a pending build says why it waits, as the queue sees it now.
caf::result<domain::reply> get(self_ptr self, const proto::get_build& g) {
  const build_record* b = nullptr;
  if (!g.number.empty()) {
    b = find_number(self, g.number);
  } else if (auto it = self->state.builds.find(g.id); it != self->state.builds.end()) {
    b = &it->second;
  }
  if (b == nullptr) return not_found_build(self, g.number);
  if (b->status == build_status::waiting_for_approval) {
    auto j = b->to_json(true);
    j["blocked_by"] = "approval";
    return domain::done({{"build", std::move(j)}});
  }
  if (b->status != build_status::pending) return domain::done({{"build", b->to_json(true)}});
  auto rp = self->make_response_promise<domain::reply>();
  self->request(self->state.setup.ctx.queue, caf::infinite, proto::queue_atom::value, b->id)
      .then(
          [rp, j = b->to_json(true)](std::string& why) mutable {
            if (!why.empty()) j["blocked_by"] = why;
            rp.deliver(domain::done({{"build", std::move(j)}}));
          },
          [rp, j = b->to_json(true)](caf::error&) mutable {
            rp.deliver(domain::done({{"build", std::move(j)}}));
          });
  return rp;
}

/// The plan of `b` from the job's current definition and the build's versions and inputs; the
/// reason when it cannot be made.
std::variant<proto::plan_ptr, std::string> plan_of(self_ptr self, const build_record& b,
                                                   int attempt) {
  auto& st = self->state;
  build_request req;
  req.build_id = b.id;
  req.attempt = attempt;
  req.pipeline = b.pipeline;
  req.number = b.number;
  req.inputs = b.input_values;
  for (const auto& in : b.inputs) req.versions[in.name] = in.version;
  auto planned = make_build_plan(*st.setup.cfg, *st.def, req);
  if (auto* reason = std::get_if<std::string>(&planned)) return std::move(*reason);
  auto plan = std::make_shared<work::build_plan>(std::get<work::build_plan>(std::move(planned)));
  plan->env["BUILD_ID"] = std::to_string(b.id);
  return proto::plan_ptr(std::move(plan));
}

/// GET .../builds/{n}/plan: made now like the build's dispatch makes it, so the same plan the
/// build got when it started unless the pipeline was set again since.
domain::reply plan_view(self_ptr self, const proto::get_build_plan& req) {
  const auto* b = find_number(self, req.number);
  if (b == nullptr) return not_found_build(self, req.number);
  auto planned = plan_of(self, *b, b->attempt);
  if (auto* reason = std::get_if<std::string>(&planned))
    return domain::fail(domain::errc::conflict,
                        "the plan of build " + req.number + " cannot be made: " + *reason);
  return domain::done({{"plan", work::to_json(*std::get<proto::plan_ptr>(planned))}});
}

/// The queue granted `key` its slot: the plan is made from the job's current definition and the
/// build's versions and inputs, then handed to the worker side. A build that ended meanwhile
/// (cancelled, superseded) gives the slot back; one whose plan cannot be made is `errored`.
void grant(self_ptr self, proto::build_key key, const proto::slot_owner_actor& slots) {
  auto& st = self->state;
  if (st.unsaved.count(key.id) != 0) {
    st.deferred[key.id] = {key, slots};
    return;
  }
  auto* b = find_key(self, key);
  if (b == nullptr || b->status != build_status::pending) {
    self->send(slots, proto::release_atom::value, key.id);
    return;
  }
  auto planned = plan_of(self, *b, key.attempt);
  if (auto* reason = std::get_if<std::string>(&planned)) {
    b->status = build_status::errored;
    b->reason = *reason;
    b->finished_at = st.setup.ctx.now();
    spdlog::info(
        "event=build.finished pipeline={} job={} build={} number={} status=errored "
        "reason=\"{}\"",
        b->pipeline, b->job, b->id, b->number, b->reason);
    tell_observer(self, *b);
    persistence::batch ops{record_op(*b)};
    notify_end(self, *b, ops);
    put(self, st.setup.ctx, std::move(ops));
    self->send(slots, proto::release_atom::value, key.id);
    return;
  }
  auto plan = std::get<proto::plan_ptr>(std::move(planned));
  // recorded as dispatched before any process can start: after a crash such a build is
  // orphaned, never run a second time
  b->dispatched = true;
  record_dispatch(self, key, slots, std::move(plan), st.def->tags);
}

/// Runs the build once "dispatched" is durable. While the store takes no writes the build keeps
/// its slot and stays pending; the store writer retries every second, and so does this.
void record_dispatch(self_ptr self, proto::build_key key, proto::slot_owner_actor slots,
                     proto::plan_ptr plan, std::vector<std::string> tags) {
  auto* b = find_key(self, key);
  if (b == nullptr) {
    self->send(slots, proto::release_atom::value, key.id);
    return;
  }
  write_then(self, self->state.setup.ctx, {record_op(*b)},
             [self, key, slots, plan = std::move(plan), tags = std::move(tags)](bool ok) mutable {
               auto* b = find_key(self, key);
               if (b == nullptr || b->status != build_status::pending) {
                 self->send(slots, proto::release_atom::value, key.id);
                 return;
               }
               if (!ok) {
                 record_dispatch(self, key, slots, std::move(plan), std::move(tags));
                 return;
               }
               self->send(
                   self->state.setup.ctx.dispatcher, proto::run_build_atom::value,
                   proto::build_work{key, plan, std::move(tags),
                                     caf::actor_cast<proto::build_events_actor>(self), slots});
             });
}

/// The job leaves (re-set without it, pipeline deleted): nothing of it keeps running.
void shut_down(self_ptr self) {
  auto& ctx = self->state.setup.ctx;
  for (auto& [id, b] : self->state.builds) {
    if (b.status == build_status::pending) {
      self->send(ctx.queue, proto::withdraw_atom::value, id);
    } else if (b.status == build_status::started) {
      self->send(ctx.dispatcher, proto::cancel_atom::value, proto::build_key{id, b.attempt},
                 std::string("job removed"));
    }
  }
  for (auto& [id, sinks] : self->state.watchers)
    for (const auto& sink : sinks) sink->close();
  self->quit();
}

/// Cluster: the job moves to another node with its pipeline. Nothing is cancelled, withdrawn or
/// written: the store holds its builds for the next owner, which restores them like a restart
/// does. Watchers' streams end (the client reconnects to the new owner). Returns the builds a
/// worker may hold, for the dispatcher to forget.
std::vector<std::int64_t> hand_off(self_ptr self) {
  std::vector<std::int64_t> out;
  for (const auto& [id, b] : self->state.builds)
    if (b.status == build_status::started || (b.status == build_status::pending && b.dispatched))
      out.push_back(id);
  for (auto& [id, sinks] : self->state.watchers)
    for (const auto& sink : sinks) sink->close();
  self->state.watchers.clear();
  self->quit();
  return out;
}

/// Restart: the stored builds are the job's again. One that was started ran on a worker that
/// went with the node (the embedded one) and is `errored`.
void adopt_restored(self_ptr self) {
  auto& st = self->state;
  std::vector<proto::build_state> states;
  states.reserve(st.setup.restored.size());
  for (const auto& text : st.setup.restored) {
    build_record b;
    try {
      b = build_record::from_record(text);
    } catch (const std::exception& e) {
      spdlog::error("event=store.bad_record pipeline={} job={} error=\"{}\" (skipped)",
                    st.setup.pipeline, st.setup.name, e.what());
      continue;
    }
    st.setup.ctx.build_ids->observe(b.id);
    st.numbering.observe(b.number);
    st.by_number[b.number] = b.id;
    auto& rec = st.builds[b.id] = std::move(b);
    // handed to the worker side and not over: it was running when the node stopped (its status
    // may already be final: decided or cancelled, with job hooks still to run)
    bool ran = !rec.finished_at && (!model::is_unstarted(rec.status) || rec.dispatched);
    if (ran && !st.setup.ctx.remote_workers) {
      if (!model::is_terminal(rec.status)) {
        rec.status = build_status::errored;
        rec.reason = st.setup.orphan_reason;
      }
      rec.finished_at = st.setup.ctx.now();
      spdlog::warn("event=build.orphaned pipeline={} job={} build={} number={} status={}",
                   rec.pipeline, rec.job, rec.id, rec.number, model::to_string(rec.status));
      persistence::batch ops{record_op(rec)};
      notify_end(self, rec, ops);  // it never reached build_done
      put(self, st.setup.ctx, std::move(ops));
    }
    if (rec.finished_at) st.finished.insert(rec.id);
    states.push_back({rec.id, rec.status, gets_of(rec)});
  }
  st.setup.restored.clear();
  st.setup.restored.shrink_to_fit();
  self->send(st.setup.observer, proto::state_atom::value, st.setup.name, std::move(states));
  prune(self);  // the cap may be lower than when they were kept
}

/// Restart with remote workers: a build that was handed to the worker side may still run on a
/// worker. It counts as started in the queue and its events reach this job again; when its
/// worker is gone, the dispatcher sends it out again or ends it.
void adopt_running(self_ptr self, const build_record& b, proto::queued_build q) {
  auto& ctx = self->state.setup.ctx;
  auto planned = plan_of(self, b, b.attempt);
  if (auto* reason = std::get_if<std::string>(&planned)) {
    // without a plan it could not be sent again; it still counts until its worker reports
    spdlog::warn("event=build.adopted_without_plan build={} reason=\"{}\"", b.id, *reason);
  }
  auto* plan = std::get_if<proto::plan_ptr>(&planned);
  spdlog::info("event=build.adopted pipeline={} job={} build={} attempt={} worker={}", b.pipeline,
               b.job, b.id, b.attempt, b.worker);
  q.running = b.status != build_status::pending && !b.worker.empty();
  self->send(ctx.queue, proto::adopt_atom::value, std::move(q));
  self->send(ctx.dispatcher, proto::adopt_atom::value,
             proto::build_work{{b.id, b.attempt},
                               plan ? *plan : nullptr,
                               self->state.def->tags,
                               caf::actor_cast<proto::build_events_actor>(self),
                               caf::actor_cast<proto::slot_owner_actor>(ctx.queue)},
             b.worker);
}

/// Restart: pending builds go back to the queue with their stored places; with remote workers,
/// builds already handed out are adopted (adopt_running).
caf::result<bool> requeue(self_ptr self, const std::string& mode, bool cancel_running) {
  auto& st = self->state;
  auto rp = self->make_response_promise<bool>();
  auto left = std::make_shared<std::size_t>(1);
  auto one_done = [rp, left]() mutable {
    if (--*left == 0) rp.deliver(true);
  };
  for (const auto& [id, b] : st.builds) {
    if (b.finished_at) continue;
    proto::build_rules rules;
    rules.mode = mode;
    rules.cancel_running = cancel_running;
    rules.group = b.concurrency_group.value_or("");
    if (b.status == build_status::waiting_for_approval) {  // still outside the queue
      st.gate_rules[id] = std::move(rules);
      arm_gate_timeout(self, b);
      continue;
    }
    bool handed_out = b.status != build_status::pending || b.dispatched;
    auto q = queue_entry(self, b, std::move(rules));
    q.seq = b.queue_seq != 0 ? b.queue_seq : static_cast<std::uint64_t>(b.id);
    if (handed_out) {  // only with remote workers: adopt_restored orphaned them otherwise
      adopt_running(self, b, std::move(q));
      continue;
    }
    ++*left;
    self->request(st.setup.ctx.queue, caf::infinite, proto::enqueue_atom::value, std::move(q))
        .then([one_done](proto::admission&) mutable { one_done(); },
              [one_done](caf::error&) mutable { one_done(); });
  }
  one_done();
  return rp;
}

/// The pipeline was set again: the job keeps its definition when the new config has it.
void configure(self_ptr self, proto::config_ptr cfg, bool paused) {
  auto& st = self->state;
  if (const auto* def = cfg->find_job(st.setup.name)) {
    st.setup.cfg = std::move(cfg);
    st.def = def;
    // the gate's timeout may have changed: waiting builds time out under the new one
    for (const auto& [id, b] : st.builds)
      if (b.status == build_status::waiting_for_approval) arm_gate_timeout(self, b);
  }
  st.setup.paused = paused;
}

/// The dispatcher sends the build out again as `key` (its worker was lost: `reason`): the new
/// attempt runs every step again; the earlier one's steps and output stay under its marker, and
/// its events are ignored from now on.
void redispatched(self_ptr self, proto::build_key key, const std::string& reason) {
  auto it = self->state.builds.find(key.id);
  if (it == self->state.builds.end() || key.attempt <= it->second.attempt ||
      model::is_terminal(it->second.status))
    return;
  auto& rec = it->second;
  rec.begin_attempt(key.attempt, reason);
  spdlog::info("event=build.attempt pipeline={} job={} build={} attempt={} reason=\"{}\"",
               rec.pipeline, rec.job, rec.id, rec.attempt, reason);
  if (self->state.watchers.count(key.id) != 0) stream(self, key.id, "attempt", rec.attempt_event());
  tell_observer(self, rec);
  save(self, rec);
}

/// A worker took the build (or a new attempt of it).
void accepted(self_ptr self, proto::build_key key, const std::string& worker_name) {
  auto it = self->state.builds.find(key.id);
  if (it != self->state.builds.end() && key.attempt > it->second.attempt)
    redispatched(self, key, "sent out again");  // the dispatcher's word did not come first
  auto* b = find_key(self, key);
  if (b == nullptr) return;
  if (b->status == build_status::started && b->worker.empty()) {
    // a new attempt, on another worker
    b->worker = worker_name;
    tell_observer(self, *b);
    save(self, *b);
    return;
  }
  if (model::is_terminal(b->status)) {
    // cancelled or superseded while the dispatch was on its way
    self->send(self->state.setup.ctx.dispatcher, proto::cancel_atom::value, key, b->reason);
    b->worker = worker_name;
    b->started_at = self->state.setup.ctx.now();
    return;
  }
  if (b->status != build_status::pending) return;
  b->status = build_status::started;
  b->worker = worker_name;
  self->send(self->state.setup.ctx.queue, proto::accepted_atom::value, b->id);
  b->started_at = self->state.setup.ctx.now();
  tell_observer(self, *b);
  save(self, *b);
}

/// A step ended: its record, its notifications, the versions a put produced.
void step_done(self_ptr self, proto::build_key key, const work::step_ref& ref,
               const work::step_result& result) {
  auto* b = find_key(self, key);
  if (b == nullptr) return;
  const auto* step = b->step_finished(ref, result.st, self->state.setup.ctx.now());
  if (step != nullptr && step->started_at)
    self->state.setup.ctx.stats->step_finished(
        step->type, std::chrono::duration_cast<std::chrono::milliseconds>(*step->finished_at -
                                                                          *step->started_at));
  save(self, *b);
  if (ref.type == "notify" || ref.type == "hook") notify_step(self, *b, ref);
  if (self->state.watchers.count(key.id) != 0) stream(self, key.id, "step", b->step_event(ref));
  if (ref.type == "put" && result.st == work::status::succeeded && !result.versions.empty()) {
    // the put's resource: its step name is the resource name
    std::string canonical;
    for (const auto& r : self->state.setup.cfg->resources)
      if (r.name == ref.name) canonical = r.canonical;
    if (!canonical.empty())
      self->send(self->state.setup.observer, proto::found_atom::value, canonical, result.versions,
                 b->id);
  }
}

/// The queue replaced the build by a newer one (cancel_running, skip-if-running).
void supersede(self_ptr self, proto::build_key key, const std::string& reason) {
  auto* b = find_key(self, key);
  if (b == nullptr || model::is_terminal(b->status)) return;
  auto& ctx = self->state.setup.ctx;
  b->reason = reason;
  if (b->status == build_status::pending) {
    b->status = build_status::skipped;
    b->finished_at = ctx.now();
  } else {
    b->status = build_status::cancelled;
    self->send(ctx.dispatcher, proto::cancel_atom::value, key, reason);
  }
  tell_observer(self, *b);
  save(self, *b);
}

/// The build is over (or the worker declined it while the node stops).
void build_done(self_ptr self, proto::build_key key, const work::build_result& result) {
  auto* b = find_key(self, key);
  if (b == nullptr) return;
  if (result.declined && b->status == build_status::pending) {
    // the node is stopping and the worker did not take it: nothing ran, so it is not
    // dispatched after all; the queue dispatches nothing more, and a restart runs it
    spdlog::info("event=build.declined pipeline={} job={} build={} number={}", b->pipeline, b->job,
                 b->id, b->number);
    b->dispatched = false;
    save(self, *b);
    return;
  }
  persistence::crash_point("before_status");
  bool first = !b->finished_at;  // remote workers send the result until it is recorded
  b->finished_at = self->state.setup.ctx.now();
  if (!model::is_terminal(b->status)) {
    b->status = final_status(self->state.def, result.st);
    b->reason = result.reason;
  }
  spdlog::info("event=build.finished pipeline={} job={} build={} number={} status={} reason=\"{}\"",
               b->pipeline, b->job, b->id, b->number, model::to_string(b->status), b->reason);
  tell_observer(self, *b);
  persistence::batch ops{record_op(*b)};
  if (first) notify_end(self, *b, ops);
  if (self->state.setup.ctx.remote_workers) {
    // the worker re-sends the result until it hears that it is stored
    write_then(self, self->state.setup.ctx, std::move(ops), [self, key](bool ok) {
      if (ok) self->send(self->state.setup.ctx.dispatcher, proto::recorded_atom::value, key);
    });
  } else {
    put(self, self->state.setup.ctx, std::move(ops));
  }
  prune(self);
}

proto::job_actor::behavior_type job_behavior(self_ptr self, job_setup setup) {
  self->state.setup = std::move(setup);
  self->state.def = self->state.setup.cfg->find_job(self->state.setup.name);
  adopt_restored(self);
  return guarded_behavior<proto::job_actor::behavior_type>(
      self, [self] { return "pipeline=" + self->state.setup.pipeline + " job=" + self->state.setup.name; },
      [self](proto::restore_atom, const std::string& mode, bool cancel_running) {
        return requeue(self, mode, cancel_running);
      },
      // ---- operations (protocols/job.hpp)
      [self](const proto::get_job&) { return domain::done({{"job", job_json(self)}}); },
      [self](const proto::list_builds& l) { return list(self, l); },
      [self](const proto::get_build& g) { return get(self, g); },
      [self](const proto::cancel_build& c) { return cancel(self, c); },
      [self](const proto::retry_build& r) { return retry(self, r); },
      [self](const proto::decide_build& d) { return decide(self, d); },
      [self](const proto::mark_warning& w) { return mark_warning(self, w); },
      [self](proto::due_atom, std::int64_t id) { gate_timeout_due(self, id); },
      [self](const proto::watch_build& w) { return watch(self, w); },
      [self](const proto::pause_job&) { return domain::done({{"job", summary(self)}}); },
      [self](const proto::get_build_plan& p) { return plan_view(self, p); },
      [self](proto::create_atom, proto::build_spec& spec) -> caf::result<domain::reply> {
        return create(self, std::move(spec), std::nullopt);
      },
      [self](proto::summary_atom) { return summary(self); },
      [self](proto::config_atom, proto::config_ptr cfg, bool paused) {
        configure(self, std::move(cfg), paused);
      },
      [self](proto::shutdown_atom) { shut_down(self); },
      [self](proto::handoff_atom) { return hand_off(self); },
      [self](proto::grant_atom, proto::build_key key, const proto::slot_owner_actor& slots) {
        grant(self, key, slots);
      },
      // ---- worker events (fenced by build id and attempt)
      [self](proto::accepted_atom, proto::build_key key, const std::string& worker_name) {
        accepted(self, key, worker_name);
      },
      [self](proto::redispatch_atom, proto::build_key key, const std::string& reason) {
        redispatched(self, key, reason);
      },
      [self](proto::step_start_atom, proto::build_key key, const work::step_ref& ref) {
        auto* b = find_key(self, key);
        if (b == nullptr) return;
        b->step_started(ref, self->state.setup.ctx.now());
        if (self->state.watchers.count(key.id) != 0)
          stream(self, key.id, "step", b->step_event(ref));
      },
      [self](proto::step_log_atom, proto::build_key key, const work::step_ref& ref,
             const std::string& chunk) {
        persistence::fault_point("job.step_log");
        auto* b = find_key(self, key);
        if (b == nullptr) return;
        b->step_log(ref, chunk);
        if (self->state.watchers.count(key.id) != 0)
          stream(self, key.id, "log", {{"step", ref.id}, {"chunk", chunk}});
      },
      [](proto::flush_atom, proto::build_key) { return true; },
      [self](proto::step_done_atom, proto::build_key key, const work::step_ref& ref,
             const work::step_result& result) { step_done(self, key, ref, result); },
      [self](proto::decided_atom, proto::build_key key, const work::build_result& result) {
        auto* b = find_key(self, key);
        if (b == nullptr || model::is_terminal(b->status)) return;
        b->status = final_status(self->state.def, result.st);
        b->reason = result.reason;
        tell_observer(self, *b);
        save(self, *b);
      },
      [self](proto::supersede_atom, proto::build_key key, const std::string& reason) {
        supersede(self, key, reason);
      },
      [self](proto::build_done_atom, proto::build_key key, const work::build_result& result) {
        build_done(self, key, result);
      });
}

}  // namespace

nlohmann::json plan_outline(const std::vector<pipeline::step>& steps) {
  auto out = nlohmann::json::array();
  for (const auto& s : steps) {
    nlohmann::json j{{"type", pipeline::to_string(s.kind)}, {"name", s.name}};
    if (s.kind == pipeline::step_kind::in_parallel) j["steps"] = plan_outline(s.steps);
    if (s.kind == pipeline::step_kind::if_chain) {
      j["branches"] = nlohmann::json::array();
      for (const auto& b : s.branches) {
        auto kind = work::to_string(b.k);
        j["branches"].push_back({{"type", kind},
                                 {"name", b.label.empty() ? kind : b.label},
                                 {"condition", b.condition},
                                 {"steps", plan_outline(b.steps)}});
      }
    }
    out.push_back(std::move(j));
  }
  return out;
}

proto::job_actor spawn_job(caf::actor_system& sys, job_setup setup) {
  return sys.spawn(job_behavior, std::move(setup));
}

}  // namespace pikoci::server
