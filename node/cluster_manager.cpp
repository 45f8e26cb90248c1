#include "node/cluster_manager.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "config/pipeline/json_decode.hpp"
#include "connectors/kafka/admin.hpp"
#include "connectors/kafka/client.hpp"
#include "connectors/kafka/group.hpp"
#include "connectors/kafka/tail.hpp"
#include "connectors/kafka/txn.hpp"
#include "node/cluster_restore.hpp"
#include "node/cluster_sink.hpp"
#include "node/cluster_topics.hpp"
#include "node/runtime.hpp"
#include "persistence/changelog.hpp"
#include "persistence/keys.hpp"

namespace pikoci::node {

namespace keys = persistence::keys;
using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

namespace {

/// The sinks of the partitions owned here, as the cluster writer's one changelog sink: a
/// commit of k goes to k's transactional producer, or is aborted when k has none (not ours).
class partition_sinks final : public server::changelog_sink {
 public:
  void install(int k, std::shared_ptr<kafka_changelog_sink> s) {
    std::lock_guard lock(mu_);
    sinks_[k] = std::move(s);
  }
  void remove(int k) {
    std::lock_guard lock(mu_);
    sinks_.erase(k);
  }

  server::commit_result commit(const server::changelog_commit& c) override {
    auto s = find(c.partition);
    if (!s) return refused(c.partition);
    return result_of(*s, s->commit(c.changelog, c.global, {}));
  }

  server::commit_result resume(int k) override {
    auto s = find(k);
    if (!s) return refused(k);
    return result_of(*s, s->resume(std::chrono::seconds(10)));
  }

 private:
  std::shared_ptr<kafka_changelog_sink> find(int k) {
    std::lock_guard lock(mu_);
    auto it = sinks_.find(k);
    return it == sinks_.end() ? nullptr : it->second;
  }

  static server::commit_result refused(int k) {
    return {server::commit_outcome::abort,
            "partition " + std::to_string(k) + " is not owned by this node", -1};
  }

  static server::commit_result result_of(const kafka_changelog_sink& s,
                                         const kafka::txn_result& r) {
    server::commit_result out;
    out.error = r.error;
    switch (r.status) {
      case kafka::txn_result::outcome::ok:
        out.status = server::commit_outcome::ok;
        out.changelog_offset = s.changelog_offset(r);
        break;
      case kafka::txn_result::outcome::retry: out.status = server::commit_outcome::retry; break;
      case kafka::txn_result::outcome::abort: out.status = server::commit_outcome::abort; break;
      case kafka::txn_result::outcome::fenced: out.status = server::commit_outcome::fenced; break;
    }
    return out;
  }

  std::mutex mu_;
  std::map<int, std::shared_ptr<kafka_changelog_sink>> sinks_;
};

std::int64_t number_or(const std::optional<std::string>& text, std::int64_t fallback) {
  if (!text) return fallback;
  try {
    return std::stoll(*text);
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

struct cluster_manager::impl : std::enable_shared_from_this<impl> {
  cluster_options opts;
  cluster_topics topics;
  int P;
  std::shared_ptr<domain::cluster::partition_table> table =
      std::make_shared<domain::cluster::partition_table>();
  std::shared_ptr<domain::cluster::catalog> catalog =
      std::make_shared<domain::cluster::catalog>();
  std::shared_ptr<partition_sinks> sinks = std::make_shared<partition_sinks>();
  /// One lane per partition: its restore, gain, handoff and loss run in order, off the group's
  /// poll thread and the CAF threads.
  std::unique_ptr<server::lane_runner> lanes = server::thread_lane_runner();

  runtime* rt = nullptr;
  claims_listener on_claims;
  std::unique_ptr<kafka::group_member> group;
  std::unique_ptr<kafka::tail> global;
  std::unique_ptr<kafka::producer> peers;  // records for other nodes on the input topic
  std::atomic<std::int64_t> global_next{0};  // the next offset of the global topic to apply
  std::atomic<bool> leaving{false};

  mutable std::mutex mu;
  std::map<int, std::int64_t> generation;  // bumped by every gain, revoke, loss of k
  std::map<int, std::int64_t> epochs;      // the partitions active here

  explicit impl(cluster_options o)
      : opts(std::move(o)), topics(cluster_topics::of(opts.prefix, opts.cluster)),
        P(opts.partitions) {}

  std::int64_t bump(int k) {
    std::lock_guard lock(mu);
    return ++generation[k];
  }
  bool current(int k, std::int64_t g) const {
    std::lock_guard lock(mu);
    auto it = generation.find(k);
    return it != generation.end() && it->second == g && !leaving.load();
  }

  void publish() {
    std::map<int, domain::partition_claim> owned;
    {
      std::lock_guard lock(mu);
      for (const auto& [k, e] : epochs) owned[k] = domain::partition_claim{e, "active"};
    }
    if (on_claims) on_claims(owned);
  }

  // ---- the global topic

  void apply_global(kafka::record&& r) {
    persistence::changelog::record rec{r.key, r.value, r.headers};
    std::string error;
    auto d = persistence::changelog::decode(rec, error);
    persistence::batch ops;
    std::optional<std::string> value;
    bool replicate = false;
    if (!d) {
      spdlog::warn("event=cluster.global_record_refused offset={} error=\"{}\"", r.offset, error);
    } else if (d->what == persistence::changelog::decoded::kind::put) {
      value = std::string(d->value);
      ops.push_back({d->key, value});
      replicate = true;
    } else if (d->what == persistence::changelog::decoded::kind::erase) {
      ops.push_back({d->key, std::nullopt});
      replicate = true;
    } else {
      // users, secrets and the catalog are far below the chunk size
      spdlog::warn("event=cluster.global_record_refused offset={} error=\"a chunked value\"",
                   r.offset);
    }
    ops.push_back({keys::global_offset(), std::to_string(r.offset)});
    try {
      opts.store->write(ops, false);
    } catch (const persistence::store_error& e) {
      spdlog::error("event=cluster.global_apply_failed offset={} error=\"{}\"", r.offset,
                    e.what());
    }
    if (replicate && rt) rt->replicate(d->key, value);
    global_next.store(r.offset + 1);
  }

  void follow_global() {
    const std::int64_t from = number_or(opts.store->get(keys::global_offset()), -1) + 1;
    global_next.store(from);
    global = std::make_unique<kafka::tail>(opts.brokers, topics.global, 0);
    std::weak_ptr<impl> weak = shared_from_this();
    global->follow(
        from, [weak](kafka::record&& r) {
          if (auto self = weak.lock()) self->apply_global(std::move(r));
        },
        [](const kafka::tail_error& e) {
          spdlog::error(
              "event=cluster.global_tail_failed log_start={} error=\"{}\" (users, secrets and the "
              "pipeline list of this node stop following the cluster; restart the node)",
              e.log_start, e.message);
        });
  }

  /// How far the global topic is applied: the next offset to apply. The end of the topic is
  /// usually a transaction's commit marker, an offset no record has: the follower's position
  /// passes it once everything before it is applied, the last applied record's offset never does.
  std::int64_t global_applied() const {
    return std::max(global_next.load(), global ? global->position() : std::int64_t{-1});
  }

  /// Waits until the global topic is applied up to its end as it is now; false after `limit`.
  bool global_caught_up(milliseconds limit) {
    kafka::tail probe(opts.brokers, topics.global, 0);
    auto marks = probe.watermarks(limit);
    if (!marks) return false;
    const auto deadline = clock::now() + limit;
    while (global_applied() < marks->second) {
      if (clock::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
  }

  // ---- restore and claim

  /// G: fence older owners of the global partition, wait for the global topic to be applied to
  /// its end, claim G with the next epoch.
  restore_result claim_global() {
    restore_result out;
    auto producer = std::make_unique<kafka::txn_producer>(kafka::txn_options{
        opts.brokers, transactional_id(opts.prefix, opts.cluster, P, P), std::chrono::seconds(10),
        {}});
    const auto deadline = clock::now() + std::chrono::seconds(30);
    auto r = producer->init(std::chrono::seconds(30));
    while (r.status == kafka::txn_result::outcome::retry && clock::now() < deadline)
      r = producer->init(std::chrono::seconds(10));
    if (!r.ok()) {
      out.error = std::string("fencing the global partition: ") + kafka::to_string(r.status) +
                  " " + r.error;
      return out;
    }
    if (!global_caught_up(std::chrono::seconds(30))) {
      out.error = "the global topic was not applied to its end in 30 s";
      return out;
    }
    out.epoch = number_or(opts.store->get(keys::epoch(P)), 0) + 1;
    opts.store->write({{keys::epoch(P), std::to_string(out.epoch)}}, true);
    out.sink = std::make_unique<kafka_changelog_sink>(std::move(producer), topics, P, opts.member,
                                                      out.epoch);
    spdlog::info("event=cluster.restored partition=G epoch={}", out.epoch);
    return out;
  }

  restore_result restore(int k) {
    if (k == P) {
      try {
        return claim_global();
      } catch (const std::exception& e) {  // librdkafka refusing a configuration, the store
        restore_result out;
        out.error = std::string("claiming the global partition: ") + e.what();
        return out;
      }
    }
    restore_options ro;
    ro.brokers = opts.brokers;
    ro.prefix = opts.prefix;
    ro.cluster = opts.cluster;
    ro.partitions = P;
    ro.member = opts.member;
    return restore_partition(*opts.store, k, ro);
  }

  /// On k's lane: restore k, gain its pipelines, then serve it.
  void gain(int k, std::int64_t g) {
    for (int attempt = 1; current(k, g); ++attempt) {
      auto r = restore(k);
      if (!current(k, g)) return;  // revoked or lost meanwhile: its own job follows
      if (!r.ok()) {
        spdlog::warn("event=cluster.restore_failed partition={} attempt={} error=\"{}\"", k,
                     attempt, r.error);
        if (r.lost) {
          spdlog::warn("event=cluster.partition_claimed_elsewhere partition={}", k);
          table->set(k, domain::cluster::partition_state::lost);
          return;
        }
        std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt, 5)));
        continue;
      }
      sinks->install(k, std::shared_ptr<kafka_changelog_sink>(std::move(r.sink)));
      // writes of k are taken from here on (the restored pipelines write as they come back);
      // requests wait until every pipeline of k is back and its running builds adopted
      table->set(k, domain::cluster::partition_state::adopting);
      int pipelines = 0;
      try {
        if (k < P) pipelines = rt->gain(k);
      } catch (const std::exception& e) {  // the store cannot be read
        spdlog::error("event=cluster.gain_failed partition={} error=\"{}\"", k, e.what());
        sinks->remove(k);
        table->set(k, domain::cluster::partition_state::restoring);
        std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt, 5)));
        continue;
      }
      if (!table->change(k, domain::cluster::partition_state::adopting,
                         domain::cluster::partition_state::active))
        return;  // fenced meanwhile: its release is queued behind this job
      {
        std::lock_guard lock(mu);
        epochs[k] = r.epoch;
      }
      spdlog::info("event=cluster.partition_active partition={} epoch={} pipelines={}",
                   k == P ? std::string("G") : std::to_string(k), r.epoch, pipelines);
      if (group) group->ready(k);
      publish();
      return;
    }
  }

  /// On k's lane: k leaves this node (handed off, lost or fenced).
  void release(int k, bool orderly) {
    try {
      release_now(k, orderly);
    } catch (const std::exception& e) {
      spdlog::error("event=cluster.release_failed partition={} error=\"{}\"", k, e.what());
      sinks->remove(k);
      table->set(k, domain::cluster::partition_state::idle);
      if (orderly && group) group->handed_off({k});
    }
  }

  void release_now(int k, bool orderly) {
    const bool had = [&] {
      std::lock_guard lock(mu);
      return epochs.erase(k) != 0;
    }();
    if (had) publish();
    rt->hand_off(k, orderly ? opts.handoff_wait : milliseconds(2000));
    sinks->remove(k);
    table->set(k, domain::cluster::partition_state::idle);
    if (orderly && group) group->handed_off({k});
  }

  // ---- records between nodes: a put to a trigger resource, for every partition

  /// The key of a trigger record on the input topic (never a worker message's key).
  static constexpr const char* trigger_key = "#trigger";

  void broadcast(const std::string& payload) {
    if (!peers) return;
    // the body and its HMAC under the cluster's secret: anyone can write to the topic
    auto record = nlohmann::json{{"body", payload}, {"sig", auth::csrf_token(opts.secret, payload)}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    for (int k = 0; k < P; ++k)
      if (!peers->produce(topics.input, trigger_key, record, k))
        spdlog::error("event=cluster.trigger_not_sent partition={}", k);
  }

  void take_trigger(int k, const std::string& record) {
    auto decoded = pipeline::decode_json(record);
    const auto& j = decoded.value;
    if (!decoded || !j.is_object() || !j.value("body", nlohmann::json()).is_string() ||
        !j.value("sig", nlohmann::json()).is_string() ||
        !auth::csrf_matches(opts.secret, j["body"].get<std::string>(),
                            j["sig"].get<std::string>())) {
      spdlog::warn("event=cluster.trigger_refused partition={} error=\"not signed by this "
                   "cluster\"",
                   k);
      return;
    }
    rt->deliver_trigger(k, j["body"].get<std::string>());
  }

  // ---- the group's callbacks (its poll thread)

  void gained(const kafka::group_member::partitions& ks) {
    for (auto k : ks) {
      if (k < 0 || k > P) continue;
      auto g = bump(k);
      table->set(k, domain::cluster::partition_state::restoring);
      spdlog::info("event=cluster.partition_gained partition={}", k);
      lanes->post(k, [self = shared_from_this(), k, g] { self->gain(k, g); });
    }
  }

  void revoking(const kafka::group_member::partitions& ks) {
    for (auto k : ks) {
      if (k < 0 || k > P) continue;
      bump(k);
      table->set(k, domain::cluster::partition_state::moving);
      spdlog::info("event=cluster.partition_moving partition={}", k);
      lanes->post(k, [self = shared_from_this(), k] { self->release(k, true); });
    }
  }

  void lost(const kafka::group_member::partitions& ks) {
    for (auto k : ks) {
      if (k < 0 || k > P) continue;
      bump(k);
      table->set(k, domain::cluster::partition_state::lost);
      spdlog::warn("event=cluster.partition_lost partition={}", k);
      lanes->post(k, [self = shared_from_this(), k] { self->release(k, false); });
    }
  }

  void join() {
    kafka::group_options g;
    g.brokers = opts.brokers;
    g.group = opts.prefix + "." + opts.cluster + ".nodes";
    g.topic = topics.input;
    g.session_timeout = opts.session_timeout;
    g.handoff_wait = opts.handoff_wait;
    std::weak_ptr<impl> weak = shared_from_this();
    kafka::group_callbacks cb;
    cb.on_gained = [weak](const auto& ks) {
      if (auto s = weak.lock()) s->gained(ks);
    };
    cb.on_revoking = [weak](const auto& ks) {
      if (auto s = weak.lock()) s->revoking(ks);
    };
    cb.on_lost = [weak](const auto& ks) {
      if (auto s = weak.lock()) s->lost(ks);
    };
    cb.on_message = [weak](const kafka::record& r) {
      auto s = weak.lock();
      if (!s || !r.value || !s->table->active(r.partition)) return;
      if (r.key == trigger_key)
        s->take_trigger(r.partition, *r.value);
      else
        s->rt->feed_input(s->topics.input, *r.value);
    };
    group = std::make_unique<kafka::group_member>(g, cb);
  }
};

cluster_manager::cluster_manager(cluster_options opts)
    : impl_(std::make_shared<impl>(std::move(opts))) {
  auto& o = impl_->opts;
  if (o.partitions < 1 || o.partitions > domain::cluster::max_partitions)
    throw std::runtime_error("--cluster-partitions must be between 1 and " +
                             std::to_string(domain::cluster::max_partitions));
  kafka::admin a(o.brokers);
  auto why = ensure_cluster_topics(a, impl_->topics, o.partitions, std::chrono::seconds(15));
  if (!why.empty()) throw std::runtime_error(why);
}

cluster_manager::~cluster_manager() {
  leave();
}

std::shared_ptr<domain::cluster::partition_table> cluster_manager::table() const {
  return impl_->table;
}

std::shared_ptr<server::changelog_sink> cluster_manager::sink() const {
  return impl_->sinks;
}

std::shared_ptr<domain::cluster::catalog> cluster_manager::catalog() const {
  return impl_->catalog;
}

void cluster_manager::fenced(int k) {
  auto& im = *impl_;
  if (k < 0 || k > im.P) return;
  im.bump(k);
  spdlog::warn("event=cluster.partition_fenced partition={}", k);
  im.lanes->post(k, [self = impl_, k] { self->release(k, false); });
}

void cluster_manager::broadcast_trigger(const std::string& payload) {
  impl_->broadcast(payload);
}

void cluster_manager::start(runtime& rt, claims_listener claims) {
  impl_->rt = &rt;
  impl_->on_claims = std::move(claims);
  impl_->peers = std::make_unique<kafka::producer>(impl_->opts.brokers);
  impl_->follow_global();
  impl_->join();
}

void cluster_manager::leave() {
  auto& im = *impl_;
  if (im.group) {
    im.group->close();  // every partition goes through revoking → handed off
  }
  im.leaving.store(true);
  im.lanes.reset();  // waits for the handoffs in flight
  if (im.global) im.global->stop();
  im.group.reset();
}

std::map<int, domain::partition_claim> cluster_manager::owned() const {
  std::map<int, domain::partition_claim> out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [k, e] : impl_->epochs) out[k] = domain::partition_claim{e, "active"};
  return out;
}

}  // namespace pikoci::node
