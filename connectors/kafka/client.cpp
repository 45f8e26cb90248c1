#include "connectors/kafka/client.hpp"

#include "connectors/kafka/rdkafka.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

namespace pikoci::kafka {

using conf_ptr = std::unique_ptr<RdKafka::Conf>;

void set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string err;
  if (conf.set(key, value, err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka config " + key + "=" + value + ": " + err);
}

conf_ptr make_conf(const settings& all) {
  conf_ptr conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [key, value] : all) set(*conf, key, value);
  return conf;
}

settings with(settings a, const settings& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// Logs librdkafka's errors and logs at a sane level (never the payloads).
class event_logger final : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& e) override {
    switch (e.type()) {
      case RdKafka::Event::EVENT_ERROR:
        spdlog::warn("event=kafka.error error=\"{}\" ({})", e.str(), RdKafka::err2str(e.err()));
        break;
      case RdKafka::Event::EVENT_LOG:
        if (e.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR)
          spdlog::warn("event=kafka.log facility={} message=\"{}\"", e.fac(), e.str());
        break;
      default:
        break;
    }
  }
};

RdKafka::EventCb& logger() {
  static event_logger l;
  return l;
}

namespace {

bool valid_tag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

// ---- settings

settings common_settings(const std::string& brokers) {
  return {
      {"bootstrap.servers", brokers},
      {"client.id", "pikoci-node"},
      {"message.max.bytes", std::to_string(16 << 20)},
      // no IPv6 surprises on a 127.0.0.1 broker; errors are reported through the event callback
      {"broker.address.family", "v4"},
      // back within a second of the broker's return (librdkafka's default backs off up to 10 s):
      // the server and its workers must hear each other again at about the same time, or a
      // worker's lease runs out while only it is still reconnecting
      {"reconnect.backoff.max.ms", "1000"},
      // every request is small and waits for its answer: with Nagle's algorithm on (librdkafka's
      // default before 2.6) a request written while the previous one is unacknowledged waits
      // for the peer's delayed ACK, up to 40 ms on Linux, and builds crawl in bursts
      {"socket.nagle.disable", "true"},
  };
}

std::unique_ptr<RdKafka::Conf> base_conf(const std::string& brokers) {
  return make_conf(common_settings(brokers));
}

settings producer_settings(const std::string& brokers) {
  return with(common_settings(brokers),
              {
                  {"enable.idempotence", "true"},  // implies acks=all and ordered retries
                  {"acks", "all"},
                  // latency over batching: a dispatch is one small message; under load the
                  // messages queued while a request is out still go together in the next one
                  {"linger.ms", "0"},
                  // a broker that is away for a while (restart) must not drop messages: retry
                  // for 10 minutes
                  {"message.timeout.ms", "600000"},
              });
}

settings consumer_settings(const std::string& brokers, const std::string& group, bool from_start) {
  return with(common_settings(brokers),
              {
                  {"group.id", group},
                  {"enable.auto.commit", "false"},
                  {"auto.offset.reset", from_start ? "earliest" : "latest"},
                  {"fetch.max.bytes", std::to_string(32 << 20)},
                  {"max.partition.fetch.bytes", std::to_string(16 << 20)},
                  // a worker that died is noticed by the group within this time; its partitions
                  // move on
                  {"session.timeout.ms", "6000"},
                  {"heartbeat.interval.ms", "1000"},
                  // the broker answers a fetch as soon as one byte is there (a message written
                  // while it waits answers it at once), else after fetch.wait.max.ms: a longer
                  // wait costs no latency, only an idle consumer's requests (10 a second)
                  {"fetch.min.bytes", "1"},
                  {"fetch.wait.max.ms", "100"},
                  {"topic.metadata.refresh.interval.ms", "2000"},  // topics made after subscribe
              });
}

// ---- hops

const std::vector<double>& hop_meter::bounds() {
  static const std::vector<double> b = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                        0.1,   0.25,  0.5,   1,    2.5,  10};
  return b;
}

void hop_meter::observe(const std::string& topic, std::int64_t sent_at_ms,
                        std::int64_t received_at_ms) {
  // clocks of two machines: a message from the future counts as instant
  auto ms = std::max<std::int64_t>(0, received_at_ms - sent_at_ms);
  std::lock_guard<std::mutex> lock(mu_);
  hops_.try_emplace(topic, bounds()).first->second.observe(static_cast<double>(ms) / 1000.0);
}

void hop_meter::add_to(domain::metrics& out) const {
  auto& f = out.add_histogram("pikoci_kafka_hop_seconds",
                              "Time from a Kafka message's sending to its reading (whole "
                              "milliseconds of the two machines' clocks), by topic.");
  for (const auto& [topic, h] : snapshot()) f.add({{"topic", topic}}, h);
}

std::map<std::string, domain::histogram> hop_meter::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hops_;
}

double quantile(const domain::histogram& h, double q) {
  if (h.count() == 0) return 0;
  auto rank = q * static_cast<double>(h.count());
  double lower = 0;
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < h.bounds().size(); ++i) {
    auto in = h.buckets()[i];
    if (static_cast<double>(in) >= rank) {
      auto n = static_cast<double>(in - below);
      auto within = n > 0 ? (rank - static_cast<double>(below)) / n : 1.0;
      return lower + within * (h.bounds()[i] - lower);
    }
    lower = h.bounds()[i];
    below = in;
  }
  return h.bounds().back();
}

// ---- topics

std::vector<std::string> normalize_tags(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

std::string check_tags(const std::vector<std::string>& tags) {
  if (tags.size() > max_tags)
    return "at most " + std::to_string(max_tags) + " tags, got " + std::to_string(tags.size());
  for (const auto& t : tags) {
    if (t.empty() || t.size() > 64 || !std::all_of(t.begin(), t.end(), valid_tag_char))
      return "tag \"" + t + "\" must be 1-64 characters of A-Z a-z 0-9 _ -";
  }
  return {};
}

std::string topics::tagged(const std::string& base, const std::vector<std::string>& tags) {
  auto sorted = normalize_tags(tags);
  if (sorted.empty()) return base;
  // topic names allow [A-Za-z0-9._-] and tags cannot contain '.', so '.' joins them; a name
  // past Kafka's 249 characters becomes a hash of the tag set
  std::string joined;
  for (std::size_t i = 0; i < sorted.size(); ++i) joined += (i ? "." : "") + sorted[i];
  std::string name = base + ".tags." + joined;
  if (name.size() <= 200) return name;
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : joined) h = (h ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return base + ".tags.h" + hex;
}

std::vector<std::string> topics::consumed(const std::string& base,
                                          const std::vector<std::string>& tags) {
  auto sorted = normalize_tags(tags);
  std::vector<std::string> out{base};
  auto n = std::min(sorted.size(), max_tags);
  for (std::uint32_t mask = 1; mask < (1u << n); ++mask) {
    std::vector<std::string> subset;
    for (std::size_t i = 0; i < n; ++i)
      if (mask & (1u << i)) subset.push_back(sorted[i]);
    out.push_back(tagged(base, subset));
  }
  return out;
}

// ---- brokers

std::string check_brokers(const std::string& brokers, std::chrono::milliseconds timeout) {
  try {
    auto conf = make_conf(common_settings(brokers));
    std::string err;
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    if (!p) return err;
    RdKafka::Metadata* md = nullptr;
    auto rc = p->metadata(true, nullptr, &md, static_cast<int>(timeout.count()));
    std::unique_ptr<RdKafka::Metadata> owned(md);
    if (rc != RdKafka::ERR_NO_ERROR) return RdKafka::err2str(rc);
    if (md == nullptr || md->brokers()->empty()) return "no brokers in the metadata";
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

// ---- producer

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class delivery_counter final : public RdKafka::DeliveryReportCb {
 public:
  std::atomic<std::int64_t> failed{0};
  std::atomic<std::int64_t> delivered_at{steady_ns()};  // steady clock, ns
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      delivered_at = steady_ns();
      return;
    }
    ++failed;
    spdlog::error("event=kafka.delivery_failed topic={} error=\"{}\"", m.topic_name(), m.errstr());
  }
};

struct producer::impl {
  delivery_counter reports;
  std::unique_ptr<RdKafka::Producer> p;
  std::mutex topics_mu;
  std::map<std::string, std::unique_ptr<RdKafka::Topic>> topics;  // prepare()d
  std::atomic<bool> stop{false};
  std::thread poller;
};

producer::producer(const std::string& brokers) : impl_(std::make_unique<impl>()) {
  auto conf = make_conf(producer_settings(brokers));
  std::string err;
  if (conf->set("dr_cb", &impl_->reports, err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", &logger(), err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka producer: " + err);
  impl_->p.reset(RdKafka::Producer::create(conf.get(), err));
  if (!impl_->p) throw std::runtime_error("kafka producer: " + err);
  impl_->poller = std::thread([i = impl_.get()] {
    while (!i->stop) i->p->poll(100);
  });
}

producer::~producer() {
  impl_->p->flush(5000);
  impl_->stop = true;
  impl_->poller.join();
  impl_->topics.clear();  // before the handle they belong to
}

void producer::prepare(const std::vector<std::string>& names, std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(impl_->topics_mu);
  for (const auto& name : names) {
    auto& t = impl_->topics[name];
    std::string err;
    if (!t) t.reset(RdKafka::Topic::create(impl_->p.get(), name, nullptr, err));
    if (!t) {
      spdlog::warn("event=kafka.prepare_failed topic={} error=\"{}\"", name, err);
      impl_->topics.erase(name);
      continue;
    }
    RdKafka::Metadata* raw = nullptr;
    auto rc = impl_->p->metadata(false, t.get(), &raw, static_cast<int>(timeout.count()));
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (rc != RdKafka::ERR_NO_ERROR)
      spdlog::warn("event=kafka.prepare_failed topic={} error=\"{}\"", name, RdKafka::err2str(rc));
  }
}

bool producer::produce(const std::string& topic, const std::string& key, const std::string& payload,
                       int partition) {
  auto rc =
      impl_->p->produce(topic, partition < 0 ? RdKafka::Topic::PARTITION_UA : partition,
                        RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(payload.data()),
                        payload.size(), key.empty() ? nullptr : key.data(), key.size(), 0, nullptr);
  if (rc == RdKafka::ERR_NO_ERROR) return true;
  spdlog::error("event=kafka.produce_failed topic={} error=\"{}\"", topic, RdKafka::err2str(rc));
  return false;
}

bool producer::flush(std::chrono::milliseconds timeout) {
  return impl_->p->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR;
}

std::int64_t producer::failed() const {
  return impl_->reports.failed;
}

std::chrono::steady_clock::time_point producer::last_delivered() const {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(impl_->reports.delivered_at.load())));
}

// ---- consumer

namespace {

/// Applies the group's assignments and keeps a copy of it, so the polling thread can ask for it
/// per message without a round trip to librdkafka's own thread.
class assignment_tracker final : public RdKafka::RebalanceCb {
 public:
  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& parts) override {
    bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
    std::lock_guard<std::mutex> lock(mu);
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (cooperative) {
        if (auto e = c->incremental_assign(parts)) log(e);
      } else if (auto rc = c->assign(parts); rc != RdKafka::ERR_NO_ERROR) {
        spdlog::warn("event=kafka.assign_failed error=\"{}\"", RdKafka::err2str(rc));
      }
      if (!cooperative) now.clear();
      for (auto* p : parts) now.emplace_back(p->topic(), p->partition());
      return;
    }
    if (err != RdKafka::ERR__REVOKE_PARTITIONS)
      spdlog::warn("event=kafka.rebalance_error error=\"{}\"", RdKafka::err2str(err));
    if (cooperative && err == RdKafka::ERR__REVOKE_PARTITIONS) {
      if (auto e = c->incremental_unassign(parts)) log(e);
      for (auto* p : parts)
        now.erase(std::remove(now.begin(), now.end(), std::make_pair(p->topic(), p->partition())),
                  now.end());
      return;
    }
    c->unassign();
    now.clear();
  }

  std::vector<std::pair<std::string, int>> get() const {
    std::lock_guard<std::mutex> lock(mu);
    return now;
  }
  bool has(const std::string& topic, int partition) const {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(now.begin(), now.end(), std::make_pair(topic, partition)) != now.end();
  }

 private:
  static void log(RdKafka::Error* e) {
    spdlog::warn("event=kafka.assign_failed error=\"{}\"", e->str());
    delete e;
  }
  mutable std::mutex mu;
  std::vector<std::pair<std::string, int>> now;
};

}  // namespace

struct consumer::impl {
  assignment_tracker tracker;  // before `c`, which calls it until it is closed
  std::unique_ptr<RdKafka::KafkaConsumer> c;
};

consumer::consumer(const std::string& brokers, const std::string& group, bool from_start)
    : impl_(std::make_unique<impl>()) {
  auto conf = make_conf(consumer_settings(brokers, group, from_start));
  std::string err;
  if (conf->set("event_cb", &logger(), err) != RdKafka::Conf::CONF_OK ||
      conf->set("rebalance_cb", &impl_->tracker, err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka consumer: " + err);
  impl_->c.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!impl_->c) throw std::runtime_error("kafka consumer: " + err);
}

consumer::~consumer() {
  impl_->c->close();
}

std::string consumer::subscribe(const std::vector<std::string>& names) {
  auto rc = impl_->c->subscribe(names);
  return rc == RdKafka::ERR_NO_ERROR ? std::string{} : RdKafka::err2str(rc);
}

std::string consumer::assign_all(const std::string& topic) {
  std::string err;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(impl_->c.get(), topic, nullptr, err));
  if (!t) return err;
  RdKafka::Metadata* raw = nullptr;
  auto rc = impl_->c->metadata(false, t.get(), &raw, 10000);
  std::unique_ptr<RdKafka::Metadata> md(raw);
  if (rc != RdKafka::ERR_NO_ERROR) return RdKafka::err2str(rc);
  std::vector<RdKafka::TopicPartition*> parts;
  for (const auto* tm : *md->topics())
    if (tm->topic() == topic)
      for (const auto* pm : *tm->partitions())
        parts.push_back(
            RdKafka::TopicPartition::create(topic, pm->id(), RdKafka::Topic::OFFSET_END));
  if (parts.empty()) return "topic " + topic + " has no partitions";
  rc = impl_->c->assign(parts);
  RdKafka::TopicPartition::destroy(parts);
  return rc == RdKafka::ERR_NO_ERROR ? std::string{} : RdKafka::err2str(rc);
}

std::optional<message> consumer::poll(std::chrono::milliseconds timeout) {
  std::unique_ptr<RdKafka::Message> m(impl_->c->consume(static_cast<int>(timeout.count())));
  if (!m) return std::nullopt;
  switch (m->err()) {
    case RdKafka::ERR_NO_ERROR: {
      message out;
      out.topic = m->topic_name();
      if (m->key() != nullptr) out.key = *m->key();
      out.payload.assign(static_cast<const char*>(m->payload()), m->len());
      out.partition = m->partition();
      out.offset = m->offset();
      return out;
    }
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__PARTITION_EOF:
      return std::nullopt;
    default:
      spdlog::warn("event=kafka.consume_error error=\"{}\"", m->errstr());
      return std::nullopt;
  }
}

std::vector<std::pair<std::string, int>> consumer::assignment() const {
  return impl_->tracker.get();
}

bool consumer::assigned(const std::string& topic, int partition) const {
  return impl_->tracker.has(topic, partition);
}

bool consumer::commit(const message& m, bool sync) {
  std::map<std::pair<std::string, int>, std::int64_t> next{{{m.topic, m.partition}, m.offset + 1}};
  return commit(next, sync);
}

bool consumer::commit(const std::map<std::pair<std::string, int>, std::int64_t>& next, bool sync) {
  if (next.empty()) return true;
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [tp, offset] : next)
    offsets.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, offset));
  auto rc = sync ? impl_->c->commitSync(offsets) : impl_->c->commitAsync(offsets);
  RdKafka::TopicPartition::destroy(offsets);
  if (rc == RdKafka::ERR_NO_ERROR) return true;
  spdlog::warn("event=kafka.commit_failed partitions={} error=\"{}\"", next.size(),
               RdKafka::err2str(rc));
  return false;
}

void offset_batch::commit(consumer& c, bool final) {
  auto now = std::chrono::steady_clock::now();
  if (next_.empty() || (!final && now - last_ < every_)) return;
  c.commit(next_, final);
  next_.clear();
  last_ = now;
}

}  // namespace pikoci::kafka
