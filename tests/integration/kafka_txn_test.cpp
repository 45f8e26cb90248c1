// Kafka transactions and topic administration (connectors/kafka/txn.hpp, admin.hpp) against the
// real broker of the tests: what a commit makes visible to read_committed readers, a second
// producer with the same transactional id fencing the first for good, an aborted batch never
// visible, tombstones, topic settings, offsets; the first commit of a producer told its topics;
// and the commit latency (reported, not asserted).
#include <doctest/doctest.h>
#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/admin.hpp"
#include "connectors/kafka/txn.hpp"
#include "tests/support/kafka_broker.hpp"

using namespace pikoci::test;
using namespace pikoci::kafka;
using namespace std::chrono_literals;

namespace {

using outcome = txn_result::outcome;

/// A topic or id no other test (or earlier run) uses.
std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

std::string bootstrap() {
  return kafka_broker::shared().bootstrap();
}

/// Creates `name` (replication 1) and checks it was created.
void create(admin& a, const std::string& name, int partitions,
            std::vector<std::pair<std::string, std::string>> configs = {}) {
  auto r = a.create_topics({{name, partitions, 1, std::move(configs)}}, 15s);
  INFO(r.error);
  REQUIRE(r.error.empty());
  REQUIRE(r.topics.size() == 1);
  CHECK(r.topics[0].created);
}

/// An initialised transactional producer.
std::unique_ptr<txn_producer> producer(const std::string& id) {
  auto p = std::make_unique<txn_producer>(txn_options{bootstrap(), id, 10s, {}});
  // the first init on a fresh broker waits for the transaction log to load
  auto r = p->init(30s);
  INFO(r.error);
  REQUIRE(r.ok());
  return p;
}

txn_record rec(const std::string& topic, int partition, const std::string& key,
               std::optional<std::string> value,
               std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {topic, partition, key, std::move(value), std::move(headers)};
}

/// One record as a reader sees it.
struct seen {
  int partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::optional<std::string> value;
  std::string headers;  // "name=value;" each
};

/// Everything in partitions [0, partitions) of `topic` up to their end, as a `read_committed`
/// (or read_uncommitted) reader sees it, partition by partition.
std::vector<seen> read_all(const std::string& topic, int partitions, bool committed = true,
                           const std::string& brokers = bootstrap()) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"bootstrap.servers", brokers},
           {"group.id", unique_name("txn-reader")},
           {"isolation.level", committed ? "read_committed" : "read_uncommitted"},
           {"enable.partition.eof", "true"},
           {"enable.auto.commit", "false"}})
    REQUIRE(conf->set(k, v, err) == RdKafka::Conf::CONF_OK);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  REQUIRE(c);
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < partitions; ++p)
    parts.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  REQUIRE(c->assign(parts) == RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(parts);
  std::vector<seen> out;
  int eofs = 0;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (eofs < partitions && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      ++eofs;
      continue;
    }
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    seen s{m->partition(), m->offset(), m->key() ? *m->key() : "", std::nullopt, ""};
    if (m->payload() != nullptr)
      s.value = std::string(static_cast<const char*>(m->payload()), m->len());
    if (auto* h = m->headers())
      for (const auto& one : h->get_all())
        s.headers += one.key() + "=" + std::string(one.value_string(), one.value_size()) + ";";
    out.push_back(s);
  }
  c->close();
  REQUIRE(eofs == partitions);
  std::stable_sort(out.begin(), out.end(),
                   [](const seen& a, const seen& b) { return a.partition < b.partition; });
  return out;
}

std::vector<std::string> values(const std::vector<seen>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.value.value_or("<null>"));
  return out;
}

/// p50 and p99 of `ms`, in milliseconds.
std::string percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[static_cast<std::size_t>(q * (ms.size() - 1))]; };
  return "p50 " + std::to_string(at(0.5)) + " ms, p99 " + std::to_string(at(0.99)) + " ms";
}

}  // namespace

TEST_SUITE("kafka.txn") {
  TEST_CASE("a commit is visible to read_committed readers, with offsets, keys and headers") {
    admin a(bootstrap());
    auto t1 = unique_name("txn-a"), t2 = unique_name("txn-b");
    create(a, t1, 2);
    create(a, t2, 1);
    auto p = producer(unique_name("txn-id"));
    auto r = p->commit({rec(t1, 0, "k0", "v0", {{"m", "node-1"}, {"e", "3"}}),
                        rec(t1, 1, "k1", "v1"), rec(t1, 1, "k2", "v2"), rec(t2, 0, "g", "global")},
                       10s);
    INFO(r.error);
    REQUIRE(r.ok());
    CHECK(r.last_offsets.at({t1, 0}) == 0);
    CHECK(r.last_offsets.at({t1, 1}) == 1);
    CHECK(r.last_offsets.at({t2, 0}) == 0);
    auto got = read_all(t1, 2);
    CHECK(values(got) == std::vector<std::string>{"v0", "v1", "v2"});
    CHECK(got[0].key == "k0");
    CHECK(got[0].headers == "m=node-1;e=3;");
    CHECK(values(read_all(t2, 1)) == std::vector<std::string>{"global"});
    // the commit marker takes an offset: the next record of partition 0 is at 2
    r = p->commit({rec(t1, 0, "k0", "v0'")}, 10s);
    REQUIRE(r.ok());
    CHECK(r.last_offsets.at({t1, 0}) == 2);
    CHECK(p->commit({}, 1s).ok());
  }

  TEST_CASE("a second producer with the same id fences the first: its commit is never applied") {
    admin a(bootstrap());
    auto t = unique_name("txn-fence");
    create(a, t, 2);
    auto id = unique_name("txn-id");
    auto first = producer(id);
    REQUIRE(first->commit({rec(t, 0, "a", "first-1")}, 10s).ok());
    auto second = producer(id);
    auto r = first->commit({rec(t, 0, "a", "zombie-0"), rec(t, 1, "b", "zombie-1")}, 10s);
    INFO(r.error);
    CHECK(r.status == outcome::fenced);
    CHECK(first->fenced());
    CHECK(first->commit({rec(t, 0, "a", "zombie-2")}, 10s).status == outcome::fenced);
    REQUIRE(second->commit({rec(t, 1, "b", "second-1")}, 10s).ok());
    CHECK(values(read_all(t, 2)) == std::vector<std::string>{"first-1", "second-1"});
    // a fresh instance fences the second in turn, which learns it at its next commit
    auto third = producer(id);
    CHECK(second->commit({rec(t, 0, "a", "zombie-3")}, 10s).status == outcome::fenced);
    REQUIRE(third->commit({rec(t, 0, "a", "third-1")}, 10s).ok());
    CHECK(values(read_all(t, 2)) == std::vector<std::string>{"first-1", "third-1", "second-1"});
  }

  TEST_CASE("an aborted batch is invisible to read_committed readers; the producer goes on") {
    admin a(bootstrap());
    auto t = unique_name("txn-abort");
    // the broker refuses a record over 2 KiB, after the batch's first record was written
    create(a, t, 2, {{"max.message.bytes", "2048"}});
    auto p = producer(unique_name("txn-id"));
    REQUIRE(p->commit({rec(t, 0, "k", "before")}, 10s).ok());
    auto r =
        p->commit({rec(t, 0, "k", "aborted-small"), rec(t, 1, "k", std::string(4096, 'x'))}, 10s);
    INFO(r.error);
    CHECK(r.status == outcome::abort);
    CHECK(!r.error.empty());
    // refused before it leaves (over the producer's own 16 MiB limit): aborted too
    r = p->commit({rec(t, 0, "k", "aborted-local"), rec(t, 0, "k", std::string(17 << 20, 'y'))},
                  10s);
    CHECK(r.status == outcome::abort);
    REQUIRE(p->commit({rec(t, 0, "k", "after")}, 10s).ok());
    CHECK(values(read_all(t, 2)) == std::vector<std::string>{"before", "after"});
    auto raw = values(read_all(t, 2, false));
    CHECK(std::count(raw.begin(), raw.end(), "aborted-small") == 1);  // written, then aborted
  }

  TEST_CASE("tombstones and the settings of a compacted topic") {
    admin a(bootstrap());
    auto t = unique_name("txn-compact");
    std::vector<std::pair<std::string, std::string>> settings{{"cleanup.policy", "compact"},
                                                              {"min.compaction.lag.ms", "0"},
                                                              {"segment.ms", "3600000"},
                                                              {"max.message.bytes", "16777216"},
                                                              {"delete.retention.ms", "86400000"}};
    create(a, t, 3, settings);
    auto conf = a.topic_configs(t, 10s);
    INFO(conf.error);
    REQUIRE(conf.error.empty());
    for (const auto& [k, v] : settings) CHECK(conf.configs[k] == v);
    // creating it again is fine and tells its partition count, whatever was asked
    auto again = a.create_topics({{t, 5, 1, {}}}, 10s);
    REQUIRE(again.error.empty());
    CHECK(!again.topics[0].created);
    CHECK(again.topics[0].partitions == 3);
    CHECK(a.partitions(t, 10s).count == 3);

    auto p = producer(unique_name("txn-id"));
    REQUIRE(p->commit({rec(t, 2, "build/p/j/1", "{}"), rec(t, 2, "build/p/j/2", "{}")}, 10s).ok());
    REQUIRE(p->commit({rec(t, 2, "build/p/j/1", std::nullopt)}, 10s).ok());
    auto got = read_all(t, 3);
    REQUIRE(got.size() == 3);
    CHECK(got[2].key == "build/p/j/1");
    CHECK(!got[2].value.has_value());
  }

  TEST_CASE("watermarks, offsets for a time, brokers and groups") {
    admin a(bootstrap());
    auto t = unique_name("txn-offsets");
    create(a, t, 2);
    auto w = a.watermarks(t, 0, 10s);
    INFO(w.error);
    REQUIRE(w.error.empty());
    CHECK(w.low == 0);
    CHECK(w.high == 0);
    auto p = producer(unique_name("txn-id"));
    REQUIRE(p->commit({rec(t, 0, "k", "old")}, 10s).ok());
    std::this_thread::sleep_for(50ms);
    auto between = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    std::this_thread::sleep_for(50ms);
    REQUIRE(p->commit({rec(t, 0, "k", "new")}, 10s).ok());
    // two records, two commit markers; the high watermark is the last stable offset, which
    // passes a transaction once its marker is written, shortly after the commit returns
    auto until = std::chrono::steady_clock::now() + 10s;
    while ((w = a.watermarks(t, 0, 10s)).high < 4 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(20ms);
    CHECK(w.high == 4);
    auto at = a.offsets_for_time(t, {0, 1}, between, 10s);
    INFO(at.error);
    REQUIRE(at.offsets.size() == 2);
    CHECK(at.offsets[0] == 2);  // "new"
    CHECK(at.offsets[1] == 0);  // nothing there: its end
    CHECK(a.offsets_for_time(t, {0}, between + 3600 * 1000, 10s).offsets[0] == 4);
    CHECK(a.brokers(10s).count == 1);
    CHECK(!a.partitions(unique_name("txn-missing"), 5s).error.empty());
    auto g = a.describe_group(unique_name("txn-nobody"), 10s);
    INFO(g.error);
    CHECK(g.error.empty());
    CHECK(g.members == 0);
  }

  TEST_CASE("a commit in doubt while the broker is away is resumed and ends one way") {
    kafka_broker b;  // its own: this test stops it
    std::string t = unique_name("txn-doubt");
    {
      admin a(b.bootstrap());
      REQUIRE(a.create_topics({{t, 1, 1, {}}}, 15s).error.empty());
    }
    txn_producer p(txn_options{b.bootstrap(), unique_name("txn-id"), 10s, {}});
    REQUIRE(p.init(30s).ok());
    REQUIRE(p.commit({rec(t, 0, "k", "before")}, 10s).ok());
    b.stop();
    auto r = p.commit({rec(t, 0, "k", "in-doubt")}, 2s);
    INFO(r.error);
    REQUIRE(r.status == outcome::retry);
    // nothing new while one is in doubt
    CHECK(p.commit({rec(t, 0, "k", "refused")}, 1s).status == outcome::retry);
    b.start();
    r = p.resume(30s);
    MESSAGE("resumed after the broker's return: " << std::string(to_string(r.status)) << " "
                                                  << r.error);
    REQUIRE(r.status != outcome::retry);
    std::vector<std::string> expected{"before"};
    if (r.ok()) expected.push_back("in-doubt");
    if (!p.fenced()) {
      REQUIRE(p.commit({rec(t, 0, "k", "after")}, 10s).ok());
      expected.push_back("after");
    }
    CHECK(values(read_all(t, 1, true, b.bootstrap())) == expected);
  }

  TEST_CASE("topics named to init() are looked up there: the first commit does not wait a second") {
    admin a(bootstrap());
    auto t = unique_name("txn-first");
    create(a, t, 2);
    auto first_commit = [&](std::vector<std::string> topics, int partition) {
      txn_producer p(txn_options{bootstrap(), unique_name("txn-id"), 10s, {}, std::move(topics)});
      auto r = p.init(30s);
      REQUIRE(r.ok());
      auto start = std::chrono::steady_clock::now();
      r = p.commit({rec(t, partition, "k", std::string("v"))}, 10s);
      REQUIRE(r.ok());
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - start)
          .count();
    };
    // unknown to the client, the topic waits for its once-a-second scan of unknown topics
    const auto cold = first_commit({}, 0);
    const auto warm = first_commit({t}, 1);
    MESSAGE("first commit: " << cold << " ms without the topic named, " << warm << " ms with");
    CHECK(warm < 500);
    CHECK(values(read_all(t, 2, true, bootstrap())).size() == 2);
  }

  TEST_CASE("commit latency (reported, not asserted)") {
    admin a(bootstrap());
    auto t = unique_name("txn-latency");
    create(a, t, 1, {{"cleanup.policy", "compact"}});
    auto p = producer(unique_name("txn-id"));
    auto run = [&](int records) {
      std::vector<txn_record> batch;
      for (int i = 0; i < records; ++i)
        batch.push_back(rec(t, 0, "build/p/j/" + std::to_string(i), std::string(300, 'r')));
      std::vector<double> ms;
      for (int i = 0; i < 200; ++i) {
        auto start = std::chrono::steady_clock::now();
        auto r = p->commit(batch, 10s);
        REQUIRE(r.ok());
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
      }
      return percentiles(ms);
    };
    auto one = run(1);
    auto fifty = run(50);
    MESSAGE("commit of 1 record: " << one << "; of 50 records: " << fifty);
  }
}
