#include "actors/server/outbox.hpp"

#include <algorithm>
#include <deque>
#include <set>

#include <spdlog/spdlog.h>

#include "actors/server/persist.hpp"
#include "connectors/http_client/http_client.hpp"
#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"

namespace pikoci::server {
namespace {

using model::delivery_status;
using model::notification_message;
using nlohmann::json;
using clock_type = std::chrono::system_clock;

struct outbox_state {
  proto::outbox_options opts;
  proto::store_writer_actor store;
  std::map<std::string, notification_message> messages;     // pending, failed, recent delivered
  std::set<std::pair<model::time_point, std::string>> due;  // pending, not in flight
  std::set<std::string> in_flight;
  std::deque<std::string> delivered;  // oldest first, at most opts.keep_delivered
  std::vector<caf::actor> senders;
  std::vector<caf::actor> idle;
  std::optional<model::time_point> tick_at;  // the earliest tick on its way
  std::mt19937_64 rng{std::random_device{}()};
  proto::outbox_figures_ptr figures;
};

using self_ptr = proto::outbox_actor::stateful_pointer<outbox_state>;

persistence::batch record_ops(const std::vector<notification_message>& ms) {
  persistence::batch ops;
  for (const auto& m : ms) ops.push_back(outbox_op(m));
  return ops;
}

void store_put(self_ptr self, persistence::batch ops) {
  if (self->state.store) self->send(self->state.store, proto::put_atom::value, std::move(ops));
}

/// A detached actor that makes one blocking attempt at a time.
caf::behavior sender(caf::event_based_actor*, std::chrono::milliseconds timeout) {
  return {[timeout](proto::deliver_atom, const notification_message& m) {
    return send_notification(m, timeout);
  }};
}

void pump(self_ptr self);
void count(self_ptr self);

void schedule(self_ptr self) {
  auto& st = self->state;
  // with every sender busy, the next one to finish pumps again
  if (st.due.empty() || st.idle.empty()) return;
  auto when = st.due.begin()->first;
  if (st.tick_at && *st.tick_at <= when) return;
  st.tick_at = when;
  auto wait =
      std::max(std::chrono::milliseconds(1),
               std::chrono::duration_cast<std::chrono::milliseconds>(when - clock_type::now()));
  self->delayed_send(self, wait, proto::tick_atom::value);
}

void add(self_ptr self, notification_message m) {
  auto& st = self->state;
  if (m.status == delivery_status::pending) {
    if (!m.next_attempt_at) m.next_attempt_at = clock_type::now();
    st.due.emplace(*m.next_attempt_at, m.id);
  }
  auto id = m.id;
  st.messages[id] = std::move(m);
}

void finished(self_ptr self, caf::actor s, const proto::delivery_attempt& a) {
  auto& st = self->state;
  st.idle.push_back(std::move(s));
  st.in_flight.erase(a.id);
  auto it = st.messages.find(a.id);
  if (it == st.messages.end()) return;
  auto& m = it->second;
  auto now = clock_type::now();
  ++m.attempts;
  ++st.figures->attempts;
  if (a.ok) {
    m.status = delivery_status::delivered;
    m.delivered_at = now;
    m.next_attempt_at.reset();
    m.last_error.clear();
    ++st.figures->delivered;
    spdlog::info("event=notification.delivered id={} notification={} attempts={} status={}", m.id,
                 m.notification, m.attempts, a.status);
    store_put(self, {outbox_op(m, false)});
    st.delivered.push_back(m.id);
    while (st.delivered.size() > st.opts.keep_delivered) {
      auto old = st.messages.find(st.delivered.front());
      if (old != st.messages.end() && old->second.status == delivery_status::delivered)
        st.messages.erase(old);
      st.delivered.pop_front();
    }
    return;
  }
  m.last_error = !a.error.empty() ? a.error : "HTTP status " + std::to_string(a.status);
  if (m.attempts >= st.opts.max_attempts) {
    m.status = delivery_status::failed;
    m.next_attempt_at.reset();
    ++st.figures->failed;
    spdlog::warn("event=notification.failed id={} notification={} attempts={} error=\"{}\"", m.id,
                 m.notification, m.attempts, m.last_error);
  } else {
    auto wait = st.opts.backoff.delay(m.attempts, st.rng);
    m.next_attempt_at = now + wait;
    st.due.emplace(*m.next_attempt_at, m.id);
    ++st.figures->retried;
    spdlog::info("event=notification.retry id={} notification={} attempts={} in_ms={} error=\"{}\"",
                 m.id, m.notification, m.attempts, wait.count(), m.last_error);
  }
  store_put(self, record_ops({m}));
}

/// Hands every due message to an idle sender, then waits for the next one that is due.
void pump(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  while (!st.idle.empty() && !st.due.empty() && st.due.begin()->first <= now) {
    auto id = st.due.begin()->second;
    st.due.erase(st.due.begin());
    auto it = st.messages.find(id);
    // in flight: a partition dropped and gained again while its attempt ran; the attempt's end
    // schedules what follows
    if (it == st.messages.end() || it->second.status != delivery_status::pending ||
        st.in_flight.count(id) != 0)
      continue;
    auto s = st.idle.back();
    st.idle.pop_back();
    st.in_flight.insert(id);
    self->request(caf::actor_cast<caf::actor>(s), caf::infinite, proto::deliver_atom::value,
                  it->second)
        .then(
            [self, s](proto::delivery_attempt& a) {
              finished(self, s, a);
              pump(self);
            },
            [self, s, id](caf::error& e) {
              finished(self, s, {id, false, 0, "sender: " + caf::to_string(e)});
              pump(self);
            });
  }
  count(self);
  schedule(self);
}

/// Cluster mode: whether `m` is a message of partition k's pipelines.
bool of_partition(const proto::outbox_options& opts, const notification_message& m, int k) {
  return opts.partitions > 0 && persistence::partition_of(m.pipeline, opts.partitions) == k;
}

void gain(self_ptr self, int k, std::vector<notification_message>& stored) {
  auto& st = self->state;
  std::size_t taken = 0;
  for (auto& m : stored) {
    if (!of_partition(st.opts, m, k) || st.messages.count(m.id) != 0) continue;
    add(self, std::move(m));
    ++taken;
  }
  spdlog::info("event=notification.gained partition={} messages={}", k, taken);
  pump(self);
}

/// Forgets partition k's undelivered messages without touching the store: its new owner loads
/// and sends them. Delivered ones stay listed here.
void drop(self_ptr self, int k) {
  auto& st = self->state;
  std::set<std::string> gone;
  for (auto it = st.messages.begin(); it != st.messages.end();) {
    if (it->second.status != delivery_status::delivered && of_partition(st.opts, it->second, k)) {
      gone.insert(it->first);
      it = st.messages.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = st.due.begin(); it != st.due.end();)
    it = gone.count(it->second) != 0 ? st.due.erase(it) : std::next(it);
  spdlog::info("event=notification.dropped partition={} messages={}", k, gone.size());
  count(self);
}

domain::reply list(self_ptr self, const proto::list_notifications& req) {
  std::vector<const notification_message*> found;
  for (const auto& [id, m] : self->state.messages)
    if (req.statuses.empty() || req.statuses.count(model::to_string(m.status)) != 0)
      found.push_back(&m);
  std::sort(found.begin(), found.end(), [](const auto* a, const auto* b) {
    return a->created_at != b->created_at ? a->created_at > b->created_at : a->id > b->id;
  });
  auto out = json::array();
  for (const auto* m : found) {
    if (req.limit != 0 && out.size() >= req.limit) break;
    out.push_back(m->to_json());
  }
  return domain::done({{"notifications", std::move(out)}});
}

caf::result<domain::reply> retry(self_ptr self, const proto::retry_notification& req) {
  auto& st = self->state;
  auto it = st.messages.find(req.id);
  if (it == st.messages.end())
    return domain::fail(domain::errc::not_found, "notification \"" + req.id + "\" not found");
  auto& m = it->second;
  if (m.status != delivery_status::failed)
    return domain::fail(domain::errc::conflict, "notification \"" + req.id + "\" is " +
                                               model::to_string(m.status) +
                                               "; only failed ones are retried");
  m.status = delivery_status::pending;
  m.attempts = 0;
  m.next_attempt_at = clock_type::now();
  spdlog::info("event=notification.requeued id={} notification={}", m.id, m.notification);
  auto rp = self->make_response_promise<domain::reply>();
  auto done = [self, rp, id = m.id](bool ok) mutable {
    auto it = self->state.messages.find(id);
    if (!ok || it == self->state.messages.end()) {
      if (it != self->state.messages.end())
        it->second.status = delivery_status::failed;  // as stored
      rp.deliver(domain::fail(domain::errc::store_unavailable, "the store could not record the retry"));
      return;
    }
    self->state.due.emplace(*it->second.next_attempt_at, id);
    rp.deliver(domain::done({{"notification", it->second.to_json()}}));
    pump(self);
  };
  if (!st.store) {
    done(true);
    return rp;
  }
  self->request(st.store, caf::infinite, proto::write_atom::value, record_ops({m}))
      .then([done](bool ok) mutable { done(ok); }, [done](caf::error&) mutable { done(false); });
  return rp;
}

/// The outbox depth by status, for GET /metrics.
void count(self_ptr self) {
  auto& st = self->state;
  std::uint64_t pending = 0, failed = 0;
  for (const auto& [id, m] : st.messages) {
    if (m.status == delivery_status::pending) ++pending;
    if (m.status == delivery_status::failed) ++failed;
  }
  st.figures->pending_now = pending;
  st.figures->failed_now = failed;
}

proto::outbox_actor::behavior_type outbox_behavior(self_ptr self, proto::outbox_options opts,
                                                   proto::store_writer_actor store,
                                                   std::vector<notification_message> restored,
                                                   proto::outbox_figures_ptr figures) {
  auto& st = self->state;
  st.opts = opts;
  st.figures = figures ? std::move(figures) : std::make_shared<proto::outbox_figures>();
  st.store = std::move(store);
  for (int i = 0; i < std::max(1, opts.senders); ++i) {
    auto s = self->spawn<caf::detached + caf::linked>(sender, opts.timeout);
    st.senders.push_back(s);
    st.idle.push_back(s);
  }
  if (!restored.empty()) spdlog::info("event=notification.restored messages={}", restored.size());
  for (auto& m : restored) add(self, std::move(m));
  pump(self);
  return {
      [self](proto::enqueue_atom, std::vector<notification_message>& ms) {
        for (auto& m : ms) {
          if (self->state.messages.count(m.id) != 0) continue;
          spdlog::info("event=notification.queued id={} notification={} kind={} status={}", m.id,
                       m.notification, m.kind, model::to_string(m.status));
          add(self, std::move(m));
        }
        pump(self);
      },
      [self](proto::gain_atom, int k, std::vector<notification_message>& stored) {
        gain(self, k, stored);
      },
      [self](proto::drop_atom, int k) { drop(self, k); },
      [self](const proto::list_notifications& l) { return list(self, l); },
      [self](const proto::retry_notification& r) { return retry(self, r); },
      [self](proto::tick_atom) {
        self->state.tick_at.reset();
        pump(self);
      },
  };
}

}  // namespace

proto::delivery_attempt send_notification(const notification_message& m,
                                          std::chrono::milliseconds timeout) {
  proto::delivery_attempt a;
  a.id = m.id;
  auto r = http_client::request("POST", m.url, m.body,
                                {{"Content-Type", "application/json"},
                                 {"User-Agent", "pikoci-node"},
                                 {"X-PikoCI-Delivery", m.id},
                                 {"Idempotency-Key", m.id}},
                                timeout, 1024 * 1024);
  a.status = r.status;
  a.error = r.error;
  a.ok = r.error.empty() && r.status >= 200 && r.status < 300;
  return a;
}

std::vector<notification_message> load_outbox(const persistence::store& db) {
  std::vector<notification_message> out;
  db.scan(persistence::keys::prefix({"outbox"}), [&](std::string_view key, std::string_view v) {
    try {
      out.push_back(notification_message::from_record(v));
    } catch (const std::exception& e) {
      spdlog::error("event=store.bad_record key=outbox/{} error=\"{}\" (skipped)",
                    persistence::keys::last(key), e.what());
    }
  });
  return out;
}

proto::outbox_actor spawn_outbox(caf::actor_system& sys, proto::outbox_options opts,
                                 proto::store_writer_actor store,
                                 std::vector<notification_message> restored,
                                 proto::outbox_figures_ptr figures) {
  return sys.spawn(outbox_behavior, std::move(opts), std::move(store), std::move(restored),
                   std::move(figures));
}

void outbox_metrics(const proto::outbox_figures& f, domain::metrics& out) {
  out.add_counter("pikoci_notifications_total",
                  "Notification attempts by outcome: delivered, failed (the retry limit was "
                  "reached), retried (failed, another attempt is scheduled).")
      .add({{"status", "delivered"}}, f.delivered.load())
      .add({{"status", "failed"}}, f.failed.load())
      .add({{"status", "retried"}}, f.retried.load());
  out.add_counter("pikoci_notification_attempts_total", "Notification delivery attempts made.")
      .add({}, f.attempts.load());
  out.add_gauge("pikoci_notification_outbox", "Notification messages in the outbox, by status.")
      .add({{"status", "pending"}}, f.pending_now.load())
      .add({{"status", "failed"}}, f.failed_now.load());
}

}  // namespace pikoci::server
