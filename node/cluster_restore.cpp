#include "node/cluster_restore.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/kafka/admin.hpp"
#include "connectors/kafka/tail.hpp"
#include "persistence/changelog.hpp"
#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"

namespace pikoci::node {

namespace changelog = persistence::changelog;
namespace keys = persistence::keys;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t number_or(const std::optional<std::string>& text, std::int64_t none) {
  if (!text) return none;
  try {
    return std::stoll(*text);
  } catch (const std::exception&) {
    return none;
  }
}

/// Reads changelog[k] into the store through one applier, counting what it applies.
class catch_up {
 public:
  catch_up(persistence::store& s, int k, const restore_options& opts, restore_stats& stats)
      : tail_(opts.brokers, cluster_topics::of(opts.prefix, opts.cluster).changelog, k),
        applier_(s, k, opts.batch),
        opts_(opts),
        stats_(stats) {}

  /// Reads from `from` to the end as it is now; the next offset, or the error.
  kafka::catch_up_result run(std::int64_t from) {
    auto r = tail_.catch_up(
        from, [this](std::vector<kafka::record>&& batch) { apply(batch); }, opts_.batch,
        opts_.catch_up_timeout);
    applier_.flush();
    if (r.ok() && !applier_.error().empty()) {
      r.error = kafka::tail_error{kafka::tail_error::failed, -1, -1, applier_.error()};
    }
    return r;
  }

 private:
  void apply(const std::vector<kafka::record>& batch) {
    for (const auto& rec : batch) {
      if (!applier_.error().empty()) return;
      changelog::record r{rec.key, rec.value, rec.headers};
      if (!applier_.add(r, rec.offset).empty()) return;
      ++stats_.records;
      stats_.bytes +=
          static_cast<std::int64_t>(rec.key.size() + (rec.value ? rec.value->size() : 0));
    }
  }

  kafka::tail tail_;
  changelog::applier applier_;
  const restore_options& opts_;
  restore_stats& stats_;
};

/// delete.retention.ms of the changelog, as the brokers say it, else the configured one.
milliseconds delete_retention(kafka::admin& a, const cluster_topics& t,
                              const restore_options& opts) {
  auto c = a.topic_configs(t.changelog, std::chrono::seconds(10));
  auto it = c.configs.find("delete.retention.ms");
  if (!c.error.empty() || it == c.configs.end()) return opts.delete_retention;
  return milliseconds(number_or(it->second, opts.delete_retention.count()));
}

/// Steps 1 and 2: the next offset to read once the store holds what changelog[k] held when read.
std::optional<std::int64_t> bulk(persistence::store& s, int k, const restore_options& opts,
                                 kafka::admin& a, catch_up& reader, restore_result& out) {
  const auto topics = cluster_topics::of(opts.prefix, opts.cluster);
  const auto wipe = [&] {
    changelog::wipe_partition(s, k, [&](std::string_view pipeline) {
      return persistence::partition_of(pipeline, opts.partitions) == k;
    });
    out.stats.wiped = true;
    out.stats.from_checkpoint = false;
  };
  const auto pos = changelog::position_of(s, k);
  std::int64_t from = pos.offset + 1;
  out.stats.from_checkpoint = pos.offset >= 0;
  if (pos.offset >= 0 && now_ms() - pos.at_ms > delete_retention(a, topics, opts).count() / 2) {
    spdlog::info("event=cluster.restore_wipe partition={} reason=age applied_at_ms={}", k,
                 pos.at_ms);
    wipe();
    from = 0;
  }
  out.stats.from = from;
  auto r = reader.run(from);
  if (!r.ok() && r.error->kind == kafka::tail_error::out_of_range) {
    spdlog::info(
        "event=cluster.restore_wipe partition={} reason=out_of_range offset={} "
        "log_start={}",
        k, from, r.error->log_start);
    if (!out.stats.wiped) wipe();
    out.stats.from = from = r.error->log_start;
    r = reader.run(from);
  }
  if (!r.ok()) {
    out.error = "catching up with partition " + std::to_string(k) + ": " + r.error->message;
    return std::nullopt;
  }
  return r.next;
}

/// Step 4: reads until the end after the fence stays put for `settle`.
bool final_catch_up(int k, std::int64_t next, const restore_options& opts, kafka::admin& a,
                    catch_up& reader, restore_result& out) {
  const auto topic = cluster_topics::of(opts.prefix, opts.cluster).changelog;
  const auto deadline = clock::now() + opts.catch_up_timeout;
  std::int64_t seen_end = -1;
  auto seen_at = clock::now();
  while (true) {
    auto w = a.watermarks(topic, k, std::chrono::seconds(10));
    if (!w.error.empty()) {
      out.error = "the end of partition " + std::to_string(k) + ": " + w.error;
      return false;
    }
    if (w.high > next) {
      auto r = reader.run(next);
      if (!r.ok()) {
        out.error = "final catch-up of partition " + std::to_string(k) + ": " + r.error->message;
        return false;
      }
      next = r.next;
    }
    const auto now = clock::now();
    if (w.high != seen_end) {
      seen_end = w.high;
      seen_at = now;
    } else if (next >= seen_end && now - seen_at >= opts.settle) {
      return true;
    }
    if (now >= deadline) {
      out.error = "the end of partition " + std::to_string(k) + " never settled";
      return false;
    }
    std::this_thread::sleep_for(
        std::min<milliseconds>(opts.settle / 4 + milliseconds(1), milliseconds(50)));
  }
}

/// Step 3: init() until it answers, within the options' time.
std::unique_ptr<kafka::txn_producer> fence(int k, const restore_options& opts,
                                           restore_result& out) {
  const auto topics = cluster_topics::of(opts.prefix, opts.cluster);
  auto p = std::make_unique<kafka::txn_producer>(
      kafka::txn_options{opts.brokers,
                         transactional_id(opts.prefix, opts.cluster, k, opts.partitions),
                         std::chrono::seconds(10),
                         {},
                         {topics.changelog, topics.global}});
  const auto deadline = clock::now() + opts.txn_timeout;
  auto r = p->init(opts.txn_timeout);
  while (r.status == kafka::txn_result::outcome::retry && clock::now() < deadline) {
    r = p->init(std::chrono::duration_cast<milliseconds>(deadline - clock::now()));
  }
  if (!r.ok()) {
    out.error = "fencing partition " + std::to_string(k) + ": " + kafka::to_string(r.status) + " " +
                r.error;
    return nullptr;
  }
  return p;
}

/// Steps 5 and 6: the claim's transaction, then the claim in the store, synced.
bool claim(persistence::store& s, int k, const restore_options& opts,
           std::unique_ptr<kafka::txn_producer> producer, restore_result& out) {
  const std::int64_t epoch = number_or(s.get(keys::epoch(k)), 0) + 1;
  persistence::batch ops{{keys::epoch(k), std::to_string(epoch)}};
  auto sink = std::make_unique<kafka_changelog_sink>(
      std::move(producer), cluster_topics::of(opts.prefix, opts.cluster), k, opts.member, epoch);
  auto r = sink->commit(changelog::expand(ops, s), {}, {}, opts.txn_timeout);
  if (!r.ok()) {
    out.lost = r.status == kafka::txn_result::outcome::fenced;
    out.error = "claiming partition " + std::to_string(k) + ": " + kafka::to_string(r.status) +
                " " + r.error;
    return false;
  }
  auto offsets = changelog::offset_ops(k, sink->changelog_offset(r));
  ops.insert(ops.end(), offsets.begin(), offsets.end());
  s.write(ops, true);
  out.epoch = epoch;
  out.sink = std::move(sink);
  return true;
}

restore_result run_restore(persistence::store& s, int k, const restore_options& opts) {
  restore_result out;
  auto mark = clock::now();
  auto lap = [&mark](milliseconds& into) {
    const auto now = clock::now();
    into = std::chrono::duration_cast<milliseconds>(now - mark);
    mark = now;
  };
  kafka::admin a(opts.brokers);
  catch_up reader(s, k, opts, out.stats);
  auto next = bulk(s, k, opts, a, reader, out);
  lap(out.stats.bulk_time);
  if (!next) return out;
  if (opts.before_fence) opts.before_fence();
  mark = clock::now();
  auto producer = fence(k, opts, out);
  lap(out.stats.fence_time);
  if (!producer) return out;
  const bool caught_up = final_catch_up(k, *next, opts, a, reader, out);
  lap(out.stats.final_time);
  if (!caught_up) return out;
  claim(s, k, opts, std::move(producer), out);
  lap(out.stats.claim_time);
  return out;
}

}  // namespace

restore_result restore_partition(persistence::store& s, int k, const restore_options& opts) {
  const auto start = clock::now();
  restore_result out;
  if (k < 0 || k >= opts.partitions) {
    out.error = "partition " + std::to_string(k) + " is not one of the cluster's " +
                std::to_string(opts.partitions);
    return out;
  }
  try {
    out = run_restore(s, k, opts);
  } catch (const std::exception& e) {  // store_error, or librdkafka refusing a configuration
    out.error = "restoring partition " + std::to_string(k) + ": " + e.what();
    out.sink.reset();
  }
  out.stats.duration = std::chrono::duration_cast<milliseconds>(clock::now() - start);
  if (out.ok()) {
    spdlog::info(
        "event=cluster.restored partition={} epoch={} records={} bytes={} ms={} "
        "from_checkpoint={} wiped={} bulk_ms={} fence_ms={} final_ms={} claim_ms={}",
        k, out.epoch, out.stats.records, out.stats.bytes, out.stats.duration.count(),
        out.stats.from_checkpoint, out.stats.wiped, out.stats.bulk_time.count(),
        out.stats.fence_time.count(), out.stats.final_time.count(), out.stats.claim_time.count());
  } else {
    spdlog::warn("event=cluster.restore_failed partition={} lost={} error=\"{}\"", k, out.lost,
                 out.error);
  }
  return out;
}

}  // namespace pikoci::node
