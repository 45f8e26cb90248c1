#include "connectors/kafka/client.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

namespace pikoci::kafka {
namespace {

using conf_ptr = std::unique_ptr<RdKafka::Conf>;

void set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string err;
  if (conf.set(key, value, err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka config " + key + "=" + value + ": " + err);
}

}  // namespace

conf_ptr base_conf(const std::string& brokers) {
  conf_ptr conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  set(*conf, "bootstrap.servers", brokers);
  set(*conf, "client.id", "pikoci-node");
  set(*conf, "message.max.bytes", std::to_string(16 << 20));
  // no IPv6 surprises on a 127.0.0.1 broker; errors are reported through the event callback
  set(*conf, "broker.address.family", "v4");
  // back within a second of the broker's return (librdkafka's default backs off up to 10 s):
  // the server and its workers must hear each other again at about the same time, or a worker's
  // lease runs out while only it is still reconnecting
  set(*conf, "reconnect.backoff.max.ms", "1000");
  return conf;
}

namespace {

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

}  // namespace

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

// ---- admin

std::string ensure_topics(const std::string& brokers, const std::vector<std::string>& names,
                          int partitions, std::chrono::milliseconds timeout,
                          const std::vector<std::pair<std::string, std::string>>& configs) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr) !=
          RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "broker.address.family", "v4", errstr, sizeof errstr) !=
          RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return errstr;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) return errstr;
  std::vector<rd_kafka_NewTopic_t*> topics;
  for (const auto& n : names) {
    topics.push_back(rd_kafka_NewTopic_new(n.c_str(), partitions, 1, errstr, sizeof errstr));
    for (const auto& [key, value] : configs)
      rd_kafka_NewTopic_set_config(topics.back(), key.c_str(), value.c_str());
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, static_cast<int>(timeout.count()), errstr,
                                              sizeof errstr);
  rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(timeout.count()), errstr,
                                            sizeof errstr);
  rd_kafka_CreateTopics(rk, topics.data(), topics.size(), opts, q);
  std::string error;
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(timeout.count()) + 1000);
  if (ev == nullptr) {
    error = "no answer from the brokers " + brokers + " within " + std::to_string(timeout.count()) +
            " ms";
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    error = rd_kafka_event_error_string(ev);
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      auto err = rd_kafka_topic_result_error(results[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        error = std::string(rd_kafka_topic_result_name(results[i])) + ": " + rd_kafka_err2str(err);
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return error;
}

std::string check_brokers(const std::string& brokers, std::chrono::milliseconds timeout) {
  try {
    auto conf = base_conf(brokers);
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
  std::atomic<bool> stop{false};
  std::thread poller;
};

producer::producer(const std::string& brokers) : impl_(std::make_unique<impl>()) {
  auto conf = base_conf(brokers);
  set(*conf, "enable.idempotence", "true");  // implies acks=all and ordered retries
  set(*conf, "acks", "all");
  set(*conf, "linger.ms", "0");  // latency over batching: a dispatch is one small message
  // a broker that is away for a while (restart) must not drop messages: retry for 10 minutes
  set(*conf, "message.timeout.ms", "600000");
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

struct consumer::impl {
  std::unique_ptr<RdKafka::KafkaConsumer> c;
};

consumer::consumer(const std::string& brokers, const std::string& group, bool from_start)
    : impl_(std::make_unique<impl>()) {
  auto conf = base_conf(brokers);
  set(*conf, "group.id", group);
  set(*conf, "enable.auto.commit", "false");
  set(*conf, "auto.offset.reset", from_start ? "earliest" : "latest");
  set(*conf, "fetch.max.bytes", std::to_string(32 << 20));
  set(*conf, "max.partition.fetch.bytes", std::to_string(16 << 20));
  // a worker that died is noticed by the group within this time; its partitions move on
  set(*conf, "session.timeout.ms", "6000");
  set(*conf, "heartbeat.interval.ms", "1000");
  set(*conf, "fetch.wait.max.ms", "10");                     // latency: dispatch → worker
  set(*conf, "topic.metadata.refresh.interval.ms", "2000");  // topics created after subscribe
  std::string err;
  if (conf->set("event_cb", &logger(), err) != RdKafka::Conf::CONF_OK)
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

std::vector<std::pair<std::string, int>> consumer::assignment() {
  std::vector<RdKafka::TopicPartition*> parts;
  std::vector<std::pair<std::string, int>> out;
  if (impl_->c->assignment(parts) != RdKafka::ERR_NO_ERROR) return out;
  for (auto* p : parts) out.emplace_back(p->topic(), p->partition());
  RdKafka::TopicPartition::destroy(parts);
  return out;
}

bool consumer::commit(const message& m, bool sync) {
  std::unique_ptr<RdKafka::TopicPartition> tp(
      RdKafka::TopicPartition::create(m.topic, m.partition, m.offset + 1));
  std::vector<RdKafka::TopicPartition*> offsets{tp.get()};
  auto rc = sync ? impl_->c->commitSync(offsets) : impl_->c->commitAsync(offsets);
  if (rc == RdKafka::ERR_NO_ERROR) return true;
  spdlog::warn("event=kafka.commit_failed topic={} partition={} offset={} error=\"{}\"", m.topic,
               m.partition, m.offset, RdKafka::err2str(rc));
  return false;
}

}  // namespace pikoci::kafka
