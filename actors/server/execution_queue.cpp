#include "actors/server/execution_queue.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "actors/server/worker_wait.hpp"
#include "domain/metrics.hpp"

namespace pikoci::server {
namespace {

struct started_build {
  proto::build_key key;
  std::string pipeline, job, number;
  model::time_point created_at;
  proto::build_rules rules;
  proto::build_owner_actor owner;
  std::vector<std::string> tags;
  bool accepted = false;  // a worker took it; until then it shows as pending
};

/// A build waiting for its dispatch to be accepted by a worker.
constexpr const char* not_accepted = "dispatched, not accepted yet";

struct queue_state {
  queue_limits limits;
  proto::dispatcher_actor dispatcher;
  std::uint64_t next_seq = 1;
  std::map<std::uint64_t, proto::queued_build> pending;  // FIFO by sequence number
  std::map<std::int64_t, std::uint64_t> pending_seq;     // build id → sequence
  std::map<std::int64_t, started_build> started;
  std::set<std::pair<std::string, std::string>> paused;  // (pipeline, job); job "" = all
  std::set<std::string> restoring;  // cluster: pipelines whose builds are coming back here
  bool draining = false;
  bool stopping = false;  // the node stops: nothing is dispatched any more
  // SPEC §6.4 counters
  std::map<std::string, std::uint64_t> skipped;  // by reason
  std::uint64_t rejected = 0;
  domain::histogram trigger_to_start{{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300}};  // s
  std::deque<double> recent_starts;  // trigger → start of the last builds, ms (GET /stats)
  // group contention (GET /stats): group-mode builds admitted, and those that had to wait for
  // a build of their group
  std::uint64_t group_builds = 0, group_waited = 0;
  std::vector<caf::typed_response_promise<bool>> drained;  // answered once idle
  int slots = pool_slots(limits.workers);                  // of the workers taking builds now

  bool is_paused(const proto::queued_build& b) const {
    return paused.count({b.pipeline, ""}) != 0 || paused.count({b.pipeline, b.job}) != 0;
  }
};

using self_ptr = proto::execution_queue_actor::stateful_pointer<queue_state>;

/// The exclusive keys a build takes while it runs, each with the `blocked_by` it causes.
std::vector<std::pair<std::string, std::string>> keys_of(const std::string& pipeline,
                                                         const proto::build_rules& r) {
  std::vector<std::pair<std::string, std::string>> keys;
  if (r.mode == "serial") keys.emplace_back("serial\x1f" + pipeline, "serial");
  if (r.mode == "group")
    keys.emplace_back("group\x1f" + pipeline + "\x1f" + r.group, "group:" + r.group);
  for (const auto& g : r.serial_groups)
    keys.emplace_back("serial_group\x1f" + pipeline + "\x1f" + g, "serial_group:" + g);
  return keys;
}

/// Why `b` cannot start now ("" when it can). `held` are keys of earlier pending builds that
/// wait themselves: a later build sharing one waits behind them (FIFO within every group).
std::string blocked_by(const queue_state& st, const proto::queued_build& b,
                       const std::set<std::string>& held) {
  if (st.is_paused(b)) return "paused";
  if (st.restoring.count(b.pipeline) != 0) return "restoring";
  auto keys = keys_of(b.pipeline, b.rules);
  for (const auto& [key, why] : keys) {
    if (held.count(key) != 0) return why;
    for (const auto& [id, s] : st.started)
      if (s.pipeline == b.pipeline)
        for (const auto& [other, unused] : keys_of(s.pipeline, s.rules))
          if (other == key) return why;
  }
  if (b.rules.job_concurrency > 0) {
    if (held.count("job\x1f" + b.pipeline + "\x1f" + b.job) != 0) return "job_concurrency";
    int running = 0;
    for (const auto& [id, s] : st.started) running += s.pipeline == b.pipeline && s.job == b.job;
    if (running >= b.rules.job_concurrency) return "job_concurrency";
  }
  if (auto why = worker_wait(st.limits.workers, b.tags); !why.empty()) return why;
  if (static_cast<int>(st.started.size()) >= st.limits.max_in_flight) return "max_in_flight";
  if (static_cast<int>(st.started.size()) >= st.slots) return "workers busy";
  return {};
}

/// Whether `why` holds back every build (no slot at all), not just this one.
bool every_slot_taken(const std::string& why) {
  return why == "max_in_flight" || why == "workers busy";
}

/// Why a build that has its slot is not started yet: no worker can take it any more, or it is
/// on its way to one.
std::string dispatched_reason(const queue_state& st, const started_build& s) {
  auto why = worker_wait(st.limits.workers, s.tags);
  return why.empty() ? not_accepted : why;
}

/// Marks the keys of a waiting build as held for the builds behind it.
void hold(std::set<std::string>& held, const proto::queued_build& b) {
  for (const auto& [key, why] : keys_of(b.pipeline, b.rules)) held.insert(key);
  if (b.rules.job_concurrency > 0) held.insert("job\x1f" + b.pipeline + "\x1f" + b.job);
}

/// Starts every pending build that may start, in sequence order; one that must wait never
/// blocks later builds of other groups (no head-of-line blocking).
void dispatch(self_ptr self) {
  auto& st = self->state;
  if (st.limits.hold || st.stopping) return;
  std::set<std::string> held;
  for (auto it = st.pending.begin(); it != st.pending.end();) {
    auto why = blocked_by(st, it->second, held);
    if (!why.empty()) {
      if (every_slot_taken(why)) break;  // nothing behind it can start either
      if (why != "paused") hold(held, it->second);
      ++it;
      continue;
    }
    auto b = std::move(it->second);
    double waited =
        std::chrono::duration<double>(std::chrono::system_clock::now() - b.created_at).count();
    st.trigger_to_start.observe(waited);
    st.recent_starts.push_back(waited * 1000.0);
    if (st.recent_starts.size() > 1000) st.recent_starts.pop_front();
    st.pending_seq.erase(b.key.id);
    it = st.pending.erase(it);
    st.started[b.key.id] = {b.key,   b.pipeline,        b.job, b.number, b.created_at, b.rules,
                            b.owner, std::move(b.tags), false};
    self->send(b.owner, proto::grant_atom::value, b.key,
               caf::actor_cast<proto::slot_owner_actor>(self));
  }
}

nlohmann::json summary(std::int64_t id, const std::string& pipeline, const std::string& job,
                       const std::string& number, model::time_point created_at,
                       model::build_status status) {
  return {{"id", id},
          {"pipeline", pipeline},
          {"job", job},
          {"number", number},
          {"status", model::to_string(status)},
          {"created_at", model::format_time(created_at)}};
}

/// Why a pending build that could start has not: the queue does not dispatch now.
std::string not_dispatching(const queue_state& st) {
  return st.stopping ? "node stopping" : "restoring";
}

/// `blocked_by` of every pending build, in queue order.
std::vector<std::string> reasons(const queue_state& st) {
  std::vector<std::string> out;
  std::set<std::string> held;
  for (const auto& [seq, b] : st.pending) {
    auto why = blocked_by(st, b, held);
    if (why.empty()) why = not_dispatching(st);
    if (why != "paused") hold(held, b);
    out.push_back(std::move(why));
  }
  return out;
}

/// `blocked_by` of the pending build at `target`: the same answer as reasons(), found by walking
/// only up to it.
std::string reason_of(const queue_state& st, std::uint64_t target) {
  std::set<std::string> held;
  for (const auto& [seq, b] : st.pending) {
    auto why = blocked_by(st, b, held);
    if (seq == target) return why.empty() ? not_dispatching(st) : why;
    if (why != "paused") hold(held, b);
  }
  return {};
}

nlohmann::json view(self_ptr self) {
  auto& st = self->state;
  auto started = nlohmann::json::array();
  auto pending = nlohmann::json::array();
  std::size_t position = 0;
  // a build with its slot is started once a worker accepted it; pending until then
  for (const auto& [id, b] : st.started) {
    if (b.accepted) {
      started.push_back(
          summary(id, b.pipeline, b.job, b.number, b.created_at, model::build_status::started));
      continue;
    }
    pending.push_back({{"position", ++position},
                       {"build", summary(id, b.pipeline, b.job, b.number, b.created_at,
                                         model::build_status::pending)},
                       {"blocked_by", dispatched_reason(st, b)}});
  }
  auto why = reasons(st);
  std::size_t i = 0;
  for (const auto& [seq, b] : st.pending) {
    pending.push_back({{"position", ++position},
                       {"build", summary(b.key.id, b.pipeline, b.job, b.number, b.created_at,
                                         model::build_status::pending)},
                       {"blocked_by", why[i++]}});
  }
  return {{"max_in_flight", st.limits.max_in_flight},
          {"in_flight", st.started.size()},
          {"max_queue_size", st.limits.max_queue_size},
          {"queued", st.pending.size()},
          {"started", std::move(started)},
          {"pending", std::move(pending)}};
}

/// The queue's counters, gauges and histogram for GET /metrics, as exposition text.
std::string metrics(const queue_state& st) {
  domain::metrics out;
  auto& skipped =
      out.add_counter("pikoci_builds_skipped_total", "Builds recorded as skipped, by reason.");
  for (const char* reason : {"skip_if_running", "superseded"}) {
    auto it = st.skipped.find(reason);
    skipped.add({{"reason", reason}}, it == st.skipped.end() ? 0 : it->second);
  }
  out.add_counter("pikoci_queue_rejected_total",
                  "Triggers refused with 503 (queue full or draining).")
      .add({}, st.rejected);
  out.add_gauge("pikoci_queue_depth", "Builds pending in the execution queue.")
      .add({}, st.pending.size());
  out.add_gauge("pikoci_builds_in_flight", "Builds started and not yet finished.")
      .add({}, st.started.size());
  out.add_histogram("pikoci_trigger_to_start_seconds", "From a build's creation to its dispatch.")
      .add({}, st.trigger_to_start);
  return out.render();
}

/// The queue's part of GET /api/v1/stats.
nlohmann::json stats(const queue_state& st) {
  std::vector<double> waits(st.recent_starts.begin(), st.recent_starts.end());
  std::sort(waits.begin(), waits.end());
  auto pct = [&](double p) -> nlohmann::json {
    if (waits.empty()) return nullptr;
    auto rank = static_cast<std::size_t>(p * static_cast<double>(waits.size() - 1) + 0.5);
    return std::round(waits[rank] * 1000.0) / 1000.0;
  };
  std::map<std::string, std::size_t> blocked;
  std::size_t waiting_for_group = 0;
  for (const auto& why : reasons(st)) {
    ++blocked[why];
    waiting_for_group += why.rfind("group:", 0) == 0;
  }
  for (const auto& [id, s] : st.started)
    if (!s.accepted) ++blocked[dispatched_reason(st, s)];
  return {{"queue_depth", st.pending.size()},
          {"in_flight", st.started.size()},
          {"max_in_flight", st.limits.max_in_flight},
          {"blocked_by", blocked},
          {"trigger_to_start_ms",
           {{"p50", pct(0.5)}, {"p95", pct(0.95)}, {"p99", pct(0.99)}, {"samples", waits.size()}}},
          {"group_contention",
           {{"group_builds", st.group_builds},
            {"waited", st.group_waited},
            {"rate", st.group_builds == 0 ? nlohmann::json(nullptr)
                                          : nlohmann::json(static_cast<double>(st.group_waited) /
                                                           static_cast<double>(st.group_builds))},
            {"waiting_now", waiting_for_group}}}};
}

/// Answers the drain requests once nothing is pending or started.
void check_drained(self_ptr self) {
  auto& st = self->state;
  if (!st.draining || !st.pending.empty() || !st.started.empty()) return;
  for (auto& rp : st.drained) rp.deliver(true);
  st.drained.clear();
}

/// `cancel_running`: running peers (same pipeline and group) are cancelled, queued ones skipped.
void supersede(self_ptr self, const proto::queued_build& b) {
  auto& st = self->state;
  std::string reason = "superseded by build " + std::to_string(b.key.id);
  auto peer = [&](const std::string& pipeline, const proto::build_rules& r) {
    return pipeline == b.pipeline && r.mode == "group" && r.group == b.rules.group;
  };
  for (auto it = st.pending.begin(); it != st.pending.end();) {
    if (!peer(it->second.pipeline, it->second.rules)) {
      ++it;
      continue;
    }
    spdlog::info("event=concurrency.supersede pipeline={} group={} build={} by={} was=pending",
                 b.pipeline, b.rules.group, it->second.key.id, b.key.id);
    self->send(it->second.owner, proto::supersede_atom::value, it->second.key, reason);
    ++st.skipped["superseded"];
    st.pending_seq.erase(it->second.key.id);
    it = st.pending.erase(it);
  }
  for (const auto& [id, s] : st.started) {
    if (!peer(s.pipeline, s.rules)) continue;
    spdlog::info("event=concurrency.supersede pipeline={} group={} build={} by={} was=started",
                 b.pipeline, b.rules.group, id, b.key.id);
    self->send(s.owner, proto::supersede_atom::value, s.key, reason);
  }
}

bool pipeline_busy(const queue_state& st, const std::string& pipeline) {
  for (const auto& [seq, b] : st.pending)
    if (b.pipeline == pipeline) return true;
  for (const auto& [id, s] : st.started)
    if (s.pipeline == pipeline) return true;
  return false;
}

/// The pipeline went away (deleted, or its actors died): its pending builds are dropped and its
/// started ones cancelled with `reason`; with `release`, their slots are free at once. A handoff
/// (no `reason`) cancels nothing: the builds are the next owner's, their slots free here.
void withdraw_pipeline(self_ptr self, const std::string& pipeline,
                       const std::optional<std::string>& reason, bool release) {
  auto& st = self->state;
  for (auto it = st.pending.begin(); it != st.pending.end();) {
    if (it->second.pipeline == pipeline) {
      st.pending_seq.erase(it->second.key.id);
      it = st.pending.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = st.started.begin(); it != st.started.end();) {
    if (it->second.pipeline != pipeline) {
      ++it;
      continue;
    }
    if (reason) self->send(st.dispatcher, proto::cancel_atom::value, it->second.key, *reason);
    it = release ? st.started.erase(it) : std::next(it);
  }
  st.restoring.erase(pipeline);
  for (auto it = st.paused.begin(); it != st.paused.end();)
    it = it->first == pipeline ? st.paused.erase(it) : std::next(it);
  if (release) dispatch(self);
  check_drained(self);
}

/// Microseconds since the epoch: a place in the queue that orders admissions across nodes.
std::uint64_t wall_clock_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

/// Admission of a new build (or one restored with its place): accepted with its place, skipped,
/// or rejected (draining, stopping, full).
proto::admission enqueue(self_ptr self, proto::queued_build b) {
  auto& st = self->state;
  using outcome = proto::admission::outcome;
  if (b.seq != 0) {  // restored: admitted before the restart
    auto id = b.key.id;
    auto seq = b.seq;
    st.next_seq = std::max(st.next_seq, seq + 1);
    st.pending_seq[id] = seq;
    st.pending.emplace(seq, std::move(b));
    dispatch(self);
    return {outcome::accepted, {}, {}, seq};
  }
  if (st.draining || st.stopping) {
    ++st.rejected;
    domain::error e{domain::errc::draining, st.stopping
                                                ? "the node is stopping: no new builds"
                                                : "the node is draining (SIGQUIT): no new builds"};
    return {outcome::rejected, {}, std::move(e)};
  }
  if (b.rules.mode == "skip-if-running" && pipeline_busy(st, b.pipeline)) {
    spdlog::info("event=concurrency.skip pipeline={} job={} build={}", b.pipeline, b.job, b.key.id);
    ++st.skipped["skip_if_running"];
    return {outcome::skipped, "skipped: pipeline already running", {}};
  }
  if (b.rules.mode == "group" && b.rules.cancel_running) supersede(self, b);
  auto id = b.key.id;
  if (st.limits.cluster) st.next_seq = std::max(st.next_seq, wall_clock_us());
  auto seq = st.next_seq++;
  st.group_builds += b.rules.mode == "group";
  st.pending_seq[id] = seq;
  st.pending.emplace(seq, std::move(b));
  dispatch(self);
  if (st.pending_seq.count(id) == 0) return {outcome::accepted, {}, {}, seq};
  const auto& waiting = st.pending.at(seq);
  if (st.pending.size() > static_cast<std::size_t>(st.limits.max_queue_size)) {
    spdlog::warn("event=queue.rejected.full pipeline={} job={} queued={} max_queue_size={}",
                 waiting.pipeline, waiting.job, st.pending.size() - 1, st.limits.max_queue_size);
    st.pending.erase(seq);
    st.pending_seq.erase(id);
    ++st.rejected;
    domain::error e{domain::errc::queue_full, "the execution queue is full (" +
                                                  std::to_string(st.limits.max_queue_size) +
                                                  " pending builds)"};
    return {outcome::rejected, {}, std::move(e)};
  }
  if (waiting.rules.mode == "group") {
    spdlog::info("event=queue.enqueued.group_busy pipeline={} group={} build={}", waiting.pipeline,
                 waiting.rules.group, id);
    if (reason_of(st, seq).rfind("group:", 0) == 0) ++st.group_waited;
  }
  return {outcome::accepted, {}, {}, seq};
}

/// SIGQUIT: no new builds; answered once nothing is pending or started.
caf::result<bool> drain(self_ptr self) {
  auto& st = self->state;
  st.draining = true;
  spdlog::info("event=queue.draining pending={} started={}", st.pending.size(), st.started.size());
  auto rp = self->make_response_promise<bool>();
  st.drained.push_back(rp);
  check_drained(self);
  return rp;
}

proto::execution_queue_actor::behavior_type queue_behavior(self_ptr self, queue_limits limits,
                                                           proto::dispatcher_actor dispatcher) {
  self->state.limits = limits;
  self->state.slots = pool_slots(self->state.limits.workers);
  self->state.dispatcher = std::move(dispatcher);
  return {
      [self](proto::enqueue_atom, proto::queued_build& b) { return enqueue(self, std::move(b)); },
      [self](proto::restore_atom) {
        self->state.limits.hold = false;
        dispatch(self);
      },
      [self](proto::adopt_atom, proto::queued_build& b) {
        self->state.started[b.key.id] = {b.key,    b.pipeline,        b.job,
                                         b.number, b.created_at,      b.rules,
                                         b.owner,  std::move(b.tags), b.running};
      },
      [self](proto::slots_atom, proto::worker_pool& workers) {
        self->state.limits.workers = std::move(workers);
        self->state.slots = pool_slots(self->state.limits.workers);
        dispatch(self);
      },
      [self](proto::accepted_atom, std::int64_t id) {
        auto it = self->state.started.find(id);
        if (it != self->state.started.end()) it->second.accepted = true;
      },
      [self](proto::withdraw_atom, std::int64_t id) {
        auto& st = self->state;
        auto it = st.pending_seq.find(id);
        if (it == st.pending_seq.end()) return;
        st.pending.erase(it->second);
        st.pending_seq.erase(it);
        check_drained(self);
      },
      [self](proto::release_atom, std::int64_t id) {
        if (self->state.started.erase(id) != 0) dispatch(self);
        check_drained(self);
      },
      [self](proto::pause_atom, const std::string& pipeline, const std::string& job, bool on) {
        auto& st = self->state;
        if (on) {
          st.paused.insert({pipeline, job});
        } else {
          st.paused.erase({pipeline, job});
          dispatch(self);
        }
      },
      [self](proto::withdraw_atom, const std::string& pipeline) {
        withdraw_pipeline(self, pipeline, std::string("pipeline deleted"), false);
      },
      [self](proto::withdraw_atom, const std::string& pipeline, const std::string& reason) {
        withdraw_pipeline(self, pipeline, reason, true);
      },
      [self](proto::withdraw_atom, const std::string& pipeline, bool handoff) {
        withdraw_pipeline(self, pipeline,
                          handoff ? std::nullopt : std::optional<std::string>("pipeline deleted"),
                          handoff);
      },
      [self](proto::hold_atom, const std::vector<std::string>& pipelines, bool on) {
        auto& st = self->state;
        for (const auto& p : pipelines) {
          if (on)
            st.restoring.insert(p);
          else
            st.restoring.erase(p);
        }
        if (!on) dispatch(self);
      },
      [self](proto::queue_atom) { return view(self); },
      [self](proto::queue_atom, std::int64_t id) -> std::string {
        auto& st = self->state;
        if (auto s = st.started.find(id); s != st.started.end())
          return s->second.accepted ? std::string() : dispatched_reason(st, s->second);
        auto it = st.pending_seq.find(id);
        if (it == st.pending_seq.end()) return {};
        return reason_of(st, it->second);
      },
      [self](proto::metrics_atom) { return metrics(self->state); },
      [self](proto::stats_atom) { return stats(self->state); },
      [self](proto::drain_atom) { return drain(self); },
      [self](proto::shutdown_atom) {
        auto& st = self->state;
        st.stopping = true;
        spdlog::info("event=queue.stopping pending={} started={}", st.pending.size(),
                     st.started.size());
        return static_cast<int>(st.pending.size());
      },
  };
}

}  // namespace

proto::execution_queue_actor spawn_execution_queue(caf::actor_system& sys, queue_limits limits,
                                                   proto::dispatcher_actor dispatcher) {
  return sys.spawn(queue_behavior, limits, std::move(dispatcher));
}

}  // namespace pikoci::server
