#include "actors/server/execution_queue.hpp"

#include <set>

#include <spdlog/spdlog.h>

namespace pikoci::server {
namespace {

struct started_build {
  proto::build_key key;
  std::string pipeline, job, number;
  model::time_point created_at;
};

struct queue_state {
  queue_limits limits;
  proto::dispatcher_actor dispatcher;
  std::uint64_t next_seq = 1;
  std::map<std::uint64_t, proto::queued_build> pending;  // FIFO by sequence number
  std::map<std::int64_t, std::uint64_t> pending_seq;     // build id → sequence
  std::map<std::int64_t, started_build> started;
  std::set<std::pair<std::string, std::string>> paused;  // (pipeline, job); job "" = all

  int capacity() const { return std::min(limits.max_in_flight, limits.worker_slots); }
  bool is_paused(const proto::queued_build& b) const {
    return paused.count({b.pipeline, ""}) != 0 || paused.count({b.pipeline, b.job}) != 0;
  }
};

using self_ptr = proto::execution_queue_actor::stateful_pointer<queue_state>;

/// Starts pending builds in sequence order while slots are free; a paused build never blocks
/// the ones behind it.
void dispatch(self_ptr self) {
  auto& st = self->state;
  for (auto it = st.pending.begin();
       it != st.pending.end() && static_cast<int>(st.started.size()) < st.capacity();) {
    if (st.is_paused(it->second)) {
      ++it;
      continue;
    }
    auto b = std::move(it->second);
    st.pending_seq.erase(b.key.id);
    it = st.pending.erase(it);
    st.started[b.key.id] = {b.key, b.pipeline, b.job, b.number, b.created_at};
    self->send(st.dispatcher, proto::run_build_atom::value,
               proto::build_work{b.key, std::move(b.plan), std::move(b.owner),
                                 caf::actor_cast<proto::slot_owner_actor>(self)});
  }
}

nlohmann::json summary(std::int64_t id, const std::string& pipeline, const std::string& job,
                       const std::string& number, model::time_point created_at,
                       const char* status) {
  return {{"id", id},         {"pipeline", pipeline},
          {"job", job},       {"number", number},
          {"status", status}, {"created_at", model::format_time(created_at)}};
}

nlohmann::json view(self_ptr self) {
  auto& st = self->state;
  auto started = nlohmann::json::array();
  for (const auto& [id, b] : st.started)
    started.push_back(summary(id, b.pipeline, b.job, b.number, b.created_at, "started"));
  auto pending = nlohmann::json::array();
  int position = 0;
  for (const auto& [seq, b] : st.pending) {
    std::string why = st.is_paused(b) ? "paused" : "max_in_flight";
    pending.push_back(
        {{"position", ++position},
         {"build", summary(b.key.id, b.pipeline, b.job, b.number, b.created_at, "pending")},
         {"blocked_by", why}});
  }
  return {{"max_in_flight", st.limits.max_in_flight},
          {"in_flight", st.started.size()},
          {"max_queue_size", st.limits.max_queue_size},
          {"queued", st.pending.size()},
          {"started", std::move(started)},
          {"pending", std::move(pending)}};
}

proto::execution_queue_actor::behavior_type queue_behavior(self_ptr self, queue_limits limits,
                                                           proto::dispatcher_actor dispatcher) {
  self->state.limits = limits;
  self->state.dispatcher = std::move(dispatcher);
  return {
      [self](proto::enqueue_atom, proto::queued_build& b) -> proto::admission {
        auto& st = self->state;
        auto id = b.key.id;
        auto seq = st.next_seq++;
        st.pending_seq[id] = seq;
        st.pending.emplace(seq, std::move(b));
        dispatch(self);
        if (st.pending_seq.count(id) != 0 &&
            st.pending.size() > static_cast<std::size_t>(st.limits.max_queue_size)) {
          const auto& rejected = st.pending.at(seq);
          spdlog::warn("event=queue.rejected.full pipeline={} job={} queued={} max_queue_size={}",
                       rejected.pipeline, rejected.job, st.pending.size() - 1,
                       st.limits.max_queue_size);
          st.pending.erase(seq);
          st.pending_seq.erase(id);
          auto r = api::fail(http::errc::queue_full, "the execution queue is full (" +
                                                         std::to_string(st.limits.max_queue_size) +
                                                         " pending builds)");
          r.headers.emplace_back("Retry-After", "5");
          return {false, std::move(r)};
        }
        return {true, {}};
      },
      [self](proto::withdraw_atom, std::int64_t id) {
        auto& st = self->state;
        auto it = st.pending_seq.find(id);
        if (it == st.pending_seq.end()) return;
        st.pending.erase(it->second);
        st.pending_seq.erase(it);
      },
      [self](proto::release_atom, std::int64_t id) {
        if (self->state.started.erase(id) != 0) dispatch(self);
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
        auto& st = self->state;
        for (auto it = st.pending.begin(); it != st.pending.end();) {
          if (it->second.pipeline == pipeline) {
            st.pending_seq.erase(it->second.key.id);
            it = st.pending.erase(it);
          } else {
            ++it;
          }
        }
        for (const auto& [id, b] : st.started)
          if (b.pipeline == pipeline)
            self->send(st.dispatcher, proto::cancel_atom::value, b.key,
                       std::string("pipeline deleted"));
        for (auto it = st.paused.begin(); it != st.paused.end();)
          it = it->first == pipeline ? st.paused.erase(it) : std::next(it);
      },
      [self](proto::queue_atom) { return view(self); },
  };
}

}  // namespace

proto::execution_queue_actor spawn_execution_queue(caf::actor_system& sys, queue_limits limits,
                                                   proto::dispatcher_actor dispatcher) {
  return sys.spawn(queue_behavior, limits, std::move(dispatcher));
}

}  // namespace pikoci::server
