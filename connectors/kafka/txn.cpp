#include "connectors/kafka/txn.hpp"

#include <librdkafka/rdkafkacpp.h>

#include "connectors/kafka/client.hpp"
#include "connectors/kafka/rdkafka.hpp"

#include <algorithm>
#include <stdexcept>

namespace pikoci::kafka {
namespace {

using clock = std::chrono::steady_clock;
using outcome = txn_result::outcome;

/// Milliseconds left until `deadline`, at least 1 (0 would mean "do not wait" to librdkafka).
int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return static_cast<int>(std::max<std::int64_t>(1, left.count()));
}

txn_result result(outcome o, std::string error = {}) {
  txn_result r;
  r.status = o;
  r.error = std::move(error);
  return r;
}

/// Takes ownership of a librdkafka error object.
std::unique_ptr<RdKafka::Error> own(RdKafka::Error* e) {
  return std::unique_ptr<RdKafka::Error>(e);
}

}  // namespace

const char* to_string(txn_result::outcome o) {
  switch (o) {
    case outcome::ok:
      return "ok";
    case outcome::retry:
      return "retry";
    case outcome::abort:
      return "abort";
    case outcome::fenced:
      return "fenced";
  }
  return "?";
}

/// Where each record of the current transaction landed; served on the thread that commits
/// (commit_transaction flushes, which serves delivery reports on the caller's thread).
class txn_deliveries final : public RdKafka::DeliveryReportCb {
 public:
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> last_offsets;
  std::string first_error;
  void clear() {
    last_offsets.clear();
    first_error.clear();
  }
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      if (first_error.empty()) first_error = m.topic_name() + ": " + m.errstr();
      return;
    }
    auto& last = last_offsets[{m.topic_name(), m.partition()}];
    last = std::max(last, m.offset());
  }
};

/// librdkafka's errors and error-level logs, handed to txn_options::on_error (and kept off
/// stderr).
class txn_events final : public RdKafka::EventCb {
 public:
  explicit txn_events(std::function<void(const std::string&)> sink) : sink_(std::move(sink)) {}
  void event_cb(RdKafka::Event& e) override {
    bool error = e.type() == RdKafka::Event::EVENT_ERROR ||
                 (e.type() == RdKafka::Event::EVENT_LOG &&
                  e.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR);
    if (error && sink_) sink_(e.str() + " (" + RdKafka::err2str(e.err()) + ")");
  }

 private:
  std::function<void(const std::string&)> sink_;
};

struct txn_producer::impl {
  enum class state { fresh, ready, committing, aborting, fenced };
  explicit impl(const txn_options& o) : opts(o), events(o.on_error) {}

  txn_options opts;
  txn_deliveries deliveries;
  txn_events events;
  std::unique_ptr<RdKafka::Producer> p;
  state st = state::fresh;

  std::vector<std::unique_ptr<RdKafka::Topic>> topics;  // opts.topics, known to the client

  /// Asks the brokers for opts.topics' partitions now: a topic the client has not seen yet is
  /// otherwise looked up by its scan once a second, and the first record produced to it waits
  /// for that scan before its partition can join the transaction. Best effort: a topic that
  /// cannot be looked up here is looked up as it would have been.
  void learn_topics(clock::time_point deadline) {
    for (const auto& name : opts.topics) {
      std::string err;
      std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(p.get(), name, nullptr, err));
      if (!t) continue;
      RdKafka::Metadata* md = nullptr;
      const int ms = std::max(1, std::min(remaining_ms(deadline), 5000));
      if (p->metadata(false, t.get(), &md, ms) == RdKafka::ERR_NO_ERROR) delete md;
      topics.push_back(std::move(t));
    }
  }

  /// Fatal: the producer is done for good.
  txn_result fence(const std::string& why) {
    st = state::fenced;
    return result(outcome::fenced, why);
  }

  /// The outcome of a failed call, the transaction (if any) aborted when it must be.
  txn_result failed(std::unique_ptr<RdKafka::Error> e, clock::time_point deadline) {
    if (e->is_fatal()) return fence(e->str());
    return abort_now(e->str(), deadline);
  }

  /// Aborts the open transaction; `abort` with `why` once it is, `retry` if it is still
  /// aborting at the deadline.
  txn_result abort_now(const std::string& why, clock::time_point deadline) {
    st = state::aborting;
    for (;;) {
      auto e = own(p->abort_transaction(remaining_ms(deadline)));
      if (!e) {
        st = state::ready;
        return result(outcome::abort, why);
      }
      if (e->is_fatal()) return fence(e->str());
      // no transaction to abort (it failed before it began): nothing is open
      if (e->code() == RdKafka::ERR__STATE) {
        st = state::ready;
        return result(outcome::abort, why);
      }
      if (!e->is_retriable() || clock::now() >= deadline)
        return result(outcome::retry, why + "; abort: " + e->str());
      p->poll(10);  // not a busy loop while the brokers are away
    }
  }

  /// Commits the open transaction, retrying while the brokers may still recover.
  txn_result finish(clock::time_point deadline) {
    st = state::committing;
    for (;;) {
      auto e = own(p->commit_transaction(remaining_ms(deadline)));
      if (!e) {
        st = state::ready;
        txn_result r = result(outcome::ok);
        r.last_offsets = deliveries.last_offsets;
        return r;
      }
      if (e->is_fatal()) return fence(e->str());
      if (e->txn_requires_abort()) {
        auto why = deliveries.first_error.empty() ? e->str() : deliveries.first_error;
        return abort_now(why, deadline);
      }
      if (!e->is_retriable()) return abort_now(e->str(), deadline);
      if (clock::now() >= deadline) return result(outcome::retry, e->str());
      p->poll(10);
    }
  }

  /// Queues one record of the open transaction; waits (until the deadline) while the local
  /// queue is full.
  RdKafka::ErrorCode produce(const txn_record& r, clock::time_point deadline) {
    for (;;) {
      RdKafka::Headers* headers = nullptr;
      if (!r.headers.empty()) {
        headers = RdKafka::Headers::create();
        for (const auto& [name, value] : r.headers) headers->add(name, value);
      }
      void* payload = r.value ? const_cast<char*>(r.value->data()) : nullptr;
      auto rc = p->produce(r.topic, r.partition, RdKafka::Producer::RK_MSG_COPY, payload,
                           r.value ? r.value->size() : 0, r.key.empty() ? nullptr : r.key.data(),
                           r.key.size(), 0, headers, nullptr);
      if (rc != RdKafka::ERR_NO_ERROR) delete headers;  // owned by librdkafka only on success
      if (rc != RdKafka::ERR__QUEUE_FULL || clock::now() >= deadline) return rc;
      p->poll(10);
    }
  }
};

txn_producer::txn_producer(const txn_options& opts) : impl_(std::make_unique<impl>(opts)) {
  // the node's common settings (Nagle off, quick reconnects, message size), then a
  // transaction's own: one writer per id, every record acknowledged by all in-sync replicas
  auto conf = base_conf(opts.brokers);
  for (const auto& [key, value] : settings{
           {"transactional.id", opts.transactional_id},
           {"transaction.timeout.ms", std::to_string(opts.transaction_timeout.count())},
           {"enable.idempotence", "true"},
           {"acks", "all"},
           {"linger.ms", "1"},
       })
    set(*conf, key, value);
  std::string err;
  if (conf->set("dr_cb", &impl_->deliveries, err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", &impl_->events, err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka transactional producer: " + err);
  impl_->p.reset(RdKafka::Producer::create(conf.get(), err));
  if (!impl_->p) throw std::runtime_error("kafka transactional producer: " + err);
}

txn_producer::~txn_producer() {
  // An open transaction is left to the broker (aborted after transaction.timeout.ms, or at
  // once by the next init() of this id): aborting here could block a shutdown.
  if (impl_->st != impl::state::fenced) impl_->p->purge(RdKafka::Producer::PURGE_QUEUE);
}

txn_result txn_producer::init(std::chrono::milliseconds timeout) {
  if (impl_->st == impl::state::fenced) return result(outcome::fenced, "fenced");
  if (impl_->st != impl::state::fresh) return result(outcome::ok);
  auto deadline = clock::now() + timeout;
  for (;;) {
    auto e = own(impl_->p->init_transactions(remaining_ms(deadline)));
    if (!e) {
      impl_->st = impl::state::ready;
      impl_->learn_topics(deadline);
      return result(outcome::ok);
    }
    if (e->is_fatal()) return impl_->fence(e->str());
    if (!e->is_retriable() || clock::now() >= deadline) return result(outcome::retry, e->str());
  }
}

txn_result txn_producer::commit(const std::vector<txn_record>& records,
                                std::chrono::milliseconds timeout) {
  using state = impl::state;
  auto& i = *impl_;
  switch (i.st) {
    case state::fenced:
      return result(outcome::fenced, "fenced");
    case state::fresh:
      return result(outcome::abort, "not initialised: init() first");
    case state::committing:
    case state::aborting:
      return result(outcome::retry, "a transaction is still in doubt: resume() it first");
    case state::ready:
      break;
  }
  if (records.empty()) return result(outcome::ok);
  auto deadline = clock::now() + timeout;
  i.deliveries.clear();
  if (auto e = own(i.p->begin_transaction())) return i.failed(std::move(e), deadline);
  for (const auto& r : records) {
    auto rc = i.produce(r, deadline);
    if (rc == RdKafka::ERR_NO_ERROR) continue;
    auto why = r.topic + "[" + std::to_string(r.partition) + "]: " + RdKafka::err2str(rc);
    if (rc == RdKafka::ERR__FENCED || rc == RdKafka::ERR__FATAL) return i.fence(why);
    return i.abort_now(why, deadline);
  }
  return i.finish(deadline);
}

txn_result txn_producer::resume(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  switch (impl_->st) {
    case impl::state::committing:
      return impl_->finish(deadline);
    case impl::state::aborting:
      return impl_->abort_now("aborted", deadline);
    case impl::state::fenced:
      return result(outcome::fenced, "fenced");
    default:
      return result(outcome::ok);
  }
}

bool txn_producer::fenced() const {
  return impl_->st == impl::state::fenced;
}

}  // namespace pikoci::kafka
