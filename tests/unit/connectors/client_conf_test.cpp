// The Kafka clients' configuration: the latency settings are there (Nagle off, no linger, short
// fetch waits) and librdkafka accepts every setting; the hop histogram and its quantiles.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <librdkafka/rdkafkacpp.h>

#include "connectors/kafka/client.hpp"

using namespace pikoci;

namespace {

std::string value_of(const kafka::settings& s, const std::string& key) {
  std::string found;
  for (const auto& [k, v] : s)
    if (k == key) found = v;  // the last one wins, as in librdkafka
  return found;
}

/// Applies `s` to a librdkafka configuration and reads `key` back from it.
std::string applied(const kafka::settings& s, const std::string& key) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : s) {
    INFO(k << "=" << v);
    REQUIRE(conf->set(k, v, err) == RdKafka::Conf::CONF_OK);
  }
  std::string out;
  REQUIRE(conf->get(key, out) == RdKafka::Conf::CONF_OK);
  return out;
}

}  // namespace

TEST_SUITE("connectors.kafka_client") {
  TEST_CASE("every client disables Nagle's algorithm (librdkafka 2.0 leaves it on)") {
    auto p = kafka::producer_settings("127.0.0.1:9092");
    auto c = kafka::consumer_settings("127.0.0.1:9092", "g", true);
    CHECK(value_of(kafka::common_settings("b:1"), "socket.nagle.disable") == "true");
    CHECK(applied(p, "socket.nagle.disable") == "true");
    CHECK(applied(c, "socket.nagle.disable") == "true");
  }

  TEST_CASE("the producer sends at once, idempotent, acknowledged by all replicas") {
    auto p = kafka::producer_settings("127.0.0.1:9092");
    CHECK(applied(p, "linger.ms") == "0");
    CHECK(applied(p, "acks") == "-1");  // all
    CHECK(applied(p, "enable.idempotence") == "true");
    CHECK(applied(p, "message.timeout.ms") == "600000");
  }

  TEST_CASE("the consumer's fetch answers on the first byte, idles 100 ms, commits when told") {
    auto c = kafka::consumer_settings("127.0.0.1:9092", "pikoci.server", false);
    CHECK(applied(c, "group.id") == "pikoci.server");
    CHECK(applied(c, "auto.offset.reset") == "largest");  // latest
    CHECK(applied(c, "enable.auto.commit") == "false");
    CHECK(applied(c, "fetch.min.bytes") == "1");
    // the broker holds an empty fetch this long; one byte arriving answers it at once, so a
    // longer wait costs no latency, and 10 ms made every idle consumer a broker request 100
    // times a second
    CHECK(applied(c, "fetch.wait.max.ms") == "100");
    CHECK(applied(kafka::consumer_settings("b:1", "g", true), "auto.offset.reset") == "smallest");
  }

  TEST_CASE("hops are counted per topic in whole milliseconds; quantiles interpolate") {
    kafka::hop_meter hops;
    for (int i = 0; i < 98; ++i) hops.observe("p.events", 1000, 1001);  // 1 ms
    hops.observe("p.events", 1000, 1040);                               // 40 ms
    hops.observe("p.events", 1000, 990);                                // a clock ahead of ours: 0
    hops.observe("p.jobs", 5000, 5003);
    auto all = hops.snapshot();
    REQUIRE(all.size() == 2);
    const auto& events = all.at("p.events");
    CHECK(events.count() == 100);
    CHECK(events.sum() == doctest::Approx(0.098 + 0.040));
    CHECK(kafka::quantile(events, 0.5) <= 0.001);
    CHECK(kafka::quantile(events, 0.995) > 0.02);
    CHECK(kafka::quantile(events, 0.995) <= 0.05);
    CHECK(kafka::quantile(all.at("p.jobs"), 0.5) > 0.002);
    CHECK(kafka::quantile(domain::histogram(kafka::hop_meter::bounds()), 0.5) == 0);

    domain::metrics out;
    hops.add_to(out);
    auto text = out.render();
    CHECK(text.find("# TYPE pikoci_kafka_hop_seconds histogram") != std::string::npos);
    CHECK(text.find("pikoci_kafka_hop_seconds_count{topic=\"p.events\"} 100") != std::string::npos);
    CHECK(text.find("pikoci_kafka_hop_seconds_bucket{topic=\"p.jobs\",le=\"0.005\"} 1") !=
          std::string::npos);
  }
}
