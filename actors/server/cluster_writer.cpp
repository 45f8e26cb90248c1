#include "actors/server/cluster_writer.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/server/write_queue.hpp"
#include "persistence/partitioning.hpp"

namespace pikoci::server {
namespace {

using domain::cluster::partition_state;
using persistence::route;

/// Lanes 0..P are the partitions and G (the same indexes as the partition table); this one
/// writes the node-local ops.
constexpr int local_lane = domain::cluster::partition_table::size;
constexpr int lane_count = local_lane + 1;

/// A thread per lane, each running its lane's jobs in order.
class thread_runner final : public lane_runner {
 public:
  ~thread_runner() override {
    for (auto& w : workers_) {
      if (!w) continue;
      {
        std::lock_guard<std::mutex> l(w->mu);
        w->stop = true;
      }
      w->cv.notify_one();
      w->thread.join();
    }
  }
  void post(int lane, std::function<void()> job) override {
    if (lane < 0 || lane >= lane_count) return;
    std::lock_guard<std::mutex> l(mu_);
    auto& w = workers_[lane];
    if (!w) {
      w = std::make_unique<worker>();
      w->thread = std::thread([p = w.get()] { p->loop(); });
    }
    {
      std::lock_guard<std::mutex> wl(w->mu);
      w->jobs.push_back(std::move(job));
    }
    w->cv.notify_one();
  }

 private:
  struct worker {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> jobs;
    bool stop = false;
    std::thread thread;

    void loop() {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> l(mu);
          cv.wait(l, [this] { return stop || !jobs.empty(); });
          if (stop) return;  // the writer is gone: nobody hears what a job would report
          job = std::move(jobs.front());
          jobs.pop_front();
        }
        job();
      }
    }
  };
  std::mutex mu_;
  std::array<std::unique_ptr<worker>, lane_count> workers_;
};

/// What the lane jobs share with the writer actor (they may outlive it for a moment).
struct shared_env {
  std::shared_ptr<persistence::store> store;
  std::shared_ptr<changelog_sink> sink;
  std::shared_ptr<domain::cluster::partition_table> partitions;
  int partition_count = 0;
  std::function<void(int)> on_fenced;
  std::chrono::milliseconds retry_interval{1000};
  std::atomic<bool> stopping{false};

  /// Waits `retry_interval`, or less when the writer stops.
  void pause() const {
    auto until = std::chrono::steady_clock::now() + retry_interval;
    while (!stopping && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
};

/// A key as a log shows it (components separated by "/").
std::string shown(const std::string& key) {
  std::string out = key.substr(0, 200);
  for (auto& c : out)
    if (c == '\0') c = '/';
  return out;
}

// ---- on a lane's thread ----

/// Stores ops whose changelog records are committed already: they must land, so a failed
/// store is tried again (recovered first) until it takes them or the writer stops.
bool store_committed(shared_env& env, const persistence::batch& ops) {
  for (bool first = true; !env.stopping; first = false) {
    try {
      if (first || env.store->recover()) {
        env.store->write(ops, /*sync=*/false);  // the changelog is the durable copy
        return true;
      }
    } catch (const persistence::store_error& e) {
      spdlog::error("event=cluster_writer.local_write_failed ops={} error=\"{}\" (retrying)",
                    ops.size(), e.what());
    }
    env.pause();
  }
  return false;
}

/// The records of partition `k`'s ops: changelog[k]'s and the global topic's.
changelog_commit records_of(const shared_env& env, int k, const persistence::batch& ops) {
  changelog_commit c;
  c.partition = k;
  std::size_t globals = 0;
  for (const auto& op : ops)
    if (persistence::route_of(op, env.partition_count).k == route::kind::global) ++globals;
  if (globals == 0) {
    c.changelog = persistence::changelog::expand(ops, *env.store);
  } else if (globals == ops.size()) {
    c.global = persistence::changelog::expand(ops, *env.store);
  } else {
    persistence::batch own, global;
    for (const auto& op : ops)
      (persistence::route_of(op, env.partition_count).k == route::kind::global ? global : own)
          .push_back(op);
    c.changelog = persistence::changelog::expand(own, *env.store);
    c.global = persistence::changelog::expand(global, *env.store);
  }
  return c;
}

/// The sink's answer for a commit, waiting through `retry` (in doubt) for how it ended.
commit_result sink_commit(shared_env& env, const changelog_commit& c) {
  commit_result r;
  try {
    r = env.sink->commit(c);
    bool logged = false;
    while (r.status == commit_outcome::retry && !env.stopping) {
      if (!logged)
        spdlog::warn("event=cluster_writer.in_doubt partition={} error=\"{}\"", c.partition,
                     r.error);
      logged = true;
      r = env.sink->resume(c.partition);
    }
  } catch (const std::exception& e) {
    r = {commit_outcome::abort, e.what(), -1};
  }
  if (r.status == commit_outcome::retry) r.status = commit_outcome::abort;  // stopping
  return r;
}

/// One transaction of partition `k`, then the local write of `ops` with k's changelog offset.
commit_outcome commit_partition(shared_env& env, int k, persistence::batch& ops) {
  changelog_commit c;
  try {
    c = records_of(env, k, ops);
  } catch (const persistence::store_error& e) {
    spdlog::error("event=cluster_writer.expand_failed partition={} error=\"{}\"", k, e.what());
    return commit_outcome::abort;
  }
  auto r = sink_commit(env, c);
  switch (r.status) {
    case commit_outcome::ok:
      break;
    case commit_outcome::fenced:
      if (env.partitions->change(k, partition_state::active, partition_state::fenced) ||
          env.partitions->change(k, partition_state::moving, partition_state::fenced) ||
          env.partitions->change(k, partition_state::adopting, partition_state::fenced)) {
        spdlog::error("event=partition.fenced partition={} error=\"{}\"", k, r.error);
        if (env.on_fenced) env.on_fenced(k);
      }
      return r.status;
    default:
      spdlog::warn("event=cluster_writer.aborted partition={} records={} error=\"{}\"", k,
                   c.changelog.size() + c.global.size(), r.error);
      return commit_outcome::abort;
  }
  if (k < env.partition_count && r.changelog_offset >= 0) {
    auto offsets = persistence::changelog::offset_ops(k, r.changelog_offset);
    ops.insert(ops.end(), offsets.begin(), offsets.end());
  }
  return store_committed(env, ops) ? commit_outcome::ok : commit_outcome::abort;
}

/// The node-local ops: synced, since no changelog holds them.
commit_outcome commit_local(shared_env& env, const persistence::batch& ops, bool recover_first) {
  try {
    if (recover_first && !env.store->recover()) return commit_outcome::abort;
    if (!ops.empty()) env.store->write(ops, /*sync=*/true);
    return commit_outcome::ok;
  } catch (const persistence::store_error& e) {
    spdlog::error("event=store.write_failed ops={} error=\"{}\"", ops.size(), e.what());
    return commit_outcome::abort;
  }
}

// ---- the actor ----

/// One partition's (or the local) writes: one batch in flight, the next one gathering.
struct lane_state {
  gathered_ops pending;
  std::vector<std::uint64_t> waiting;  // writes (by id) with a part in `pending`
  std::vector<std::uint64_t> in_flight;
  std::vector<bool> in_flight_waited;
  bool busy = false;
  /// The last batch aborted: the lane waits for the retry tick.
  bool down = false;
  bool recover_next = false;  // the local lane: recover the store before the next write
  std::vector<caf::typed_response_promise<bool>> drains;

  bool idle() const { return !busy && pending.empty() && waiting.empty(); }
};

/// A waiting writer: answered once each lane it has a part in answered.
struct pending_write {
  caf::typed_response_promise<bool> rp;
  std::size_t parts = 0;
  bool ok = true;
};

struct writer_state {
  std::shared_ptr<shared_env> env;
  std::shared_ptr<lane_runner> runner;
  std::array<lane_state, lane_count> lanes;
  std::map<std::uint64_t, pending_write> writes;
  std::uint64_t next_write = 0;

  ~writer_state() {
    if (env) env->stopping = true;  // jobs stop retrying; the runner then joins its threads
  }
};

using self_ptr = cluster_writer_actor::stateful_pointer<writer_state>;

void finish(self_ptr self, const std::vector<std::uint64_t>& ids, bool ok) {
  auto& writes = self->state.writes;
  for (auto id : ids) {
    auto it = writes.find(id);
    if (it == writes.end()) continue;
    it->second.ok = it->second.ok && ok;
    if (--it->second.parts > 0) continue;
    it->second.rp.deliver(it->second.ok);
    writes.erase(it);
  }
}

std::size_t unwaited(const std::vector<bool>& waited) {
  std::size_t n = 0;
  for (bool w : waited) n += w ? 0 : 1;
  return n;
}

/// Answers false to everything gathered in a lane whose partition can no longer commit.
void refuse_gathered(self_ptr self, int i, partition_state s) {
  auto& l = self->state.lanes[i];
  if (auto dropped = unwaited(l.pending.waited))
    spdlog::warn("event=cluster_writer.dropped partition={} state={} ops={}", i,
                 domain::cluster::to_string(s), dropped);
  l.pending.clear();
  auto ids = std::move(l.waiting);
  l.waiting.clear();
  finish(self, ids, false);
}

/// Hands what lane `i` gathered to its thread, unless a batch is on its way already or the
/// lane waits for its retry tick.
void start(self_ptr self, int i) {
  auto& st = self->state;
  auto& l = st.lanes[i];
  if (l.busy || l.down) return;
  auto s = i == local_lane ? partition_state::active : st.env->partitions->get(i);
  if (s != partition_state::active && s != partition_state::moving &&
      s != partition_state::adopting) {
    refuse_gathered(self, i, s);
  } else if (l.pending.empty() && !l.recover_next) {
    auto ids = std::move(l.waiting);  // waiters without ops here (barriers): all before is in
    l.waiting.clear();
    finish(self, ids, true);
  } else {
    l.busy = true;
    l.in_flight = std::move(l.waiting);
    l.waiting.clear();
    l.in_flight_waited = std::move(l.pending.waited);
    auto ops = std::move(l.pending.ops);
    l.pending.clear();
    bool recover = l.recover_next;
    l.recover_next = false;
    st.runner->post(i, [env = st.env, addr = self->address(), i, ops = std::move(ops),
                        recover]() mutable {
      auto outcome =
          i == local_lane ? commit_local(*env, ops, recover) : commit_partition(*env, i, ops);
      if (outcome == commit_outcome::ok) ops.clear();
      if (auto w = caf::actor_cast<cluster_writer_actor>(addr))
        caf::anon_send(w, proto::flush_atom::value, i, static_cast<int>(outcome), std::move(ops));
    });
    return;
  }
  if (l.idle()) {
    for (auto& rp : l.drains) rp.deliver(true);
    l.drains.clear();
  }
}

/// The lanes of `ops`, or why they cannot be written.
std::string split(const shared_env& env, persistence::batch& ops,
                  std::map<int, persistence::batch>& parts) {
  for (auto& op : ops) {
    auto r = persistence::route_of(op, env.partition_count);
    if (r.k == route::kind::unknown) {
      spdlog::error("event=cluster_writer.unroutable key=\"{}\" scope=\"{}\" (a bug)",
                    shown(op.key), op.scope);
      return "a key of no known partition";
    }
    parts[r.k == route::kind::local ? local_lane : r.partition].push_back(std::move(op));
  }
  for (const auto& [i, part] : parts) {
    auto s = i == local_lane ? partition_state::active : env.partitions->get(i);
    if (s != partition_state::active && s != partition_state::adopting)
      return "partition " + std::to_string(i) + " is " + domain::cluster::to_string(s);
  }
  return "";
}

/// Takes a write (`rp` when someone waits for it) into the lanes of its parts.
void admit(self_ptr self, persistence::batch& ops,
           std::optional<caf::typed_response_promise<bool>> rp) {
  auto& st = self->state;
  auto count = ops.size();
  std::map<int, persistence::batch> parts;
  auto why = split(*st.env, ops, parts);
  if (!why.empty()) {
    spdlog::warn("event=cluster_writer.refused ops={} waited={} reason=\"{}\"", count,
                 rp.has_value(), why);
    if (rp) rp->deliver(false);
    return;
  }
  if (!rp) {
    for (auto& [i, part] : parts) {
      st.lanes[i].pending.add(part, false);
      start(self, i);
    }
    return;
  }
  std::vector<int> lanes;
  for (const auto& [i, part] : parts) lanes.push_back(i);
  if (parts.empty())  // a barrier: answered once everything sent before it is stored
    for (int i = 0; i < lane_count; ++i)
      if (!st.lanes[i].idle()) lanes.push_back(i);
  if (lanes.empty()) {
    rp->deliver(true);
    return;
  }
  auto id = st.next_write++;
  st.writes[id] = {*rp, lanes.size(), true};
  for (int i : lanes) {
    if (auto it = parts.find(i); it != parts.end()) st.lanes[i].pending.add(it->second, true);
    st.lanes[i].waiting.push_back(id);
    start(self, i);
  }
}

/// A lane's batch ended: answers its writers; what nobody waited for goes back when it aborted.
void flushed(self_ptr self, int i, commit_outcome outcome, persistence::batch& failed) {
  auto& st = self->state;
  auto& l = st.lanes[i];
  l.busy = false;
  auto done = std::move(l.in_flight);
  l.in_flight.clear();
  if (outcome == commit_outcome::abort) {
    keep_unwaited(std::move(failed), l.in_flight_waited, l.pending);
    l.down = true;
    l.recover_next = i == local_lane;
    self->delayed_send(self, st.env->retry_interval, proto::tick_atom::value);
  } else if (outcome == commit_outcome::fenced) {
    if (auto dropped = unwaited(l.in_flight_waited))
      spdlog::warn("event=cluster_writer.dropped partition={} state=fenced ops={}", i, dropped);
  }
  l.in_flight_waited.clear();
  finish(self, done, outcome == commit_outcome::ok);
  start(self, i);
}

cluster_writer_actor::behavior_type writer(self_ptr self, cluster_writer_options opts) {
  auto env = std::make_shared<shared_env>();
  env->store = std::move(opts.store);
  env->sink = std::move(opts.sink);
  env->partitions = std::move(opts.partitions);
  env->partition_count = opts.partition_count;
  env->on_fenced = std::move(opts.on_fenced);
  env->retry_interval = opts.retry_interval;
  self->state.env = std::move(env);
  self->state.runner = opts.runner ? std::move(opts.runner) : thread_lane_runner();
  return {
      [self](proto::write_atom, persistence::batch& ops) -> caf::result<bool> {
        auto rp = self->make_response_promise<bool>();
        admit(self, ops, rp);
        return rp;
      },
      [self](proto::put_atom, persistence::batch& ops) { admit(self, ops, std::nullopt); },
      [](proto::flush_atom, bool, persistence::batch&) {
        // the single store writer's report: never sent here (lanes report with their index)
      },
      [self](proto::flush_atom, int lane, int outcome, persistence::batch& failed) {
        if (lane >= 0 && lane < lane_count)
          flushed(self, lane, static_cast<commit_outcome>(outcome), failed);
      },
      [self](proto::tick_atom) {
        for (int i = 0; i < lane_count; ++i) {
          auto& l = self->state.lanes[i];
          if (!l.down) continue;
          l.down = false;
          start(self, i);
        }
      },
      [self](proto::drain_atom, int k) -> caf::result<bool> {
        if (k < 0 || k >= local_lane || self->state.lanes[k].idle()) return true;
        auto rp = self->make_response_promise<bool>();
        self->state.lanes[k].drains.push_back(rp);
        return rp;
      },
  };
}

}  // namespace

std::unique_ptr<lane_runner> thread_lane_runner() {
  return std::make_unique<thread_runner>();
}

cluster_writer_actor spawn_cluster_writer(caf::actor_system& sys, cluster_writer_options opts) {
  if (!opts.store || !opts.sink || !opts.partitions || opts.partition_count < 1 ||
      opts.partition_count > domain::cluster::max_partitions)
    throw std::invalid_argument(
        "cluster writer: a store, a sink, a partition table and 1..63 "
        "partitions are needed");
  return sys.spawn(writer, std::move(opts));
}

}  // namespace pikoci::server
