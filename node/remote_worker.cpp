#include "node/remote_worker.hpp"

#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "actors/protocols/worker.hpp"
#include "actors/worker/embedded_worker.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::wire::run_build)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::wire::run_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::wire::cancel_build)

namespace pikoci::node {
namespace {

/// What the feed's consumer threads, the lease thread and the link share.
struct shared_flags {
  std::atomic<int> running{0};  // builds taken and not finished
  std::atomic<bool> draining{false};
  std::atomic<bool> stop{false};  // the lease thread's
};

/// The worker's end of the wire: owner of every build and check the embedded worker runs here
/// (so the runners' events come to it and go out on the events topic), and the one place that
/// decides whether a build is taken.
using link_actor = proto::build_events_actor::extend_with<proto::slot_owner_actor>::
    extend_with<proto::check_events_actor>::extend<
        caf::replies_to<proto::run_build_atom, wire::run_build>::with<bool>,
        caf::replies_to<proto::run_check_atom, wire::run_check>::with<bool>,
        caf::reacts_to<proto::cancel_atom, wire::cancel_build>,
        // the lease is lost: every running build is cancelled with this reason
        caf::reacts_to<proto::cancel_atom, std::string>, caf::reacts_to<proto::drain_atom>,
        caf::reacts_to<proto::tick_atom>,
        // the heartbeat that follows builds' ends
        caf::reacts_to<proto::beat_atom>,
        // a barrier: everything sent to the link before it has been handled
        caf::replies_to<proto::flush_atom>::with<bool>,
        // the server stored the build's final status
        caf::reacts_to<proto::recorded_atom, proto::build_key>>;

/// A build running here, and where its events go (`reply`; none: the events topic).
struct running_build {
  int attempt = 1;
  std::optional<wire::route> reply;
};

/// A final status the server has not confirmed yet: sent again, to the same place, until it does.
struct unconfirmed {
  int attempt = 1;
  work::build_result result;
  std::chrono::steady_clock::time_point sent;
  std::optional<wire::route> reply;
};

/// A check running here.
struct running_check {
  std::string resource;
  std::optional<wire::route> reply;
};

struct link_state {
  remote_worker_options opts;
  std::shared_ptr<kafka::worker_feed> feed;
  std::shared_ptr<shared_flags> flags;
  proto::embedded_worker_actor worker;
  std::map<std::int64_t, running_build> running;  // by build id
  std::map<std::int64_t, std::uint64_t> log_seq;  // build id → last log chunk's number
  std::set<std::pair<std::int64_t, int>> seen;    // (build, attempt) taken: never twice
  std::deque<std::pair<std::int64_t, int>> seen_order;
  std::map<std::int64_t, running_check> checks;  // by sequence
  std::map<std::int64_t, unconfirmed> results;   // build id → its final status, until recorded
  std::set<std::int64_t> lease_lost;             // builds cancelled because the lease ran out
  bool beat_soon = false;                        // a heartbeat is due after a build's end
};

/// Results are sent again this long after the last try (the server may be restarting).
constexpr auto resend_after = std::chrono::seconds(5);
/// A heartbeat follows builds' ends this much later, one for all the builds that ended
/// meanwhile. The server that sent a build frees its slot when it reads `build_finished`; the
/// heartbeat tells the other servers of a cluster sharing this worker, whose placement reads
/// the running builds it lists. One per build was one more Kafka message per build.
constexpr auto beat_after_end = std::chrono::milliseconds(50);

using link_ptr = link_actor::stateful_pointer<link_state>;

/// To the events topic: heartbeats.
void emit(link_ptr self, wire::message body) {
  self->state.feed->emit(std::move(body));
}

/// An event of the build `id`: to its reply while it runs here, else to the events topic.
void emit_build(link_ptr self, std::int64_t id, wire::message body) {
  auto& st = self->state;
  auto it = st.running.find(id);
  st.feed->emit(std::move(body), it == st.running.end() ? std::nullopt : it->second.reply);
}

void heartbeat(link_ptr self) {
  auto& st = self->state;
  const auto& feed = st.feed->options();
  wire::heartbeat hb;
  hb.tags = feed.tags;
  if (feed.jobs) hb.queues.push_back("jobs");
  if (feed.checks) hb.queues.push_back("checks");
  hb.concurrency = st.opts.concurrency;
  for (const auto& [id, b] : st.running) hb.running.emplace_back(id, b.attempt);
  hb.status = st.flags->draining ? "draining" : "healthy";
  hb.partitions = st.feed->partitions();
  emit(self, std::move(hb));
}

/// A build from the jobs topics: taken unless it ran here already (consumed then too) or the
/// worker is draining (held).
bool take_build(link_ptr self, wire::run_build& m) {
  auto& st = self->state;
  auto key = std::make_pair(m.build_id, m.attempt);
  if (st.seen.count(key) != 0) {
    spdlog::info("event=build.duplicate build={} attempt={} (already taken here)", m.build_id,
                 m.attempt);
    return true;  // consumed: it runs (or ran) here already
  }
  if (st.flags->draining) return false;
  st.seen.insert(key);
  st.seen_order.push_back(key);
  if (st.seen_order.size() > 100000) {
    st.seen.erase(st.seen_order.front());
    st.seen_order.pop_front();
  }
  st.running[m.build_id] = {m.attempt, std::move(m.reply)};
  ++st.flags->running;
  proto::build_work work;
  work.key = {m.build_id, m.attempt};
  work.plan = std::make_shared<work::build_plan>(std::move(m.plan));
  work.tags = std::move(m.tags);
  work.owner = caf::actor_cast<proto::build_events_actor>(self);
  work.slots = caf::actor_cast<proto::slot_owner_actor>(self);
  self->send(st.worker, proto::run_build_atom::value, std::move(work));
  return true;
}

bool take_check(link_ptr self, wire::run_check& m) {
  auto& st = self->state;
  st.checks[m.sequence] = {m.resource, std::move(m.reply)};
  proto::check_work work;
  work.resource = m.resource;
  work.sequence = m.sequence;
  work.command = std::move(m.command);
  work.timeout = m.timeout;
  work.tags = std::move(m.tags);
  work.secrets = std::move(m.secrets);
  work.owner = caf::actor_cast<proto::check_events_actor>(self);
  self->send(st.worker, proto::run_check_atom::value, std::move(work));
  return true;
}

/// The lease is lost: every running build is cancelled with `reason`, once.
void cancel_running(link_ptr self, const std::string& reason) {
  auto& st = self->state;
  for (const auto& [id, b] : st.running) {
    auto attempt = b.attempt;
    if (!st.lease_lost.insert(id).second) continue;  // cancelled already
    spdlog::warn("event=build.lease_lost build={} attempt={} reason=\"{}\"", id, attempt, reason);
    self->send(st.worker, proto::cancel_atom::value, proto::build_key{id, attempt}, reason);
  }
}

void build_done(link_ptr self, proto::build_key key, const work::build_result& r) {
  auto& st = self->state;
  emit_build(self, key.id, wire::build_finished{key.id, key.attempt, r});
  auto it = st.running.find(key.id);
  auto reply = it == st.running.end() ? std::nullopt : std::move(it->second.reply);
  // bounded: a server gone for long loses the oldest (and their replies with them)
  if (st.results.size() < 10000)
    st.results[key.id] = {key.attempt, r, std::chrono::steady_clock::now(), std::move(reply)};
  if (it != st.running.end()) {
    st.running.erase(it);
    --st.flags->running;
    st.feed->wake();  // a build it fetched may be waiting for this slot
  }
  st.lease_lost.erase(key.id);
  st.log_seq.erase(key.id);
  if (!st.beat_soon) {
    st.beat_soon = true;
    self->delayed_send(self, beat_after_end, proto::beat_atom::value);
  }
}

/// Every heartbeat interval: final statuses not yet recorded are sent again, then a heartbeat.
void tick(link_ptr self) {
  auto now = std::chrono::steady_clock::now();
  for (auto& [id, u] : self->state.results) {
    if (now - u.sent < resend_after) continue;
    u.sent = now;
    self->state.feed->emit(wire::build_finished{id, u.attempt, u.result}, u.reply);
  }
  heartbeat(self);
  self->delayed_send(self, self->state.opts.heartbeat, proto::tick_atom::value);
}

link_actor::behavior_type link_behavior(link_ptr self, remote_worker_options opts,
                                        std::shared_ptr<kafka::worker_feed> feed,
                                        std::shared_ptr<shared_flags> flags,
                                        proto::embedded_worker_actor worker) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.feed = std::move(feed);
  st.flags = std::move(flags);
  st.worker = std::move(worker);
  heartbeat(self);
  self->delayed_send(self, st.opts.heartbeat, proto::tick_atom::value);
  return {
      // ---- work from the consumer threads
      [self](proto::run_build_atom, wire::run_build& m) { return take_build(self, m); },
      [self](proto::run_check_atom, wire::run_check& m) { return take_check(self, m); },
      [self](proto::cancel_atom, const wire::cancel_build& m) {
        auto& st = self->state;
        auto it = st.running.find(m.build_id);
        if (it == st.running.end() || it->second.attempt != m.attempt) return;
        spdlog::info("event=build.cancel build={} attempt={} reason=\"{}\"", m.build_id, m.attempt,
                     m.reason);
        self->send(st.worker, proto::cancel_atom::value, proto::build_key{m.build_id, m.attempt},
                   m.reason);
      },
      [self](proto::cancel_atom, const std::string& reason) { cancel_running(self, reason); },
      [self](proto::beat_atom) {
        self->state.beat_soon = false;
        heartbeat(self);
      },
      [self](proto::drain_atom) {
        self->state.flags->draining = true;
        heartbeat(self);
      },
      [](proto::flush_atom) { return true; },
      [self](proto::recorded_atom, proto::build_key key) {
        auto& results = self->state.results;
        auto it = results.find(key.id);
        if (it != results.end() && it->second.attempt == key.attempt) results.erase(it);
      },
      [self](proto::tick_atom) { tick(self); },
      // ---- events of the builds and checks running here
      [self](proto::accepted_atom, proto::build_key key, const std::string&) {
        emit_build(self, key.id, wire::accepted{key.id, key.attempt});
      },
      [self](proto::step_start_atom, proto::build_key key, const work::step_ref& ref) {
        emit_build(self, key.id, wire::step_started{key.id, key.attempt, ref});
      },
      [self](proto::step_log_atom, proto::build_key key, const work::step_ref& ref,
             std::string& chunk) {
        // chunks are whole UTF-8 characters already (the executor's utf8_stream)
        auto seq = ++self->state.log_seq[key.id];
        emit_build(self, key.id, wire::log_chunk{key.id, key.attempt, ref, seq, std::move(chunk)});
      },
      [](proto::flush_atom, proto::build_key) { return true; },  // chunks are with the producer
      [self](proto::step_done_atom, proto::build_key key, const work::step_ref& ref,
             const work::step_result& r) {
        emit_build(self, key.id, wire::step_finished{key.id, key.attempt, ref, r});
      },
      [self](proto::decided_atom, proto::build_key key, const work::build_result& r) {
        emit_build(self, key.id, wire::build_decided{key.id, key.attempt, r});
      },
      [self](proto::build_done_atom, proto::build_key key, const work::build_result& r) {
        build_done(self, key, r);
      },
      [](proto::supersede_atom, proto::build_key, const std::string&) {
        // only the server's queue supersedes; never sent to a worker
      },
      [](proto::redispatch_atom, proto::build_key, const std::string&) {
        // only the server's dispatcher sends a build out again; never sent to a worker
      },
      [](proto::release_atom, std::int64_t) {
        // the slot is the server's: build_finished frees it there
      },
      [self](proto::check_done_atom, std::int64_t seq, work::check_result& r) {
        auto& st = self->state;
        auto it = st.checks.find(seq);
        running_check c;
        if (it != st.checks.end()) {
          c = std::move(it->second);
          st.checks.erase(it);
        }
        st.feed->emit(wire::check_finished{seq, c.resource, std::move(r)}, c.reply);
      },
  };
}

/// Asks the link to take `work` (a message from a consumer thread); false when it refused or
/// did not answer in time.
template <class Atom, class Work>
bool hand_to_link(caf::actor_system& sys, const link_actor& link, Atom atom, Work& work) {
  caf::scoped_actor self{sys};
  bool taken = false;
  self->request(link, std::chrono::seconds(10), atom, std::move(work))
      .receive([&](bool ok) { taken = ok; }, [&](caf::error&) { taken = false; });
  return taken;
}

/// What the control topic says to this worker, as messages to the link.
void control(const link_actor& link, const std::string& name, wire::message& body) {
  if (auto* cancel = std::get_if<wire::cancel_build>(&body)) {
    caf::anon_send(link, proto::cancel_atom::value, *cancel);
  } else if (auto* rec = std::get_if<wire::recorded>(&body)) {
    caf::anon_send(link, proto::recorded_atom::value,
                   proto::build_key{rec->build_id, rec->attempt});
  } else if (auto* d = std::get_if<wire::drain>(&body)) {
    if (d->worker.empty() || d->worker == name) caf::anon_send(link, proto::drain_atom::value);
  }
}

}  // namespace

struct remote_worker::impl {
  caf::actor_system& sys;
  remote_worker_options opts;
  std::shared_ptr<kafka::worker_feed> feed;
  std::shared_ptr<shared_flags> flags = std::make_shared<shared_flags>();
  proto::embedded_worker_actor worker;
  link_actor link;
  std::thread lease;

  /// The lease thread's loop: cancels the running builds once this worker has not reached the
  /// brokers for longer than the lease while the server could hear them.
  void watch_lease();

  explicit impl(caf::actor_system& s) : sys(s) {}
};

remote_worker::remote_worker(caf::actor_system& sys, remote_worker_options opts)
    : impl_(std::make_unique<impl>(sys)) {
  auto& i = *impl_;
  i.feed = std::make_shared<kafka::worker_feed>(opts.feed);
  opts.feed = i.feed->options();
  i.opts = opts;
  worker::worker_options w;
  w.name = opts.feed.name;
  w.concurrency = opts.concurrency;
  w.exec = opts.exec;
  i.worker = worker::spawn_embedded_worker(sys, w);
  i.link = sys.spawn(link_behavior, opts, i.feed, i.flags, i.worker);
  kafka::worker_feed_handlers h;
  h.build = [&sys, link = i.link](wire::run_build& m) {
    return hand_to_link(sys, link, proto::run_build_atom::value, m);
  };
  h.check = [&sys, link = i.link](wire::run_check& m) {
    return hand_to_link(sys, link, proto::run_check_atom::value, m);
  };
  // jobs are taken only with a free slot
  h.builds_open = [flags = i.flags, slots = opts.concurrency] {
    return !flags->draining && flags->running < slots;
  };
  h.checks_open = [flags = i.flags] { return !flags->draining; };
  h.control = [link = i.link, name = opts.feed.name](wire::message& body) {
    control(link, name, body);
  };
  i.feed->start(std::move(h));
  if (opts.lease.count() > 0) i.lease = std::thread([&i] { i.watch_lease(); });
  const auto& f = opts.feed;
  spdlog::info("event=worker.ready worker={} concurrency={} jobs={} checks={} tags={}", f.name,
               opts.concurrency, f.jobs, f.checks, fmt::join(f.tags, ","));
}

void remote_worker::impl::watch_lease() {
  using namespace std::chrono;
  auto asked = steady_clock::time_point{};
  bool told = false;  // "builds go on" logged for this spell
  while (!flags->stop) {
    std::this_thread::sleep_for(milliseconds(250));
    auto now = steady_clock::now();
    auto cut = duration_cast<milliseconds>(now - feed->last_delivered());
    if (cut <= opts.lease) told = false;
    if (flags->running == 0 || cut <= opts.lease || now - asked < seconds(1)) continue;
    asked = now;
    // the server's lease of this worker runs from its last heartbeat the server read (about
    // when the brokers acknowledged it), counted only while the server hears the brokers: it
    // has run out when the server has heard them for a whole lease too
    auto hears = opts.server_hears ? opts.server_hears() : std::nullopt;
    if (hears && *hears < opts.lease) {
      if (!std::exchange(told, true))
        spdlog::warn(
            "event=worker.brokers_unreachable cut_ms={} (the server cannot hear them "
            "either: builds go on)",
            cut.count());
      continue;
    }
    auto why = hears ? "the server heard them for " + std::to_string(hears->count()) + " ms"
                     : std::string("the server cannot be asked either");
    caf::anon_send(link, proto::cancel_atom::value,
                   "worker lost its lease: no contact with the Kafka brokers for " +
                       std::to_string(cut.count()) + " ms and " + why);
  }
}

remote_worker::~remote_worker() {
  auto& i = *impl_;
  i.flags->stop = true;
  if (i.lease.joinable()) i.lease.join();
  i.feed->stop();
  i.feed->flush(std::chrono::seconds(5));
  caf::anon_send_exit(i.link, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(i.worker, caf::exit_reason::user_shutdown);
}

bool remote_worker::drain(std::chrono::milliseconds timeout) {
  auto& i = *impl_;
  caf::anon_send(i.link, proto::drain_atom::value);
  i.flags->draining = true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (i.flags->running > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return i.flags->running == 0;
}

int remote_worker::stop(std::chrono::milliseconds grace) {
  auto& i = *impl_;
  i.flags->draining = true;
  int cancelled = 0;
  caf::scoped_actor self{i.sys};
  self->request(i.worker, grace + std::chrono::seconds(5), proto::shutdown_atom::value)
      .receive([&](int n) { cancelled = n; }, [&](caf::error&) { cancelled = -1; });
  // the runners' last events pass through the link before the producer is flushed
  self->request(i.link, std::chrono::seconds(5), proto::flush_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
  i.feed->flush(std::chrono::seconds(5));
  return cancelled;
}

}  // namespace pikoci::node
