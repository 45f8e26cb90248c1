#include "node/cluster_manager.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "config/pipeline/json_decode.hpp"
#include "connectors/kafka/admin.hpp"
#include "connectors/kafka/client.hpp"
#include "connectors/kafka/group.hpp"
#include "connectors/kafka/tail.hpp"
#include "connectors/kafka/txn.hpp"
#include "node/cluster_events.hpp"
#include "node/cluster_restore.hpp"
#include "node/cluster_sink.hpp"
#include "node/cluster_topics.hpp"
#include "node/runtime.hpp"
#include "persistence/changelog.hpp"
#include "persistence/checkpoints.hpp"
#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"

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
  std::shared_ptr<kafka::producer> peers;  // records for other nodes: input and status topics
  std::unique_ptr<status_follower> status;  // GET /events: the status topic into the hub
  std::atomic<std::int64_t> global_next{0};  // the next offset of the global topic to apply
  std::atomic<bool> leaving{false};
  std::thread checkpointer;
  std::mutex stop_mu;
  std::condition_variable stop_cv;

  mutable std::mutex mu;
  std::map<int, std::int64_t> generation;  // bumped by every gain, revoke, loss of k
  std::map<int, std::int64_t> epochs;      // the partitions active here
  std::map<int, std::int64_t> standby_lags;  // the partitions stood by for here, their lags

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
    std::map<int, std::int64_t> standby;
    {
      std::lock_guard lock(mu);
      for (const auto& [k, e] : epochs) owned[k] = domain::partition_claim{e, "active"};
      standby = standby_lags;
    }
    if (on_claims) on_claims(owned, standby);
  }

  // ---- standby replicas

  /// A warm copy of changelog[k] kept in the store while another node owns k.
  struct standby {
    int k = 0;
    std::unique_ptr<kafka::tail> tail;
    std::mutex mu;  // the applier: the tail thread adds, the standby thread flushes
    std::unique_ptr<persistence::changelog::applier> applier;
    std::int64_t start = -1;         // the position the store held when the tail started
    std::int64_t log_start = -1;     // the tail was out of range: the log starts here
    bool broken = false;             // the tail or the applier stopped (under mu)
    clock::time_point position_at{};  // when the position was last written
  };
  std::mutex standby_mu;  // standbys, and the start and stop of each (never two at once)
  std::map<int, std::shared_ptr<standby>> standbys;
  std::thread standby_thread;
  std::condition_variable standby_cv;
  bool standby_quit = false;  // under standby_mu
  std::unique_ptr<kafka::admin> standby_admin;
  milliseconds standby_retention{std::chrono::hours(24)};  // the changelog's delete.retention.ms

  /// Under standby_mu, k idle here: starts tailing changelog[k] from the store's position.
  void start_standby_locked(int k) {
    namespace cl = persistence::changelog;
    auto sb = std::make_shared<standby>();
    sb->k = k;
    const auto pos = cl::position_of(*opts.store, k);
    const auto now_ms = std::chrono::duration_cast<milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    sb->start = pos.offset;
    if (pos.offset >= 0 && now_ms - pos.at_ms > standby_retention.count() / 2) {
      // as a restore would: tombstones may be gone, the copy starts over
      wipe_standby_locked(k);
      sb->start = -1;
    }
    start_tail_locked(*sb, sb->start + 1);
    standbys[k] = sb;
    spdlog::info("event=cluster.standby_started partition={} from={}", k, sb->start + 1);
  }

  void wipe_standby_locked(int k) {
    persistence::changelog::wipe_partition(*opts.store, k, [&](std::string_view pipeline) {
      return persistence::partition_of(pipeline, P) == k;
    });
  }

  void start_tail_locked(standby& sb, std::int64_t from) {
    sb.applier = std::make_unique<persistence::changelog::applier>(*opts.store, sb.k);
    sb.tail = std::make_unique<kafka::tail>(opts.brokers, topics.changelog, sb.k);
    sb.position_at = clock::now();
    standby* raw = &sb;  // the tail is stopped before sb goes
    sb.tail->follow(
        from,
        [raw](kafka::record&& r) {
          std::lock_guard lock(raw->mu);
          if (raw->broken) return;
          try {
            auto error = raw->applier->add({r.key, r.value, r.headers}, r.offset);
            if (!error.empty()) {
              raw->broken = true;
              spdlog::error("event=cluster.standby_failed partition={} offset={} error=\"{}\"",
                            raw->k, r.offset, error);
            }
          } catch (const std::exception& e) {  // the store cannot be written
            raw->broken = true;
            spdlog::error("event=cluster.standby_failed partition={} error=\"{}\"", raw->k,
                          e.what());
          }
        },
        [raw](const kafka::tail_error& e) {
          std::lock_guard lock(raw->mu);
          raw->broken = true;
          if (e.kind == kafka::tail_error::out_of_range) raw->log_start = e.log_start;
          spdlog::warn("event=cluster.standby_tail_failed partition={} log_start={} error=\"{}\"",
                       raw->k, e.log_start, e.message);
        });
  }

  /// Under standby_mu: stops the tail and writes what it read.
  void stop_tail_locked(standby& sb) {
    if (sb.tail) sb.tail->stop();
    std::lock_guard lock(sb.mu);
    try {
      if (sb.applier) sb.applier->flush();
    } catch (const std::exception& e) {
      spdlog::error("event=cluster.standby_failed partition={} error=\"{}\"", sb.k, e.what());
    }
  }

  /// Stops standing by for k (k gained here, or no longer this node's to stand by for): when
  /// this returns, the store's copy of k is written with its position and nothing writes it.
  void stop_standby(int k) {
    std::lock_guard lock(standby_mu);
    auto it = standbys.find(k);
    if (it == standbys.end()) return;
    stop_tail_locked(*it->second);
    standbys.erase(it);
    spdlog::info("event=cluster.standby_stopped partition={}", k);
  }

  /// Under standby_mu, once a second: flushes a copy, restarts a broken one, and measures how
  /// far behind the log's end it is (-1 when unknown).
  std::int64_t tend_locked(standby& sb) {
    namespace cl = persistence::changelog;
    std::int64_t log_start = -1;
    bool broken = false;
    {
      std::lock_guard lock(sb.mu);
      broken = sb.broken;
      log_start = sb.log_start;
    }
    if (broken) {
      stop_tail_locked(sb);
      std::int64_t from = -1;
      if (log_start >= 0) {  // compacted or deleted past the copy: start over at the log start
        wipe_standby_locked(sb.k);
        from = log_start;
      } else {
        from = cl::position_of(*opts.store, sb.k).offset + 1;
      }
      sb.start = from - 1;
      sb.log_start = -1;
      sb.broken = false;
      start_tail_locked(sb, from);
      return -1;
    }
    const std::int64_t next = sb.tail->next();
    std::int64_t applied = sb.start;
    {
      std::lock_guard lock(sb.mu);
      try {
        sb.applier->flush();
      } catch (const std::exception& e) {
        sb.broken = true;
        spdlog::error("event=cluster.standby_failed partition={} error=\"{}\"", sb.k, e.what());
        return -1;
      }
      applied = std::max(applied, sb.applier->applied());
    }
    auto w = standby_admin->watermarks(topics.changelog, sb.k, std::chrono::seconds(2));
    if (!w.error.empty()) return -1;
    const std::int64_t lag = std::max<std::int64_t>(0, w.high - next);
    // a copy kept up to date is as fresh as its position says: re-dated now and then, so a
    // quiet partition's copy is not taken for a stale one by the restore
    if (lag == 0 && applied >= 0 && clock::now() - sb.position_at > std::chrono::minutes(1)) {
      try {
        opts.store->write(cl::offset_ops(sb.k, applied), false);
        sb.position_at = clock::now();
      } catch (const std::exception&) {
      }
    }
    return lag;
  }

  /// Once a second: which partitions to stand by for (domain::standby_partitions over the
  /// live members, only those idle here), tails started and stopped to match, lags published.
  void standby_round() {
    std::set<int> wanted;
    std::set<int> ownerless;  // moving, or their owner gone: a copy kept goes on until one claims
    if (opts.live) {
      const auto live = opts.live();
      for (int k : domain::standby_partitions(live, opts.member, P, opts.standby_replicas))
        if (table->get(k) == domain::cluster::partition_state::idle) wanted.insert(k);
      for (int k = 0; k < P; ++k)
        if (!domain::owner(k, live)) ownerless.insert(k);
    }
    std::map<int, std::int64_t> lags;
    {
      std::unique_lock lock(standby_mu);
      if (standby_quit) return;
      for (auto it = standbys.begin(); it != standbys.end();) {
        if (wanted.count(it->first) ||
            (ownerless.count(it->first) &&
             table->get(it->first) == domain::cluster::partition_state::idle)) {
          ++it;
          continue;
        }
        stop_tail_locked(*it->second);
        spdlog::info("event=cluster.standby_stopped partition={}", it->first);
        it = standbys.erase(it);
      }
      for (int k : wanted)
        if (!standbys.count(k) && table->get(k) == domain::cluster::partition_state::idle) {
          try {
            start_standby_locked(k);
          } catch (const std::exception& e) {
            spdlog::error("event=cluster.standby_failed partition={} error=\"{}\"", k, e.what());
          }
        }
      for (auto& [k, sb] : standbys) lags[k] = tend_locked(*sb);
    }
    bool changed = false;
    {
      std::lock_guard lock(mu);
      // a lag not measured this time (the brokers slow to answer, a tail restarted) is said as
      // it was last, or not at all
      for (auto it = lags.begin(); it != lags.end();) {
        if (it->second >= 0) {
          ++it;
        } else if (auto was = standby_lags.find(it->first); was != standby_lags.end()) {
          it->second = was->second;
          ++it;
        } else {
          it = lags.erase(it);
        }
      }
      changed = lags != standby_lags;
      standby_lags = lags;
    }
    if (changed) publish();
  }

  void start_standbys() {
    if (opts.standby_replicas < 1) return;
    standby_admin = std::make_unique<kafka::admin>(opts.brokers);
    auto c = standby_admin->topic_configs(topics.changelog, std::chrono::seconds(10));
    if (auto it = c.configs.find("delete.retention.ms"); c.error.empty() && it != c.configs.end())
      standby_retention = milliseconds(number_or(it->second, standby_retention.count()));
    std::weak_ptr<impl> weak = shared_from_this();
    standby_thread = std::thread([weak] {
      while (true) {
        auto self = weak.lock();
        if (!self) return;
        try {
          self->standby_round();
        } catch (const std::exception& e) {
          spdlog::error("event=cluster.standby_failed error=\"{}\"", e.what());
        }
        std::unique_lock lock(self->standby_mu);
        if (self->standby_cv.wait_for(lock, std::chrono::seconds(1),
                                      [&] { return self->standby_quit; }))
          return;
      }
    });
  }

  void stop_standbys() {
    {
      std::lock_guard lock(standby_mu);
      standby_quit = true;
    }
    standby_cv.notify_all();
    if (standby_thread.joinable() && standby_thread.get_id() != std::this_thread::get_id())
      standby_thread.join();
    std::lock_guard lock(standby_mu);
    for (auto& [k, sb] : standbys) stop_tail_locked(*sb);
    standbys.clear();
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
        {}, {topics.changelog, topics.global}});
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
    stop_standby(k);  // the restore starts where the warm copy is
    {
      std::lock_guard lock(mu);
      standby_lags.erase(k);  // said with the claim of k
    }
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

  // ---- checkpoints: each partition's state with its changelog offset, so a node whose store is
  // damaged starts again from the newest one and replays only the changelog after it

  void checkpoint_loop() {
    std::unique_lock lock(stop_mu);
    while (!stop_cv.wait_for(lock, opts.checkpoint_interval, [this] { return leaving.load(); })) {
      lock.unlock();
      const auto t0 = clock::now();
      try {
        auto dir = persistence::checkpoints::take(*opts.store, opts.db_path);
        spdlog::info("event=cluster.checkpoint dir={} ms={}", dir.string(),
                     std::chrono::duration_cast<milliseconds>(clock::now() - t0).count());
      } catch (const persistence::store_error& e) {
        spdlog::error("event=cluster.checkpoint_failed error=\"{}\"", e.what());
      }
      lock.lock();
    }
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
  auto& o = impl_->opts;
  impl_->peers = std::make_shared<kafka::producer>(o.brokers);
  impl_->peers->prepare({impl_->topics.status}, std::chrono::seconds(5));
  impl_->follow_global();
  // before any partition comes: the events of every pipeline gained here go through the topic
  impl_->status =
      std::make_unique<status_follower>(o.brokers, impl_->topics.status, o.secret, rt.events());
  impl_->status->start(std::make_shared<status_relay>(impl_->peers, impl_->topics.status, o.secret),
                       std::chrono::seconds(30));
  impl_->join();
  if (!impl_->opts.db_path.empty() && impl_->opts.checkpoint_interval.count() > 0)
    impl_->checkpointer = std::thread([im = impl_.get()] { im->checkpoint_loop(); });
  impl_->start_standbys();
}

void cluster_manager::leave() {
  auto& im = *impl_;
  im.stop_standbys();
  if (im.group) {
    im.group->close();  // every partition goes through revoking → handed off
  }
  {
    std::lock_guard lock(im.stop_mu);
    im.leaving.store(true);
  }
  im.stop_cv.notify_all();
  if (im.checkpointer.joinable()) im.checkpointer.join();
  im.lanes.reset();  // waits for the handoffs in flight
  if (im.status) im.status->stop();  // the handoffs' events were sent
  if (im.global) im.global->stop();
  im.group.reset();
}

std::map<int, std::int64_t> cluster_manager::standby() const {
  std::lock_guard lock(impl_->mu);
  return impl_->standby_lags;
}

std::map<int, domain::partition_claim> cluster_manager::owned() const {
  std::map<int, domain::partition_claim> out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [k, e] : impl_->epochs) out[k] = domain::partition_claim{e, "active"};
  return out;
}

}  // namespace pikoci::node
