// The real Kafka broker of the tests (tests/support/kafka_broker.hpp, scripts/kafka-broker.sh)
// driven with librdkafka: an idempotent producer and a consumer group against the shared broker,
// and a private broker stopped and started again on the same directory and port that keeps what
// it acknowledged.
#include <doctest/doctest.h>
#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/kafka_broker.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

/// librdkafka's log and error events, kept for failure messages instead of going to stderr.
class event_log : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& e) override {
    if (e.type() != RdKafka::Event::EVENT_LOG && e.type() != RdKafka::Event::EVENT_ERROR) return;
    std::lock_guard<std::mutex> lock(mu_);
    text_ +=
        (e.type() == RdKafka::Event::EVENT_ERROR ? "error " + RdKafka::err2str(e.err()) : e.fac()) +
        ": " + e.str() + "\n";
  }
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

/// Counts delivery reports.
class delivery_log : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered_;
    } else {
      failures_ += m.errstr() + "\n";
    }
  }
  int delivered() const {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_;
  }
  std::string failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  mutable std::mutex mu_;
  int delivered_ = 0;
  std::string failures_;
};

std::unique_ptr<RdKafka::Conf> make_conf(const std::map<std::string, std::string>& settings,
                                         event_log& events) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : settings) {
    INFO(k << "=" << v << ": " << err);
    REQUIRE(conf->set(k, v, err) == RdKafka::Conf::CONF_OK);
  }
  REQUIRE(conf->set("event_cb", &events, err) == RdKafka::Conf::CONF_OK);
  return conf;
}

/// A topic or group name no other test (or earlier run) uses.
std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

/// An idempotent producer (acks=all) that waits for its messages' delivery reports.
class producer {
 public:
  explicit producer(const std::string& bootstrap) {
    auto conf = make_conf({{"bootstrap.servers", bootstrap},
                           {"enable.idempotence", "true"},
                           {"acks", "all"},
                           {"linger.ms", "5"},
                           {"message.timeout.ms", "60000"}},
                          events_);
    std::string err;
    REQUIRE(conf->set("dr_cb", &deliveries_, err) == RdKafka::Conf::CONF_OK);
    producer_.reset(RdKafka::Producer::create(conf.get(), err));
    INFO(err);
    REQUIRE(producer_ != nullptr);
  }
  ~producer() {
    if (producer_) producer_->flush(5000);
  }

  void send(const std::string& topic, const std::string& key, const std::string& value) {
    auto err = producer_->produce(topic, RdKafka::Topic::PARTITION_UA,
                                  RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                                  value.size(), key.data(), key.size(), 0, nullptr);
    INFO(RdKafka::err2str(err));
    REQUIRE(err == RdKafka::ERR_NO_ERROR);
  }
  /// Waits until every message sent is acknowledged (or failed); true when none is left.
  bool flush(std::chrono::milliseconds timeout) {
    return producer_->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR &&
           producer_->outq_len() == 0;
  }
  int delivered() const { return deliveries_.delivered(); }
  std::string failures() const { return deliveries_.failures(); }
  std::string log() const { return events_.text(); }

 private:
  event_log events_;
  delivery_log deliveries_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

struct received {
  std::string key;
  std::string value;
  int64_t offset = -1;
};

/// Consumes `topic` from the earliest offset in a new consumer group until `count` messages came
/// (then `settle` more, to see duplicates) or `timeout` passed.
std::vector<received> consume(const std::string& bootstrap, const std::string& topic,
                              std::size_t count, std::chrono::milliseconds timeout,
                              std::string& log, std::chrono::milliseconds settle = 0ms) {
  event_log events;
  auto conf = make_conf({{"bootstrap.servers", bootstrap},
                         {"group.id", unique_name("pikoci-it-group")},
                         {"auto.offset.reset", "earliest"},
                         {"enable.auto.commit", "true"}},
                        events);
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  INFO(err);
  REQUIRE(consumer != nullptr);
  REQUIRE(consumer->subscribe({topic}) == RdKafka::ERR_NO_ERROR);
  std::vector<received> out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<std::chrono::steady_clock::time_point> settled;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline || (settled && now >= *settled)) break;
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      received r;
      if (m->key() != nullptr) r.key = *m->key();
      r.value.assign(static_cast<const char*>(m->payload()), m->len());
      r.offset = m->offset();
      out.push_back(std::move(r));
      if (out.size() >= count && !settled) settled = std::chrono::steady_clock::now() + settle;
    } else if (m->err() != RdKafka::ERR__TIMED_OUT && m->err() != RdKafka::ERR__PARTITION_EOF) {
      log += "consume: " + m->errstr() + "\n";
    }
  }
  consumer->close();
  log += events.text();
  return out;
}

}  // namespace

TEST_SUITE("kafka") {
  TEST_CASE("an idempotent producer's messages come back through a consumer group") {
    auto& broker = kafka_broker::shared();
    REQUIRE(broker.running());
    REQUIRE(&broker == &kafka_broker::shared());
    auto topic = unique_name("pikoci-it");
    const int n = 5;

    producer p(broker.bootstrap());
    for (int i = 0; i < n; ++i)
      p.send(topic, "key-" + std::to_string(i), "message " + std::to_string(i));
    INFO("producer log:\n" << p.log() << "broker log:\n" << broker.log_tail());
    REQUIRE(p.flush(30s));
    CHECK(p.failures() == "");
    REQUIRE(p.delivered() == n);

    std::string log;
    auto got = consume(broker.bootstrap(), topic, n, 30s, log);
    INFO("consumer log:\n" << log);
    REQUIRE(got.size() == n);
    for (int i = 0; i < n; ++i) {
      CHECK(got[i].key == "key-" + std::to_string(i));
      CHECK(got[i].value == "message " + std::to_string(i));
      CHECK(got[i].offset == i);
    }
  }

  TEST_CASE("a broker stopped and started again on its directory keeps acknowledged messages") {
    kafka_broker broker;  // private: the shared one is never stopped
    auto bootstrap = broker.bootstrap();
    auto topic = unique_name("pikoci-it-restart");

    producer p(bootstrap);
    p.send(topic, "k", "before restart");
    INFO("producer log:\n" << p.log() << "broker log:\n" << broker.log_tail());
    REQUIRE(p.flush(30s));
    REQUIRE(p.delivered() == 1);

    broker.stop();
    CHECK_FALSE(broker.running());
    broker.start();
    REQUIRE(broker.running());
    CHECK(broker.bootstrap() == bootstrap);

    // The producer that lived through the restart reconnects on the same address.
    p.send(topic, "k", "after restart");
    REQUIRE(p.flush(60s));
    CHECK(p.failures() == "");
    REQUIRE(p.delivered() == 2);

    std::string log;
    auto got = consume(bootstrap, topic, 2, 30s, log, 1s);
    INFO("consumer log:\n" << log);
    REQUIRE(got.size() == 2);  // and no duplicate
    CHECK(got[0].value == "before restart");
    CHECK(got[1].value == "after restart");
  }
}
