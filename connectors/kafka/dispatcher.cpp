#include "connectors/kafka/dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <type_traits>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "actors/model/build.hpp"
#include "actors/model/ids.hpp"
#include "auth/auth.hpp"
#include "connectors/kafka/admin.hpp"

namespace pikoci::kafka {
namespace {

using clock_type = std::chrono::steady_clock;

/// A stale worker leaves GET /workers this many leases after it went stale.
constexpr int forget_leases = 3;
std::chrono::milliseconds forget_after(std::chrono::milliseconds lease) {
  return lease * forget_leases;
}

/// How often leases are looked at: a silent worker is noticed at most this late.
constexpr auto tick_every = std::chrono::milliseconds(250);

/// Attempts taken away from a worker (dispatched again or ended) that are remembered, so a
/// worker still reporting one in its heartbeats is told to cancel it.
constexpr std::size_t max_revoked = 10000;

/// What the server hears of the broker: its own probes through the events topic.
struct hearing {
  std::string id;  // this start's probes
  std::uint64_t sent = 0;
  clock_type::time_point probed;  // last probe sent
  clock_type::time_point started = clock_type::now();
  bool caught_up = false;  // the first own probe came back
  bool deaf = true;
  clock_type::time_point heard = clock_type::now();  // the last message read
  clock_type::time_point since;                      // hearing without a break since
};

std::string probe_id() {
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(rd());
}

/// A worker as its heartbeats describe it.
struct remote_worker {
  wire::heartbeat last;
  std::uint64_t placed = 0;  // builds written to its partitions: the next goes to the next one
  clock_type::time_point seen;
  model::time_point seen_wall;
  bool stale = false;
  clock_type::time_point stale_at;  // leaves the list `forget_after` later
  bool takes_jobs() const {
    for (const auto& q : last.queues)
      if (q == "jobs") return true;
    return false;
  }
};

/// A build handed to Kafka and not finished yet.
struct in_flight {
  proto::build_work work;
  std::string worker;              // who accepted the current attempt ("" until then)
  std::string placed_on;           // whose partition the current attempt was written to
  std::uint64_t last_log_seq = 0;  // log chunks are idempotent and ordered by it
  bool any_log = false;
  // adopted after a restart and not heard of since: lost when nobody claims it within the lease
  // (counted from when the server hears the broker)
  std::optional<clock_type::time_point> adopted_at;
};

/// An attempt taken away from its worker.
struct revoked_attempt {
  int attempt = 1;
  std::string reason;
};

struct pending_check {
  proto::check_events_actor owner;
  std::int64_t sequence = 0;  // the checker's own
  // no answer by then (its worker died, nobody takes checks): the check failed
  clock_type::time_point deadline;
  std::vector<std::string> tags;  // the resource's
  clock_type::time_point sent;
  int reply = -1;  // cluster mode: the input partition its answer comes back on
};

/// The events consumer's thread: polls, decodes, hands over; stops with `stop`.
struct events_thread {
  std::atomic<bool> stop{false};
  std::thread thread;
  ~events_thread() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

struct dispatcher_state {
  dispatcher_options opts;
  std::shared_ptr<producer> out;
  std::shared_ptr<events_thread> events;
  std::set<std::string> topics_made;  // tagged topics created so far
  std::map<std::int64_t, in_flight> builds;
  std::map<std::int64_t, pending_check> checks;  // by our check id
  std::int64_t next_check = 1;
  std::map<std::string, remote_worker> workers;
  hearing ears;
  std::map<std::int64_t, revoked_attempt> revoked;  // by build id
  std::optional<proto::slot_listener_actor> queue;
  std::optional<proto::worker_pool> pool_told;
  std::set<std::string> good_tokens;  // verified already (a handful of workers)
  std::int64_t dropped = 0;           // bad token, bad message, unknown or stale build
  // SIGTERM
  std::optional<caf::typed_response_promise<int>> stopped;
  int cancelled_on_stop = 0;
  clock_type::time_point stop_deadline;
};

using self_ptr = kafka_dispatcher_actor::stateful_pointer<dispatcher_state>;

/// Whether build `id` is this node's: always in single mode; in cluster mode while its
/// partition is active here.
bool owns(const dispatcher_state& st, std::int64_t id) {
  if (!st.opts.cluster) return true;
  return st.opts.cluster->table->active(model::id_source::partition_of(id));
}

/// Cluster mode: the lowest partition active here, where check answers come back (a check
/// belongs to no build; -1 when none is active, and the answer goes to the events topic).
int check_partition(const dispatcher_state& st) {
  for (int k = 0; k < st.opts.cluster->partitions; ++k)
    if (st.opts.cluster->table->active(k)) return k;
  return -1;
}

/// Cluster mode: the worker sends the events of work `m` to partition `k` of the input topic.
template <typename Work>
void set_reply(const dispatcher_state& st, Work& m, int k) {
  if (!st.opts.cluster || k < 0) return;
  m.reply.emplace();
  m.reply->topic = st.opts.cluster->input(st.opts.names);
  m.reply->partition = k;
}

/// The first check id of this start: 1 in single mode; in cluster mode a random base, so the
/// answers of one node's checks are never taken for another's (every node reads the events
/// topic, and an input partition may change owners while a check runs).
std::int64_t first_check_id(const dispatcher_options& opts) {
  if (!opts.cluster) return 1;
  std::random_device rd;
  return (static_cast<std::int64_t>(rd()) + 1) << 20;  // below 2^52: exact in JSON
}

void send_wire(self_ptr self, const std::string& topic, wire::message body,
               const std::string& to_worker = {}, int partition = -1) {
  // a targeted control message names its worker
  auto e = wire::stamped(to_worker, "", std::move(body));
  self->state.out->produce(topic, wire::key_of(e.body), wire::encode(e), partition);
}

/// The topic of work on `base` that needs `tags`, created the first time it is used.
std::string topic_for(self_ptr self, const std::string& base,
                      const std::vector<std::string>& tags) {
  auto& st = self->state;
  auto topic = topics::tagged(base, tags);
  if (topic != base && st.topics_made.insert(topic).second) {
    // blocking, but once per tag set for the node's life
    auto err =
        ensure_topics(st.opts.brokers, {topic}, st.opts.partitions, std::chrono::seconds(10));
    if (!err.empty()) {
      spdlog::error("event=kafka.topic_failed topic={} error=\"{}\"", topic, err);
      st.topics_made.erase(topic);
    } else {
      st.out->prepare({topic}, std::chrono::seconds(5));
    }
  }
  return topic;
}

bool same_pool(const proto::worker_pool& a, const proto::worker_pool& b) {
  auto fields = [](const proto::pool_worker& w) {
    return std::tie(w.name, w.tags, w.any_tags, w.takes_jobs, w.draining, w.slots);
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const auto& x, const auto& y) { return fields(x) == fields(y); });
}

/// Tells the execution queue the workers that are not stale whenever they change.
void tell_slots(self_ptr self) {
  auto& st = self->state;
  proto::worker_pool pool;
  auto mine = [&st](std::int64_t id) { return owns(st, id); };
  for (const auto& [name, w] : st.workers)
    if (!w.stale)
      pool.push_back({name, w.last.tags, false, w.takes_jobs(), w.last.status != "healthy",
                      shared_slots(w.last.concurrency, w.last.running, mine)});
  *st.opts.live_workers = static_cast<int>(pool.size());
  if (!st.queue || (st.pool_told && same_pool(*st.pool_told, pool))) return;
  st.pool_told = pool;
  self->send(*st.queue, proto::slots_atom::value, std::move(pool));
}

/// Why no live worker could take a check needing `tags` ("" when one could).
std::string check_wait(const dispatcher_state& st, const std::vector<std::string>& tags) {
  bool checks = false;
  for (const auto& [name, w] : st.workers) {
    if (w.stale ||
        std::find(w.last.queues.begin(), w.last.queues.end(), "checks") == w.last.queues.end())
      continue;
    checks = true;
    bool all = std::all_of(tags.begin(), tags.end(), [&](const std::string& t) {
      return std::find(w.last.tags.begin(), w.last.tags.end(), t) != w.last.tags.end();
    });
    if (all) return {};
  }
  if (!checks) return "no worker for queue checks";
  return "no worker with tags [" + fmt::format("{}", fmt::join(tags, ", ")) + "] for queue checks";
}

/// The builds of this node that occupy a slot of each worker: accepted by it and not finished,
/// or written to its partitions and not accepted yet. Known at once (a build's end frees its
/// slot here when its `build_finished` is read), unlike a heartbeat's `running`, which is as old
/// as the heartbeat: placing by that sent the next build to a worker whose slots were all taken
/// while the one that had just finished a build sat idle.
std::map<std::string, int> occupied(const dispatcher_state& st) {
  std::map<std::string, int> n;
  for (const auto& [id, b] : st.builds) {
    const auto& w = b.worker.empty() ? b.placed_on : b.worker;
    if (!w.empty()) ++n[w];
  }
  return n;
}

/// The partition of `topic` to write a build to: one consumed by the healthy worker with the
/// most free slots (so a busy or dead worker's partitions are avoided), whose name goes to `on`;
/// -1 (by key) when no worker has announced partitions of that topic yet.
int place(self_ptr self, const std::string& topic, std::string& on) {
  auto& st = self->state;
  auto taken = occupied(st);
  auto mine = [&st](std::int64_t id) { return owns(st, id); };
  remote_worker* best = nullptr;
  std::vector<int> parts;
  int best_free = 0;
  for (auto& [name, w] : st.workers) {
    if (w.stale || w.last.status != "healthy") continue;
    std::vector<int> held;
    for (const auto& [t, p] : w.last.partitions)
      if (t == topic) held.push_back(p);
    if (held.empty()) continue;
    // other nodes' builds as its heartbeat says, this node's as this node knows them
    int free = shared_slots(w.last.concurrency, w.last.running, mine) - taken[name];
    if (best == nullptr || free > best_free) {
      best = &w;
      best_free = free;
      parts = std::move(held);
      on = name;
    }
  }
  if (best == nullptr) return -1;
  return parts[best->placed++ % parts.size()];
}

void publish_build(self_ptr self, in_flight& b) {
  wire::run_build m;
  m.build_id = b.work.key.id;
  m.attempt = b.work.key.attempt;
  m.tags = b.work.tags;
  m.plan = *b.work.plan;
  m.plan.attempt = b.work.key.attempt;
  set_reply(self->state, m, model::id_source::partition_of(m.build_id));
  auto topic = topic_for(self, self->state.opts.names.jobs(), b.work.tags);
  b.placed_on.clear();
  auto part = place(self, topic, b.placed_on);
  send_wire(self, topic, std::move(m), {}, part);
}

/// The build ends here: its owner hears the result and the slot goes back.
void finish(self_ptr self, std::int64_t id, const work::build_result& result) {
  auto& st = self->state;
  auto it = st.builds.find(id);
  if (it == st.builds.end()) return;
  self->send(it->second.work.owner, proto::build_done_atom::value, it->second.work.key, result);
  self->send(it->second.work.slots, proto::release_atom::value, id);
  st.builds.erase(it);
  if (st.stopped && st.builds.empty()) {
    st.stopped->deliver(st.cancelled_on_stop);
    st.stopped.reset();
  }
}

/// The worker of build `id` is gone: it goes out again with attempt + 1, or ends `errored`.
void build_lost(self_ptr self, std::int64_t id, const std::string& name) {
  auto& st = self->state;
  auto& b = st.builds.at(id);
  b.adopted_at.reset();
  {
    // the lost worker may still be running it (cut from the broker, paused): it is told to stop
    // now, and again whenever its heartbeats still report this attempt
    bool again = b.work.key.attempt <= st.opts.redispatches && b.work.plan;
    revoked_attempt r{b.work.key.attempt,
                      again ? "lease expired: dispatched again as attempt " +
                                  std::to_string(b.work.key.attempt + 1)
                            : std::string("lease expired: the build ended errored")};
    send_wire(self, st.opts.names.control(), wire::cancel_build{id, r.attempt, r.reason}, b.worker);
    st.revoked[id] = std::move(r);
    if (st.revoked.size() > max_revoked) st.revoked.erase(st.revoked.begin());
    // the attempt number counts the dispatches, across restarts of the server too
    if (b.work.key.attempt <= st.opts.redispatches && b.work.plan) {
      ++b.work.key.attempt;
      b.worker.clear();
      b.last_log_seq = 0;
      b.any_log = false;
      spdlog::warn("event=build.redispatched build={} attempt={} lost_worker={}", id,
                   b.work.key.attempt, name);
      self->send(b.work.owner, proto::redispatch_atom::value, b.work.key,
                 "worker " + name + " lost: stopped sending heartbeats");
      publish_build(self, b);
    } else {
      spdlog::warn("event=build.worker_lost build={} attempt={} worker={}", id, b.work.key.attempt,
                   name);
      finish(self, id,
             {work::status::errored, "worker lost: " + name + " stopped sending heartbeats"});
    }
  }
}

/// `name` went silent: its started builds are lost.
void worker_lost(self_ptr self, const std::string& name) {
  std::vector<std::int64_t> lost;
  for (const auto& [id, b] : self->state.builds)
    if (b.worker == name) lost.push_back(id);
  for (auto id : lost) build_lost(self, id, name);
}

void publish_hearing(self_ptr self) {
  auto& h = self->state.ears;
  // nothing read yet until the server caught up
  self->state.opts.broker->update(!h.deaf, h.caught_up ? h.heard : clock_type::time_point{},
                                  h.since);
}

/// Something was read from the events topic. After a deaf spell (or the start) every lease
/// starts again now, and checks get the deaf time added to their deadline.
void heard(self_ptr self) {
  auto& st = self->state;
  auto& h = st.ears;
  if (!h.caught_up) return;  // the backlog of an earlier start: the server is not caught up yet
  auto now = clock_type::now();
  if (h.deaf || now - h.heard > deaf_after(st.opts.lease)) {
    auto deaf_for = now - h.heard;
    spdlog::info("event=kafka.broker_heard deaf_ms={}",
                 std::chrono::duration_cast<std::chrono::milliseconds>(deaf_for).count());
    for (auto& [id, c] : st.checks) c.deadline += deaf_for;
    h.deaf = false;
    h.since = now;
  }
  h.heard = now;
  publish_hearing(self);
}

void send_probe(self_ptr self) {
  auto& st = self->state;
  auto& h = st.ears;
  h.probed = clock_type::now();
  send_wire(self, st.opts.names.events(), wire::probe{h.id, ++h.sent});
}

/// When the lease of something last heard of at `seen` started: never before the server could
/// hear the broker again.
clock_type::time_point lease_start(self_ptr self, clock_type::time_point seen) {
  return std::max(seen, self->state.ears.since);
}

/// Workers silent past their lease, adopted builds nobody claimed and checks nobody answered.
/// Only while the server hears the broker.
void expire(self_ptr self, clock_type::time_point now) {
  auto& st = self->state;
  for (auto& [name, w] : st.workers) {
    if (!w.stale && now - lease_start(self, w.seen) > st.opts.lease) {
      w.stale = true;
      w.stale_at = now;
      spdlog::warn("event=worker.stale worker={} silent_ms={}", name,
                   std::chrono::duration_cast<std::chrono::milliseconds>(now - w.seen).count());
      worker_lost(self, name);
    }
  }
  // adopted after a restart: its worker must show up within the lease (twice the lease when it
  // is not known which worker took it: it may still wait in a topic)
  std::vector<std::pair<std::int64_t, std::string>> unclaimed;
  for (const auto& [id, b] : st.builds) {
    if (!b.adopted_at) continue;
    auto w = st.workers.find(b.worker);
    bool known = !b.worker.empty() && w != st.workers.end() && !w->second.stale;
    auto lease = b.worker.empty() ? 2 * st.opts.lease : st.opts.lease;
    if (!known && now - lease_start(self, *b.adopted_at) > lease)
      unclaimed.emplace_back(id, b.worker.empty() ? std::string("unknown") : b.worker);
  }
  for (const auto& [id, name] : unclaimed) build_lost(self, id, name);
  for (auto it = st.workers.begin(); it != st.workers.end();) {
    if (it->second.stale && now - it->second.stale_at > forget_after(st.opts.lease)) {
      spdlog::info("event=worker.forgotten worker={} (stale for {} leases)", it->first,
                   forget_leases);
      it = st.workers.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = st.checks.begin(); it != st.checks.end();) {
    // no worker that could take it for a whole lease: it fails now, saying why
    auto nobody = now - it->second.sent > st.opts.lease ? check_wait(st, it->second.tags) : "";
    // its answer would reach the partition's new owner, which ignores it
    bool moved = it->second.reply >= 0 && !st.opts.cluster->table->active(it->second.reply);
    if (now < it->second.deadline && nobody.empty() && !moved) {
      ++it;
      continue;
    }
    work::check_result lost;
    lost.error = !nobody.empty() ? nobody
                 : moved ? "the check's answer partition moved to another node"
                         : "no worker answered the check in time (its timeout plus the worker "
                           "lease)";
    self->send(it->second.owner, proto::check_done_atom::value, it->second.sequence,
               std::move(lost));
    it = st.checks.erase(it);
  }
}

void tick(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto& h = st.ears;
  auto limit = deaf_after(st.opts.lease);
  if (now - h.probed >= limit / 4) send_probe(self);
  if (h.caught_up && !h.deaf && now - h.heard > limit) {
    h.deaf = true;
    spdlog::warn("event=kafka.broker_unheard silent_ms={} (no lease runs out until it is back)",
                 std::chrono::duration_cast<std::chrono::milliseconds>(now - h.heard).count());
  }
  publish_hearing(self);
  // deaf, the server cannot tell a silent worker from its own lost connection: nothing expires
  if (!h.deaf) expire(self, now);
  tell_slots(self);
  if (st.stopped && now >= st.stop_deadline) {
    st.stopped->deliver(st.cancelled_on_stop);
    st.stopped.reset();
  }
}

bool token_ok(self_ptr self, const std::string& token) {
  auto& st = self->state;
  if (st.good_tokens.count(token) != 0) return true;
  auto v = auth::verify(st.opts.jwt_secret, token, wire::now_ms() / 1000);
  if (!v || !v.ok->worker) return false;
  if (st.good_tokens.size() < 64) st.good_tokens.insert(token);
  return true;
}

void drop(self_ptr self, const std::string& why) {
  auto& st = self->state;
  ++st.dropped;
  // one line per dropped message would let a flood fill the log: the first ones and then every
  // thousandth
  if (st.dropped <= 10 || st.dropped % 1000 == 0)
    spdlog::warn("event=kafka.message_dropped reason=\"{}\" dropped_total={}", why, st.dropped);
}

/// The build an event is about, when it is the current attempt (fencing).
/// The build an event is about, when it is the current attempt (fencing) and `sender` is the
/// worker running it ("" for `accepted`, which decides that).
in_flight* current(self_ptr self, std::int64_t id, int attempt, const std::string& sender,
                   const char* what) {
  auto it = self->state.builds.find(id);
  if (it == self->state.builds.end() || it->second.work.key.attempt != attempt) {
    drop(self, std::string("stale or unknown build in ") + what + ": build " + std::to_string(id) +
                   " attempt " + std::to_string(attempt));
    return nullptr;
  }
  if (!sender.empty() && !it->second.worker.empty() && it->second.worker != sender) {
    // a second copy of the work (delivered twice around a rebalance), told to cancel
    drop(self, std::string(what) + " of build " + std::to_string(id) + " from " + sender +
                   ", which does not run it");
    return nullptr;
  }
  return &it->second;
}

/// A worker's heartbeat: it is alive, and the builds it runs are its own (or are taken away).
void on_heartbeat(self_ptr self, const std::string& worker, const wire::heartbeat& m) {
  auto& st = self->state;
  auto& w = st.workers[worker];
  if (w.stale) spdlog::info("event=worker.back worker={}", worker);
  if (w.seen == clock_type::time_point{})
    spdlog::info("event=worker.joined worker={} concurrency={} queues={} tags={}", worker,
                 m.concurrency, fmt::join(m.queues, ","), fmt::join(m.tags, ","));
  for (const auto& [id, attempt] : m.running) {
    if (!owns(st, id)) continue;  // another node's build: that node decides about it
    auto b = st.builds.find(id);
    auto r = st.revoked.find(id);
    bool taken_away = (b != st.builds.end() && b->second.work.key.attempt > attempt) ||
                      (r != st.revoked.end() && r->second.attempt == attempt);
    if (taken_away) {
      // its lease ran out while it was cut off or paused: another attempt has it now
      auto reason = r != st.revoked.end() && r->second.attempt == attempt
                        ? r->second.reason
                        : std::string("stale attempt");
      send_wire(self, st.opts.names.control(), wire::cancel_build{id, attempt, reason}, worker);
      continue;
    }
    if (b == st.builds.end() || b->second.work.key.attempt != attempt) continue;
    if (b->second.worker.empty()) b->second.worker = worker;
    if (b->second.worker == worker) b->second.adopted_at.reset();  // claimed
  }
  w.last = m;
  w.seen = clock_type::now();
  w.seen_wall = std::chrono::system_clock::now();
  w.stale = false;
  tell_slots(self);
}

/// A worker took a build; only the first of two copies runs it.
void on_accepted(self_ptr self, const std::string& worker, const wire::accepted& m) {
  auto& st = self->state;
  auto* b = current(self, m.build_id, m.attempt, "", "accepted");
  if (b == nullptr) {
    // an attempt that is over (sent again, cancelled, finished): it must not run
    send_wire(self, st.opts.names.control(),
              wire::cancel_build{m.build_id, m.attempt, "stale attempt"}, worker);
    return;
  }
  b->adopted_at.reset();
  if (!b->worker.empty() && b->worker != worker) {
    // delivered twice (a worker died before committing): only the first one runs it
    send_wire(self, st.opts.names.control(),
              wire::cancel_build{m.build_id, m.attempt, "taken by " + b->worker}, worker);
    return;
  }
  b->worker = worker;
  self->send(b->work.owner, proto::accepted_atom::value, b->work.key, worker);
}

void on_build_finished(self_ptr self, const std::string& worker, const wire::build_finished& m) {
  auto& st = self->state;
  auto it = st.builds.find(m.build_id);
  if (it == st.builds.end() || it->second.work.key.attempt != m.attempt ||
      (!it->second.worker.empty() && it->second.worker != worker)) {
    // recorded before (a result sent again), an attempt that is over, or a second copy
    // that was told to cancel: the worker can stop sending it
    send_wire(self, st.opts.names.control(), wire::recorded{m.build_id, m.attempt}, worker);
    return;
  }
  finish(self, m.build_id, m.result);
}

void on_check_finished(self_ptr self, wire::check_finished& m) {
  auto& st = self->state;
  auto it = st.checks.find(m.sequence);
  if (it == st.checks.end()) {
    // cluster mode: another node's check (on the events topic, or on a partition that moved)
    if (st.opts.cluster) return;
    drop(self, "unknown check " + std::to_string(m.sequence));
    return;
  }
  self->send(it->second.owner, proto::check_done_atom::value, it->second.sequence,
             std::move(m.result));
  st.checks.erase(it);
}

void on_event(self_ptr self, wire::envelope& e) {
  auto& st = self->state;
  if (auto* p = std::get_if<wire::probe>(&e.body)) {
    // the server's own (an earlier start's are read while catching up)
    if (p->server == st.ears.id && !st.ears.caught_up) {
      st.ears.caught_up = true;
      spdlog::info(
          "event=kafka.caught_up ms={}",
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - st.ears.started)
              .count());
    }
    heard(self);
    return;
  }
  heard(self);
  if (!token_ok(self, e.token)) {
    drop(self, "bad worker token from \"" + e.worker + "\"");
    return;
  }
  // cluster mode: an event of another node's build (on the events topic, which every node reads)
  if (auto id = build_of(e.body); id && !owns(st, *id)) return;
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wire::heartbeat>) {
          on_heartbeat(self, e.worker, m);
        } else if constexpr (std::is_same_v<T, wire::accepted>) {
          on_accepted(self, e.worker, m);
        } else if constexpr (std::is_same_v<T, wire::step_started>) {
          if (auto* b = current(self, m.build_id, m.attempt, e.worker, "step_started"))
            self->send(b->work.owner, proto::step_start_atom::value, b->work.key, m.step);
        } else if constexpr (std::is_same_v<T, wire::log_chunk>) {
          auto* b = current(self, m.build_id, m.attempt, e.worker, "log_chunk");
          if (b == nullptr || (b->any_log && m.seq <= b->last_log_seq)) return;  // seen
          b->any_log = true;
          b->last_log_seq = m.seq;
          self->send(b->work.owner, proto::step_log_atom::value, b->work.key, m.step,
                     std::move(m.chunk));
        } else if constexpr (std::is_same_v<T, wire::step_finished>) {
          if (auto* b = current(self, m.build_id, m.attempt, e.worker, "step_finished"))
            self->send(b->work.owner, proto::step_done_atom::value, b->work.key, m.step, m.result);
        } else if constexpr (std::is_same_v<T, wire::build_decided>) {
          if (auto* b = current(self, m.build_id, m.attempt, e.worker, "build_decided"))
            self->send(b->work.owner, proto::decided_atom::value, b->work.key, m.result);
        } else if constexpr (std::is_same_v<T, wire::build_finished>) {
          on_build_finished(self, e.worker, m);
        } else if constexpr (std::is_same_v<T, wire::check_finished>) {
          on_check_finished(self, m);
        } else {
          drop(self, std::string("a ") + wire::type_name(e.body) + " on the events topic");
        }
      },
      e.body);
}

/// Cluster mode: builds of pipelines handed off to another node leave without a cancel (the new
/// owner adopts them) and without a release (the queue withdrew them itself).
void forget_builds(self_ptr self, const std::vector<std::int64_t>& ids) {
  auto& st = self->state;
  for (auto id : ids) {
    st.builds.erase(id);
    st.revoked.erase(id);  // the new owner decides about its attempts
  }
  if (st.stopped && st.builds.empty()) {
    st.stopped->deliver(st.cancelled_on_stop);
    st.stopped.reset();
  }
}

/// DELETE /workers/{name}: a stale worker leaves the list now; a live one is refused (it would
/// be back at its next heartbeat).
domain::reply forget(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto it = st.workers.find(name);
  if (it == st.workers.end())
    return domain::fail(domain::errc::not_found, "worker \"" + name + "\" not found");
  if (!it->second.stale)
    return domain::fail(domain::errc::conflict,
                        "worker \"" + name +
                            "\" is alive (it sent a heartbeat within the lease); " +
                            "stop it first");
  spdlog::info("event=worker.forgotten worker={} (by request)", name);
  st.workers.erase(it);
  tell_slots(self);
  return domain::nothing();
}

nlohmann::json workers_json(self_ptr self) {
  auto& st = self->state;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, w] : st.workers)
    list.push_back({{"name", name},
                    {"kind", "remote"},
                    {"tags", w.last.tags},
                    {"queues", w.last.queues},
                    {"concurrency", w.last.concurrency},
                    {"running", w.last.running.size()},
                    // work topic partitions its consumers hold (0 until the group assigns some)
                    {"partitions", w.last.partitions.size()},
                    {"status", w.stale ? "stale" : w.last.status},
                    {"last_heartbeat_at", model::format_time(w.seen_wall)}});
  nlohmann::json broker{{"reachable", !st.ears.deaf}};
  if (auto ago = st.opts.broker->since_last_event()) broker["last_event_ms_ago"] = ago->count();
  domain::metrics hops;
  st.opts.hops->add_to(hops);
  return {{"workers", std::move(list)},
          {"dropped_messages", st.dropped},
          {"broker", broker},
          {"metrics", hops.render()}};
}

kafka_dispatcher_actor::behavior_type dispatcher_behavior(self_ptr self,
                                                          std::shared_ptr<producer> out,
                                                          dispatcher_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.out = std::move(out);
  st.ears.id = probe_id();
  st.next_check = first_check_id(st.opts);
  send_probe(self);
  publish_hearing(self);
  self->delayed_send(self, tick_every, proto::tick_atom::value);
  return {
      [self](proto::run_build_atom, proto::build_work& work) {
        auto id = work.key.id;
        auto& b = self->state.builds[id];
        b = in_flight{};
        b.work = std::move(work);
        publish_build(self, b);
      },
      [self](proto::run_check_atom, proto::check_work& work) {
        auto& st = self->state;
        auto id = st.next_check++;
        auto reply = st.opts.cluster ? check_partition(st) : -1;
        st.checks[id] = {work.owner, work.sequence,
                         clock_type::now() + work.timeout + st.opts.lease, work.tags,
                         clock_type::now(), reply};
        wire::run_check m;
        m.sequence = id;
        m.resource = work.resource;
        m.tags = work.tags;
        m.command = std::move(work.command);
        m.timeout = work.timeout;
        m.secrets = std::move(work.secrets);
        set_reply(st, m, reply);
        send_wire(self, topic_for(self, st.opts.names.checks(), work.tags), std::move(m));
      },
      [self](proto::cancel_atom, proto::build_key key, const std::string& reason) {
        auto& st = self->state;
        auto it = st.builds.find(key.id);
        if (it == st.builds.end()) return;
        send_wire(self, st.opts.names.control(),
                  wire::cancel_build{key.id, it->second.work.key.attempt, reason});
        if (it->second.worker.empty()) {
          // not taken by any worker yet: it ends now; a worker that takes it later is told
          // to cancel when its `accepted` finds the build gone
          finish(self, key.id, {work::status::cancelled, reason});
        }
      },
      [self](proto::adopt_atom, proto::build_work& work, const std::string& worker) {
        auto id = work.key.id;
        auto& b = self->state.builds[id];
        b = in_flight{};
        b.work = std::move(work);
        b.worker = worker;
        b.adopted_at = clock_type::now();
      },
      [self](proto::recorded_atom, proto::build_key key) {
        send_wire(self, self->state.opts.names.control(), wire::recorded{key.id, key.attempt});
      },
      [self](proto::workers_atom) { return workers_json(self); },
      [self](proto::forget_atom, const std::string& name) { return forget(self, name); },
      [self](proto::shutdown_atom) -> caf::result<int> {
        auto& st = self->state;
        for (auto& [id, b] : st.builds) {
          send_wire(self, st.opts.names.control(),
                    wire::cancel_build{id, b.work.key.attempt, "cancelled: server stopping"});
          ++st.cancelled_on_stop;
        }
        auto rp = self->make_response_promise<int>();
        if (st.builds.empty()) {
          rp.deliver(st.cancelled_on_stop);
          return rp;
        }
        st.stopped = rp;
        st.stop_deadline = clock_type::now() + st.opts.grace + std::chrono::seconds(2);
        return rp;
      },
      [self](proto::slots_atom, proto::slot_listener_actor& queue) {
        self->state.queue = std::move(queue);
        self->state.pool_told.reset();
        tell_slots(self);
      },
      [self](proto::wire_atom, wire::envelope& e) { on_event(self, e); },
      [self](proto::wire_atom, const std::string& why) {
        heard(self);
        drop(self, why);
      },
      [self](proto::tick_atom) {
        tick(self);
        self->delayed_send(self, tick_every, proto::tick_atom::value);
      },
      [self](proto::forget_atom, const std::vector<std::int64_t>& ids) {
        forget_builds(self, ids);
      },
  };
}

/// One worker message read from Kafka, decoded on the reader's thread and handed to the actor.
void hand_over(const kafka_dispatcher_actor& self, hop_meter& hops, const std::string& topic,
               const std::string& payload) {
  try {
    auto e = wire::decode(payload);
    hops.observe(topic, e.sent_at_ms, wire::now_ms());
    caf::anon_send(self, proto::wire_atom::value, std::move(e));
  } catch (const wire::decode_error& e) {
    caf::anon_send(self, proto::wire_atom::value, std::string("undecodable: ") + e.what());
  }
}

}  // namespace

namespace {
std::int64_t ns_of(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

std::chrono::milliseconds deaf_after(std::chrono::milliseconds lease) {
  return std::clamp<std::chrono::milliseconds>(lease / 3, std::chrono::seconds(1),
                                               std::chrono::seconds(5));
}

void broker_view::update(bool reachable, clock_type::time_point heard,
                         clock_type::time_point since) {
  heard_ns_ = ns_of(heard);
  since_ns_ = ns_of(since);
  reachable_ = reachable;
}

std::optional<std::chrono::milliseconds> broker_view::since_last_event() const {
  auto heard = heard_ns_.load();
  if (heard == 0) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::nanoseconds(ns_of(clock_type::now()) - heard));
}

std::chrono::milliseconds broker_view::heard_for() const {
  if (!reachable_) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::nanoseconds(ns_of(clock_type::now()) - since_ns_.load()));
}

kafka_dispatcher_actor spawn_kafka_dispatcher(caf::actor_system& sys, dispatcher_options opts) {
  auto names = opts.names;
  std::vector<std::string> made{names.jobs(), names.checks(), names.events(), names.control()};
  if (auto err = check_brokers(opts.brokers, std::chrono::seconds(10)); !err.empty())
    throw std::runtime_error("Kafka brokers " + opts.brokers + " unreachable: " + err);
  if (auto err = ensure_topics(opts.brokers, made, opts.partitions, std::chrono::seconds(15));
      !err.empty())
    throw std::runtime_error("cannot create the Kafka topics: " + err);
  auto out = std::make_shared<producer>(opts.brokers);
  // every topic it writes to (its probes go to the events topic)
  out->prepare({names.events(), names.jobs(), names.checks(), names.control()},
               std::chrono::seconds(5));
  auto self = sys.spawn(dispatcher_behavior, std::move(out), opts);
  // the events consumer. Single mode: a group of the servers of this prefix, so a restarted
  // server goes on where the last one stopped. Cluster mode: every node reads every partition
  // from its end, outside any group (heartbeats are for all; the events of builds come back on
  // the input topic, whose offsets the cluster's group keeps)
  auto events = std::make_shared<events_thread>();
  bool grouped = !opts.cluster;
  auto group = grouped ? names.server_group() : names.server_group() + "." + opts.cluster->name;
  auto in = std::make_shared<consumer>(opts.brokers, group, true);
  auto err = grouped ? in->subscribe({names.events()}) : in->assign_all(names.events());
  if (!err.empty())
    throw std::runtime_error((grouped ? "cannot subscribe to " : "cannot assign ") +
                             names.events() + ": " + err);
  events->thread = std::thread([events_raw = events.get(), in, self, hops = opts.hops, grouped] {
    // handed to the actor, then committed in batches: a restarted server reads the events of the
    // last moments again, which the actor ignores (seen, or of an attempt that is over)
    offset_batch handed(std::chrono::milliseconds(200));
    while (!events_raw->stop) {
      if (grouped) handed.commit(*in);
      auto m = in->poll(std::chrono::milliseconds(100));
      if (!m) continue;
      hand_over(self, *hops, m->topic, m->payload);
      if (grouped) handed.done(*m);
    }
    if (grouped) handed.commit(*in, true);
  });
  // the thread stops when the actor goes
  self->attach_functor([events] { events->stop = true; });
  return self;
}

void feed_input(const kafka_dispatcher_actor& dispatcher, hop_meter& hops,
                const std::string& topic, const std::string& payload) {
  hand_over(dispatcher, hops, topic, payload);
}

namespace {
template <typename T, typename = void>
struct has_build_id : std::false_type {};
template <typename T>
struct has_build_id<T, std::void_t<decltype(std::declval<const T&>().build_id)>>
    : std::true_type {};
}  // namespace

std::optional<std::int64_t> build_of(const wire::message& m) {
  return std::visit(
      [](const auto& body) -> std::optional<std::int64_t> {
        if constexpr (has_build_id<std::decay_t<decltype(body)>>::value)
          return body.build_id;
        else
          return std::nullopt;
      },
      m);
}

int shared_slots(int concurrency, const std::vector<std::pair<std::int64_t, int>>& running,
                 const std::function<bool(std::int64_t)>& owns) {
  auto foreign = std::count_if(running.begin(), running.end(),
                               [&](const auto& r) { return !owns(r.first); });
  return std::max(0, concurrency - static_cast<int>(foreign));
}

}  // namespace pikoci::kafka
