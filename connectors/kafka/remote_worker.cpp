#include "connectors/kafka/remote_worker.hpp"

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "actors/protocols/worker.hpp"
#include "actors/worker/embedded_worker.hpp"
#include "connectors/kafka/wire.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::wire::run_build)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::wire::run_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::wire::cancel_build)

namespace pikoci::kafka {
namespace {

/// What the consumer threads and the link share.
struct shared_flags {
  std::atomic<int> running{0};  // builds taken and not finished
  std::atomic<bool> draining{false};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<std::string, int>> partitions;  // the jobs consumer's, for heartbeats
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
        // a barrier: everything sent to the link before it has been handled
        caf::replies_to<proto::flush_atom>::with<bool>,
        // the server stored the build's final status
        caf::reacts_to<proto::recorded_atom, proto::build_key>>;

/// A final status the server has not confirmed yet: sent again until it does.
struct unconfirmed {
  int attempt = 1;
  worker::build_result result;
  std::chrono::steady_clock::time_point sent;
};

struct link_state {
  remote_worker_options opts;
  std::shared_ptr<producer> out;
  std::shared_ptr<shared_flags> flags;
  proto::embedded_worker_actor worker;
  std::map<std::int64_t, int> running;            // build id → attempt
  std::map<std::int64_t, std::uint64_t> log_seq;  // build id → last log chunk's number
  std::set<std::pair<std::int64_t, int>> seen;  // (build, attempt) taken: never twice
  std::deque<std::pair<std::int64_t, int>> seen_order;
  std::map<std::int64_t, std::string> checks;   // sequence → resource
  std::map<std::int64_t, unconfirmed> results;  // build id → its final status, until recorded
  std::set<std::int64_t> lease_lost;            // builds cancelled because the lease ran out
};

/// Results are sent again this long after the last try (the server may be restarting).
constexpr auto resend_after = std::chrono::seconds(5);

using link_ptr = link_actor::stateful_pointer<link_state>;

void emit(link_ptr self, wire::message body) {
  auto& st = self->state;
  auto e = wire::stamped(st.opts.name, st.opts.token, std::move(body));
  st.out->produce(st.opts.names.events(), wire::key_of(e.body), wire::encode(e));
}

void heartbeat(link_ptr self) {
  auto& st = self->state;
  wire::heartbeat hb;
  hb.tags = st.opts.tags;
  if (st.opts.jobs) hb.queues.push_back("jobs");
  if (st.opts.checks) hb.queues.push_back("checks");
  hb.concurrency = st.opts.concurrency;
  for (const auto& [id, attempt] : st.running) hb.running.emplace_back(id, attempt);
  hb.status = st.flags->draining ? "draining" : "healthy";
  {
    std::lock_guard<std::mutex> lock(st.flags->mu);
    hb.partitions = st.flags->partitions;
  }
  emit(self, std::move(hb));
}

link_actor::behavior_type link_behavior(link_ptr self, remote_worker_options opts,
                                        std::shared_ptr<producer> out,
                                        std::shared_ptr<shared_flags> flags,
                                        proto::embedded_worker_actor worker) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.out = std::move(out);
  st.flags = std::move(flags);
  st.worker = std::move(worker);
  heartbeat(self);
  self->delayed_send(self, st.opts.heartbeat, proto::tick_atom::value);
  return {
      // ---- work from the consumer threads
      [self](proto::run_build_atom, wire::run_build& m) -> bool {
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
        st.running[m.build_id] = m.attempt;
        ++st.flags->running;
        proto::build_work work;
        work.key = {m.build_id, m.attempt};
        work.plan = std::make_shared<work::build_plan>(std::move(m.plan));
        work.tags = std::move(m.tags);
        work.owner = caf::actor_cast<proto::build_events_actor>(self);
        work.slots = caf::actor_cast<proto::slot_owner_actor>(self);
        self->send(st.worker, proto::run_build_atom::value, std::move(work));
        return true;
      },
      [self](proto::run_check_atom, wire::run_check& m) -> bool {
        auto& st = self->state;
        st.checks[m.sequence] = m.resource;
        proto::check_work work;
        work.resource = m.resource;
        work.sequence = m.sequence;
        work.command = std::move(m.command);
        work.timeout = m.timeout;
        work.tags = std::move(m.tags);
        work.owner = caf::actor_cast<proto::check_events_actor>(self);
        self->send(st.worker, proto::run_check_atom::value, std::move(work));
        return true;
      },
      [self](proto::cancel_atom, const wire::cancel_build& m) {
        auto& st = self->state;
        auto it = st.running.find(m.build_id);
        if (it == st.running.end() || it->second != m.attempt) return;
        spdlog::info("event=build.cancel build={} attempt={} reason=\"{}\"", m.build_id, m.attempt,
                     m.reason);
        self->send(st.worker, proto::cancel_atom::value, proto::build_key{m.build_id, m.attempt},
                   m.reason);
      },
      [self](proto::cancel_atom, const std::string& reason) {
        auto& st = self->state;
        for (const auto& [id, attempt] : st.running) {
          if (!st.lease_lost.insert(id).second) continue;  // cancelled already
          spdlog::warn("event=build.lease_lost build={} attempt={} reason=\"{}\"", id, attempt,
                       reason);
          self->send(st.worker, proto::cancel_atom::value, proto::build_key{id, attempt}, reason);
        }
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
      [self](proto::tick_atom) {
        auto now = std::chrono::steady_clock::now();
        for (auto& [id, u] : self->state.results) {
          if (now - u.sent < resend_after) continue;
          u.sent = now;
          emit(self, wire::build_finished{id, u.attempt, u.result});
        }
        heartbeat(self);
        self->delayed_send(self, self->state.opts.heartbeat, proto::tick_atom::value);
      },
      // ---- events of the builds and checks running here
      [self](proto::accepted_atom, proto::build_key key, const std::string&) {
        emit(self, wire::accepted{key.id, key.attempt});
      },
      [self](proto::step_start_atom, proto::build_key key, const worker::step_ref& ref) {
        emit(self, wire::step_started{key.id, key.attempt, ref});
      },
      [self](proto::step_log_atom, proto::build_key key, const worker::step_ref& ref,
             std::string& chunk) {
        // chunks are whole UTF-8 characters already (the executor's utf8_stream)
        auto seq = ++self->state.log_seq[key.id];
        emit(self, wire::log_chunk{key.id, key.attempt, ref, seq, std::move(chunk)});
      },
      [](proto::flush_atom, proto::build_key) { return true; },  // chunks are with the producer
      [self](proto::step_done_atom, proto::build_key key, const worker::step_ref& ref,
             const worker::step_result& r) {
        emit(self, wire::step_finished{key.id, key.attempt, ref, r});
      },
      [self](proto::decided_atom, proto::build_key key, const worker::build_result& r) {
        emit(self, wire::build_decided{key.id, key.attempt, r});
      },
      [self](proto::build_done_atom, proto::build_key key, const worker::build_result& r) {
        auto& st = self->state;
        emit(self, wire::build_finished{key.id, key.attempt, r});
        if (st.results.size() < 10000)  // bounded: a server gone for long loses the oldest
          st.results[key.id] = {key.attempt, r, std::chrono::steady_clock::now()};
        if (st.running.erase(key.id) != 0) --st.flags->running;
        st.lease_lost.erase(key.id);
        st.log_seq.erase(key.id);
        heartbeat(self);  // the server learns the free slot at once
      },
      [](proto::supersede_atom, proto::build_key, const std::string&) {
        // only the server's queue supersedes; never sent to a worker
      },
      [](proto::release_atom, std::int64_t) {
        // the slot is the server's: build_finished frees it there
      },
      [self](proto::check_done_atom, std::int64_t seq, worker::check_result& r) {
        auto& st = self->state;
        auto it = st.checks.find(seq);
        std::string resource = it == st.checks.end() ? std::string() : it->second;
        if (it != st.checks.end()) st.checks.erase(it);
        emit(self, wire::check_finished{seq, resource, std::move(r)});
      },
  };
}

/// Polls one consumer until `flags->stop`: hands messages to `take` in order and commits each
/// once taken. `gate` says whether the worker may take more now; when it may not, what was
/// fetched waits here, uncommitted (a worker that goes away leaves it to the others). Pausing
/// the consumer instead would not move the partitions to an idle worker either, and resuming
/// costs a fetch round trip per build.
/// Whether `m`'s partition is still this consumer's (a rebalance hands it, and the messages
/// this consumer fetched from it but did not commit, to another one).
bool assigned(consumer& c, const message& m) {
  for (const auto& [topic, partition] : c.assignment())
    if (topic == m.topic && partition == m.partition) return true;
  return false;
}

template <class Take, class Gate, class Every>
void consume_loop(consumer& c, std::shared_ptr<shared_flags> flags, Take take, Gate gate,
                  Every every_second) {
  std::deque<message> held;
  auto next = std::chrono::steady_clock::now();
  while (!flags->stop) {
    if (auto now = std::chrono::steady_clock::now(); now >= next) {
      every_second();
      next = now + std::chrono::seconds(1);
    }
    if (!held.empty() && gate()) {
      auto m = std::move(held.front());
      held.pop_front();
      if (!assigned(c, m)) continue;  // its partition moved to another worker, who gets it now
      if (take(m)) {
        c.commit(m);
      } else {
        held.push_front(std::move(m));  // refused for now (draining): never committed here
      }
      continue;
    }
    // waiting for a slot: look again soon; idle: block in the poll
    auto m = c.poll(std::chrono::milliseconds(held.empty() ? 100 : 5));
    if (m) held.push_back(std::move(*m));
  }
}

std::optional<wire::envelope> decode_or_log(const message& m) {
  try {
    return wire::decode(m.payload);
  } catch (const wire::decode_error& e) {
    spdlog::warn("event=kafka.message_dropped topic={} reason=\"{}\"", m.topic, e.what());
    return std::nullopt;
  }
}

/// A consumed message of type `Work` goes to the link, which takes it or not (draining). A
/// message of another type, or one that does not decode, is not ours to run: consumed.
template <class Work, class Atom>
bool hand_to_link(caf::scoped_actor& self, const link_actor& link, Atom atom, const message& m) {
  auto e = decode_or_log(m);
  auto* work = e ? std::get_if<Work>(&e->body) : nullptr;
  if (work == nullptr) return true;
  bool taken = false;
  self->request(link, std::chrono::seconds(10), atom, std::move(*work))
      .receive([&](bool ok) { taken = ok; }, [&](caf::error&) { taken = false; });
  return taken;
}

}  // namespace

struct remote_worker::impl {
  caf::actor_system& sys;
  remote_worker_options opts;
  std::shared_ptr<producer> out;
  std::shared_ptr<shared_flags> flags = std::make_shared<shared_flags>();
  proto::embedded_worker_actor worker;
  link_actor link;
  std::vector<std::thread> threads;

  /// The lease thread's loop: cancels the running builds once this worker has not reached the
  /// brokers for longer than the lease while the server could hear them.
  void watch_lease();

  explicit impl(caf::actor_system& s) : sys(s) {}
};

remote_worker::remote_worker(caf::actor_system& sys, remote_worker_options opts)
    : impl_(std::make_unique<impl>(sys)) {
  auto& i = *impl_;
  opts.tags = normalize_tags(opts.tags);
  i.opts = opts;
  if (auto err = check_brokers(opts.brokers, std::chrono::seconds(10)); !err.empty())
    throw std::runtime_error("Kafka brokers " + opts.brokers + " unreachable: " + err);
  std::vector<std::string> job_topics, check_topics;
  if (opts.jobs) job_topics = topics::consumed(opts.names.jobs(), opts.tags);
  if (opts.checks) check_topics = topics::consumed(opts.names.checks(), opts.tags);
  std::vector<std::string> all{opts.names.events(), opts.names.control()};
  all.insert(all.end(), job_topics.begin(), job_topics.end());
  all.insert(all.end(), check_topics.begin(), check_topics.end());
  if (auto err = ensure_topics(opts.brokers, all, 8, std::chrono::seconds(15)); !err.empty())
    throw std::runtime_error("cannot create the Kafka topics: " + err);
  i.out = std::make_shared<producer>(opts.brokers);
  worker::worker_options w;
  w.name = opts.name;
  w.concurrency = opts.concurrency;
  w.exec = opts.exec;
  i.worker = worker::spawn_embedded_worker(sys, w);
  i.link = sys.spawn(link_behavior, opts, i.out, i.flags, i.worker);
  auto link = i.link;
  auto flags = i.flags;
  auto prefix = opts.names.prefix;
  // jobs: one shared group, so each build goes to one worker; taken only with a free slot
  if (opts.jobs) {
    auto c = std::make_shared<consumer>(opts.brokers, prefix + ".workers.jobs", true);
    if (auto err = c->subscribe(job_topics); !err.empty())
      throw std::runtime_error("cannot subscribe to the jobs topics: " + err);
    int slots = opts.concurrency;
    i.threads.emplace_back([c, flags, link, slots, &sys] {
      caf::scoped_actor self{sys};
      consume_loop(
          *c, flags,
          [&](const message& m) {
            return hand_to_link<wire::run_build>(self, link, proto::run_build_atom::value, m);
          },
          [&] { return !flags->draining && flags->running < slots; },
          [&] {  // where the server should write work meant for this worker
            auto parts = c->assignment();
            std::lock_guard<std::mutex> lock(flags->mu);
            flags->partitions = std::move(parts);
          });
    });
  }
  if (opts.checks) {
    auto c = std::make_shared<consumer>(opts.brokers, prefix + ".workers.checks", true);
    if (auto err = c->subscribe(check_topics); !err.empty())
      throw std::runtime_error("cannot subscribe to the checks topics: " + err);
    i.threads.emplace_back([c, flags, link, &sys] {
      caf::scoped_actor self{sys};
      consume_loop(
          *c, flags,
          [&](const message& m) {
            return hand_to_link<wire::run_check>(self, link, proto::run_check_atom::value, m);
          },
          [&] { return !flags->draining; }, [] {});
    });
  }
  // control: every worker sees every message (a group of its own), from now on
  {
    auto group = prefix + ".control." + opts.name + "." + std::to_string(wire::now_ms());
    auto c = std::make_shared<consumer>(opts.brokers, group, false);
    if (auto err = c->subscribe({opts.names.control()}); !err.empty())
      throw std::runtime_error("cannot subscribe to " + opts.names.control() + ": " + err);
    auto name = opts.name;
    i.threads.emplace_back([c, flags, link, name] {
      while (!flags->stop) {
        auto m = c->poll(std::chrono::milliseconds(100));
        if (!m) continue;
        auto e = decode_or_log(*m);
        if (!e || (!e->worker.empty() && e->worker != name)) continue;  // for another worker
        if (auto* cancel = std::get_if<wire::cancel_build>(&e->body)) {
          caf::anon_send(link, proto::cancel_atom::value, *cancel);
        } else if (auto* rec = std::get_if<wire::recorded>(&e->body)) {
          caf::anon_send(link, proto::recorded_atom::value,
                         proto::build_key{rec->build_id, rec->attempt});
        } else if (auto* d = std::get_if<wire::drain>(&e->body)) {
          if (d->worker.empty() || d->worker == name)
            caf::anon_send(link, proto::drain_atom::value);
        }
      }
    });
  }
  if (opts.lease.count() > 0) i.threads.emplace_back([&i] { i.watch_lease(); });
  spdlog::info("event=worker.ready worker={} concurrency={} jobs={} checks={} tags={}", opts.name,
               opts.concurrency, opts.jobs, opts.checks, fmt::join(opts.tags, ","));
}

void remote_worker::impl::watch_lease() {
  using namespace std::chrono;
  auto asked = steady_clock::time_point{};
  bool told = false;  // "builds go on" logged for this spell
  while (!flags->stop) {
    std::this_thread::sleep_for(milliseconds(250));
    auto now = steady_clock::now();
    auto cut = duration_cast<milliseconds>(now - out->last_delivered());
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
  for (auto& t : i.threads) t.join();
  i.out->flush(std::chrono::seconds(5));
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
  i.out->flush(std::chrono::seconds(5));
  return cancelled;
}

}  // namespace pikoci::kafka
