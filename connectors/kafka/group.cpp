#include "connectors/kafka/group.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "connectors/kafka/rdkafka.hpp"

namespace pikoci::kafka {
namespace {

using steady = std::chrono::steady_clock;
using tp_list = std::vector<RdKafka::TopicPartition*>;

/// Owns the TopicPartition objects of a list handed to librdkafka.
struct owned_tps {
  tp_list list;
  owned_tps() = default;
  owned_tps(const owned_tps&) = delete;
  owned_tps& operator=(const owned_tps&) = delete;
  ~owned_tps() { RdKafka::TopicPartition::destroy(list); }
  void add(const std::string& topic, std::int32_t k, std::int64_t offset) {
    list.push_back(RdKafka::TopicPartition::create(topic, k, offset));
  }
};

std::vector<std::int32_t> numbers(const tp_list& parts) {
  std::vector<std::int32_t> out;
  for (const auto* p : parts) out.push_back(p->partition());
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::int32_t>& ks) {
  std::string out;
  for (auto k : ks) out += (out.empty() ? "" : ",") + std::to_string(k);
  return out;
}

/// Logs and deletes the error of an incremental (un)assign.
void check(RdKafka::Error* e, const char* what) {
  if (e == nullptr) return;
  spdlog::error("event=kafka.group.{}_failed error=\"{}\"", what, e->str());
  delete e;
}

}  // namespace

struct group_member::impl final : RdKafka::RebalanceCb, RdKafka::OffsetCommitCb {
  group_options opts;
  group_callbacks cb;
  std::unique_ptr<RdKafka::KafkaConsumer> c;
  std::thread poller;
  std::atomic<bool> stopping{false};

  // Shared with the owner's threads.
  mutable std::mutex mu;
  std::condition_variable cv;
  std::set<std::int32_t> revoking;  // waiting for handed_off()
  std::set<std::int32_t> handed;    // handed off, of `revoking`
  std::vector<std::pair<std::int32_t, std::int64_t>> ready_asked;
  std::set<std::int32_t> assigned;

  // The poll thread's own.
  struct part {
    bool ready = false;
    std::int64_t next = -1;       // after the last record handed to on_message
    std::int64_t committed = -1;  // what was last sent to the group
  };
  std::map<std::int32_t, part> parts;
  struct ready_request {
    std::int32_t k;
    std::int64_t offset;
    steady::time_point since;
  };
  std::vector<ready_request> ready_pending;  // seeks librdkafka was not ready for yet
  steady::time_point last_commit = steady::now();
  std::string last_error;

  // ---- rebalances (poll thread, inside consume() or close())

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    tp_list& partitions) override {
    auto ks = numbers(partitions);
    // A cooperative rebalance may assign or revoke nothing here: librdkafka still needs the
    // (empty) incremental call, the owner hears nothing.
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      check(consumer->incremental_assign(partitions), "assign");
      if (ks.empty()) return;
      consumer->pause(partitions);  // until the owner has restored them (ready())
      remember(ks);
      spdlog::info("event=kafka.group.gained group={} partitions={}", opts.group, joined(ks));
      cb.on_gained(ks);
    } else if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
      if (ks.empty()) {
        // nothing to tell
      } else if (consumer->assignment_lost()) {
        forget(ks);
        spdlog::warn("event=kafka.group.lost group={} partitions={}", opts.group, joined(ks));
        cb.on_lost(ks);
      } else {
        hand_off(ks);
      }
      check(consumer->incremental_unassign(partitions), "unassign");
    } else {
      std::vector<std::int32_t> held;
      for (const auto& [k, p] : parts) held.push_back(k);
      forget(held);
      spdlog::error("event=kafka.group.rebalance_error group={} error=\"{}\" lost={}", opts.group,
                    RdKafka::err2str(err), joined(held));
      if (!held.empty()) cb.on_lost(held);
      consumer->unassign();
    }
  }

  /// An orderly revoke: the owner hands off, then the offsets of what it was given are committed.
  void hand_off(const std::vector<std::int32_t>& ks) {
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto k : ks) {
        revoking.insert(k);
        handed.erase(k);
      }
    }
    spdlog::info("event=kafka.group.revoking group={} partitions={}", opts.group, joined(ks));
    cb.on_revoking(ks);
    bool done = false;
    {
      std::unique_lock<std::mutex> lock(mu);
      done = cv.wait_for(lock, opts.handoff_wait, [&] {
        return std::all_of(ks.begin(), ks.end(), [&](auto k) { return handed.count(k) > 0; });
      });
      for (auto k : ks) {
        revoking.erase(k);
        handed.erase(k);
      }
    }
    if (done) {
      commit(ks, true);
      forget(ks);
      spdlog::info("event=kafka.group.handed_off group={} partitions={}", opts.group, joined(ks));
      return;
    }
    // A slow handoff degrades to a loss: the next owner starts from the last commit.
    forget(ks);
    spdlog::warn("event=kafka.group.handoff_timeout group={} partitions={} wait_ms={}", opts.group,
                 joined(ks), opts.handoff_wait.count());
    cb.on_lost(ks);
  }

  void remember(const std::vector<std::int32_t>& ks) {
    for (auto k : ks) parts[k] = part{};
    std::lock_guard<std::mutex> lock(mu);
    assigned.insert(ks.begin(), ks.end());
  }

  void forget(const std::vector<std::int32_t>& ks) {
    for (auto k : ks) parts.erase(k);
    ready_pending.erase(std::remove_if(ready_pending.begin(), ready_pending.end(),
                                       [&](const ready_request& r) {
                                         return std::count(ks.begin(), ks.end(), r.k) > 0;
                                       }),
                        ready_pending.end());
    std::lock_guard<std::mutex> lock(mu);
    for (auto k : ks) assigned.erase(k);
  }

  // ---- offsets (poll thread)

  /// Commits the next offsets of `ks` that moved since their last commit.
  void commit(const std::vector<std::int32_t>& ks, bool sync) {
    owned_tps tps;
    for (auto k : ks) {
      auto it = parts.find(k);
      if (it == parts.end() || it->second.next < 0 || it->second.next == it->second.committed)
        continue;
      tps.add(opts.topic, k, it->second.next);
      it->second.committed = it->second.next;
    }
    if (tps.list.empty()) return;
    auto rc = sync ? c->commitSync(tps.list) : c->commitAsync(tps.list);
    if (rc != RdKafka::ERR_NO_ERROR) {
      spdlog::warn("event=kafka.group.commit_failed group={} error=\"{}\"", opts.group,
                   RdKafka::err2str(rc));
      for (const auto* tp : tps.list)
        if (auto it = parts.find(tp->partition()); it != parts.end()) it->second.committed = -1;
    }
  }

  void commit_all(bool sync) {
    std::vector<std::int32_t> ks;
    for (const auto& [k, p] : parts) ks.push_back(k);
    commit(ks, sync);
  }

  /// An asynchronous commit's outcome (served by consume() on the poll thread): a failed one is
  /// sent again at the next tick.
  void offset_commit_cb(RdKafka::ErrorCode err, tp_list& offsets) override {
    if (err == RdKafka::ERR_NO_ERROR || err == RdKafka::ERR__NO_OFFSET) return;
    spdlog::warn("event=kafka.group.commit_failed group={} error=\"{}\"", opts.group,
                 RdKafka::err2str(err));
    for (const auto* tp : offsets)
      if (auto it = parts.find(tp->partition()); it != parts.end()) it->second.committed = -1;
  }

  // ---- ready() (poll thread)

  /// Seeks and resumes the partitions the owner made ready. librdkafka refuses a seek until the
  /// partition's fetcher has started (just after the assignment): such a seek is tried again
  /// at the next poll, for up to 10 s.
  void serve_ready() {
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [k, offset] : ready_asked)
        ready_pending.push_back({k, offset, steady::now()});
      ready_asked.clear();
    }
    std::vector<ready_request> retry;
    for (auto r : ready_pending) {
      auto it = parts.find(r.k);
      if (it == parts.end() || it->second.ready) continue;  // revoked meanwhile, or ready twice
      if (r.offset < 0) r.offset = committed_offset(r.k);
      std::unique_ptr<RdKafka::TopicPartition> tp(
          RdKafka::TopicPartition::create(opts.topic, r.k, r.offset));
      auto rc = c->seek(*tp, 1000);
      if (rc == RdKafka::ERR__STATE && steady::now() - r.since < std::chrono::seconds(10)) {
        retry.push_back(r);
        continue;
      }
      if (rc != RdKafka::ERR_NO_ERROR)
        spdlog::error("event=kafka.group.seek_failed group={} partition={} offset={} error=\"{}\"",
                      opts.group, r.k, r.offset, RdKafka::err2str(rc));
      tp_list one{tp.get()};
      c->resume(one);
      it->second.ready = true;
      it->second.next = it->second.committed = r.offset;
      spdlog::info("event=kafka.group.ready group={} partition={} offset={}", opts.group, r.k,
                   r.offset);
    }
    ready_pending = std::move(retry);
  }

  /// The group's committed offset of k; the beginning when it has none.
  std::int64_t committed_offset(std::int32_t k) {
    owned_tps tps;
    tps.add(opts.topic, k, RdKafka::Topic::OFFSET_INVALID);
    auto rc = c->committed(tps.list, 10000);
    auto offset = tps.list[0]->offset();
    if (rc != RdKafka::ERR_NO_ERROR) {
      spdlog::error("event=kafka.group.committed_failed group={} partition={} error=\"{}\"",
                    opts.group, k, RdKafka::err2str(rc));
    }
    return offset >= 0 ? offset : RdKafka::Topic::OFFSET_BEGINNING;
  }

  // ---- the poll loop

  void deliver(RdKafka::Message& m) {
    auto it = parts.find(m.partition());
    // A record of a partition not ready yet is dropped: ready() seeks to where its owner wants
    // to start, which reads it again.
    if (it == parts.end() || !it->second.ready) return;
    auto offset = m.offset();
    cb.on_message(to_record(m));
    it->second.next = offset + 1;
  }

  void run() {
    while (!stopping) {
      serve_ready();
      std::unique_ptr<RdKafka::Message> m(c->consume(ready_pending.empty() ? 50 : 10));
      if (m) {
        auto err = m->err();
        if (err == RdKafka::ERR_NO_ERROR) {
          deliver(*m);
        } else if (err != RdKafka::ERR__TIMED_OUT && err != RdKafka::ERR__PARTITION_EOF &&
                   m->errstr() != last_error) {
          last_error = m->errstr();  // a lasting error is logged once, not per poll
          spdlog::warn("event=kafka.group.consume_error group={} error=\"{}\"", opts.group,
                       last_error);
        }
      }
      if (steady::now() - last_commit >= std::chrono::seconds(1)) {
        commit_all(false);
        last_commit = steady::now();
      }
    }
    commit_all(true);
    c->close();  // revokes what is assigned: on_revoking, handed_off, commit
  }
};

group_member::group_member(group_options options, group_callbacks callbacks)
    : impl_(std::make_unique<impl>()) {
  auto& i = *impl_;
  i.opts = std::move(options);
  i.cb = std::move(callbacks);
  auto conf = base_conf(i.opts.brokers);
  set(*conf, "group.id", i.opts.group);
  set(*conf, "partition.assignment.strategy", "cooperative-sticky");
  auto session = i.opts.session_timeout.count();
  set(*conf, "session.timeout.ms", std::to_string(session));
  // a heartbeat a second, but at least three per session timeout, or one late heartbeat
  // would cost the member its partitions
  set(*conf, "heartbeat.interval.ms", std::to_string(std::min<long long>(1000, session / 3)));
  set(*conf, "max.poll.interval.ms", "30000");
  set(*conf, "isolation.level", "read_committed");
  set(*conf, "enable.auto.commit", "false");
  set(*conf, "enable.auto.offset.store", "false");
  set(*conf, "auto.offset.reset", "earliest");
  set(*conf, "fetch.wait.max.ms", "100");  // as consumer_settings: answered on arrival
  set(*conf, "fetch.max.bytes", std::to_string(32 << 20));
  set(*conf, "max.partition.fetch.bytes", std::to_string(16 << 20));
  std::string err;
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(&i), err) !=
          RdKafka::Conf::CONF_OK ||
      conf->set("offset_commit_cb", static_cast<RdKafka::OffsetCommitCb*>(&i), err) !=
          RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", &logger(), err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka group member: " + err);
  i.c.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!i.c) throw std::runtime_error("kafka group member: " + err);
  auto rc = i.c->subscribe({i.opts.topic});
  if (rc != RdKafka::ERR_NO_ERROR) {
    i.c->close();
    throw std::runtime_error("kafka group member: subscribe " + i.opts.topic + ": " +
                             RdKafka::err2str(rc));
  }
  i.poller = std::thread([&i] { i.run(); });
}

group_member::~group_member() {
  close();
}

void group_member::handed_off(const partitions& parts) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto k : parts)
      if (impl_->revoking.count(k) > 0) impl_->handed.insert(k);
  }
  impl_->cv.notify_all();
}

void group_member::ready(std::int32_t k, std::int64_t offset) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->ready_asked.emplace_back(k, offset);
}

void group_member::close() {
  if (!impl_->poller.joinable()) return;
  impl_->stopping = true;
  if (std::this_thread::get_id() == impl_->poller.get_id()) {
    spdlog::error("event=kafka.group.close_from_callback group={}", impl_->opts.group);
    return;  // joined by the destructor
  }
  impl_->poller.join();
}

group_member::partitions group_member::assignment() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return partitions(impl_->assigned.begin(), impl_->assigned.end());
}

}  // namespace pikoci::kafka
