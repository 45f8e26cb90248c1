// The two Kafka readers the cluster stands on, against a real broker of their own (its
// group.min.session.timeout.ms lowered to 1 s, which the shared broker cannot be given):
// connectors/kafka/group (a group member: cooperative-sticky moves, a clean handoff with its
// offsets committed, a killed member's partitions gained by the survivor, a paused one told it
// lost them) and connectors/kafka/tail (catch-up in batches, tombstones, headers, aborted
// transactions skipped, offsets outside the log reported, following).
//
// Members that must die or freeze run in a child process: this binary again, running only the
// skipped case "group member in a child process" (--no-skip), told what to join by environment
// variables, and printing each callback as a line.
#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/admin.hpp"
#include "connectors/kafka/client.hpp"
#include "connectors/kafka/group.hpp"
#include "connectors/kafka/tail.hpp"
#include "tests/support/kafka_broker.hpp"
#include "tests/support/process.hpp"

using namespace pikoci;
using namespace pikoci::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using parts_t = std::vector<std::int32_t>;

namespace {

/// This file's broker: the group timeouts of the tests are below the broker's default minimum
/// session timeout (6 s), so the setting needs a restart of a broker of our own.
kafka_broker& group_broker() {
  static std::unique_ptr<kafka_broker> broker = [] {
    auto b = std::make_unique<kafka_broker>();
    b->set_extra_properties("group.min.session.timeout.ms=1000\n");
    b->stop();
    b->start();
    return b;
  }();
  return *broker;
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(ms);
}

std::string make_topic(const std::string& brokers, int partitions) {
  auto topic = unique_name("pikoci-group-it");
  auto err = kafka::ensure_topics(brokers, {topic}, partitions, 30s);
  INFO(err);
  REQUIRE(err.empty());
  return topic;
}

std::string text(const parts_t& ks) {
  std::string out;
  for (auto k : ks) out += (out.empty() ? "" : ",") + std::to_string(k);
  return out;
}

/// One record to produce.
struct out_record {
  std::int32_t partition = 0;
  std::string key;
  std::optional<std::string> value;
  kafka::record_headers headers;
};

/// A producer (idempotent, or transactional with `txn_id`) that waits for its deliveries.
class test_producer {
 public:
  explicit test_producer(const std::string& brokers, const std::string& txn_id = "") {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    std::map<std::string, std::string> settings{{"bootstrap.servers", brokers},
                                                {"enable.idempotence", "true"},
                                                {"linger.ms", "5"},
                                                {"broker.address.family", "v4"}};
    if (!txn_id.empty()) settings["transactional.id"] = txn_id;
    for (const auto& [k, v] : settings) REQUIRE(conf->set(k, v, err) == RdKafka::Conf::CONF_OK);
    p_.reset(RdKafka::Producer::create(conf.get(), err));
    INFO(err);
    REQUIRE(p_ != nullptr);
    if (!txn_id.empty()) expect_ok(p_->init_transactions(30000));
  }
  ~test_producer() { p_->flush(5000); }

  void send(const std::string& topic, const out_record& r) {
    RdKafka::Headers* headers = nullptr;
    if (!r.headers.empty()) {
      headers = RdKafka::Headers::create();
      for (const auto& [k, v] : r.headers) headers->add(k, v.data(), v.size());
    }
    auto rc =
        p_->produce(topic, r.partition, RdKafka::Producer::RK_MSG_COPY,
                    r.value ? const_cast<char*>(r.value->data()) : nullptr,
                    r.value ? r.value->size() : 0, r.key.data(), r.key.size(), 0, headers, nullptr);
    if (rc != RdKafka::ERR_NO_ERROR) delete headers;  // owned by librdkafka only on success
    INFO(RdKafka::err2str(rc));
    REQUIRE(rc == RdKafka::ERR_NO_ERROR);
  }
  void flush() {
    REQUIRE(p_->flush(30000) == RdKafka::ERR_NO_ERROR);
    REQUIRE(p_->outq_len() == 0);
  }
  void begin() { expect_ok(p_->begin_transaction()); }
  void commit() { expect_ok(p_->commit_transaction(30000)); }
  void abort() { expect_ok(p_->abort_transaction(30000)); }

 private:
  static void expect_ok(RdKafka::Error* e) {
    std::unique_ptr<RdKafka::Error> owned(e);
    INFO((e ? e->str() : ""));
    REQUIRE(e == nullptr);
  }
  std::unique_ptr<RdKafka::Producer> p_;
};

/// Moves the log start of `topic`/`partition` to `offset` (DeleteRecords).
void delete_records(const std::string& brokers, const std::string& topic, std::int32_t partition,
                    std::int64_t offset) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr) ==
          RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  REQUIRE(rk != nullptr);
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offsets, topic.c_str(), partition)->offset = offset;
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(offsets);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_DeleteRecords(rk, &del, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  std::string error = ev == nullptr ? "no answer" : "";
  if (ev != nullptr && rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR)
    error = rd_kafka_event_error_string(ev);
  if (ev != nullptr && error.empty()) {
    const rd_kafka_topic_partition_list_t* done =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
    if (done->cnt != 1 || done->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
      error = "DeleteRecords refused";
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_DeleteRecords_destroy(del);
  rd_kafka_topic_partition_list_destroy(offsets);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  INFO(error);
  REQUIRE(error.empty());
}

/// Set in the child process: callbacks are printed as lines for the parent to wait for.
std::atomic<bool> print_events{false};

/// Runs a group member and records what it is told: restores at once (ready from the committed
/// offset), hands off after `handoff_delay` from another thread (never when negative).
class recorder {
 public:
  struct event {
    std::string what;  // gained, revoking, lost
    parts_t parts;
    steady::time_point at;
  };

  recorder(const std::string& brokers, const std::string& group, const std::string& topic,
           std::chrono::milliseconds session = 6000ms,
           std::chrono::milliseconds handoff_delay = 0ms,
           std::chrono::milliseconds handoff_wait = 5000ms)
      : handoff_delay_(handoff_delay) {
    kafka::group_callbacks cb;
    cb.on_gained = [this](const parts_t& ks) {
      note("gained", ks);
      std::lock_guard<std::mutex> lock(mu_);
      if (member_ == nullptr) {
        deferred_.insert(deferred_.end(), ks.begin(), ks.end());
      } else {
        for (auto k : ks) member_->ready(k);
      }
    };
    cb.on_revoking = [this](const parts_t& ks) {
      note("revoking", ks);
      if (handoff_delay_ < 0ms) return;  // never hands off
      if (handoff_delay_ == 0ms) {
        handed_off(ks);
        return;
      }
      std::thread([this, ks] {
        std::this_thread::sleep_for(handoff_delay_);
        handed_off(ks);
      }).detach();
    };
    cb.on_lost = [this](const parts_t& ks) { note("lost", ks); };
    cb.on_message = [this](const kafka::record& r) {
      std::lock_guard<std::mutex> lock(mu_);
      messages_[r.partition].push_back(r.offset);
    };
    auto m = std::make_unique<kafka::group_member>(
        kafka::group_options{brokers, group, topic, session, handoff_wait}, std::move(cb));
    std::lock_guard<std::mutex> lock(mu_);
    member_ = std::move(m);
    for (auto k : deferred_) member_->ready(k);
    deferred_.clear();
  }
  ~recorder() { close(); }

  void close() {
    std::unique_ptr<kafka::group_member> m;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!member_) return;
      m = std::move(member_);
      closing_ = m.get();
    }
    m->close();  // runs the last revoke, whose handoff reaches the member through closing_
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = nullptr;
  }

  parts_t assignment() {
    std::lock_guard<std::mutex> lock(mu_);
    return member_ ? member_->assignment() : parts_t{};
  }
  std::vector<event> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::map<std::int32_t, std::vector<std::int64_t>> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  std::size_t message_count() {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    for (const auto& [k, v] : messages_) n += v.size();
    return n;
  }
  /// The partitions this member was told about in `what` events.
  std::set<std::int32_t> told(const std::string& what) {
    std::set<std::int32_t> out;
    for (const auto& e : events())
      if (e.what == what) out.insert(e.parts.begin(), e.parts.end());
    return out;
  }
  std::optional<steady::time_point> first(const std::string& what, std::int32_t k) {
    for (const auto& e : events())
      if (e.what == what && std::count(e.parts.begin(), e.parts.end(), k)) return e.at;
    return std::nullopt;
  }
  std::string history() {
    std::string out;
    for (const auto& e : events()) out += e.what + " " + text(e.parts) + "\n";
    return out;
  }

 private:
  void note(const std::string& what, const parts_t& ks) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back({what, ks, steady::now()});
    if (print_events) std::cout << "group-member " << what << " " << text(ks) << std::endl;
  }
  void handed_off(const parts_t& ks) {
    std::lock_guard<std::mutex> lock(mu_);
    if (member_)
      member_->handed_off(ks);
    else if (closing_ != nullptr)
      closing_->handed_off(ks);
  }

  std::chrono::milliseconds handoff_delay_;
  std::mutex mu_;
  std::unique_ptr<kafka::group_member> member_;
  kafka::group_member* closing_ = nullptr;  // during close()
  parts_t deferred_;                        // gained before the member was constructed
  std::vector<event> events_;
  std::map<std::int32_t, std::vector<std::int64_t>> messages_;
};

template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout) {
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

/// True when the members' assignments cover `total` partitions, each exactly once.
bool covers(const std::vector<recorder*>& members, int total) {
  std::multiset<std::int32_t> all;
  for (auto* m : members)
    for (auto k : m->assignment()) all.insert(k);
  if (static_cast<int>(all.size()) != total) return false;
  for (int k = 0; k < total; ++k)
    if (all.count(k) != 1) return false;
  return true;
}

std::string self_exe() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  REQUIRE(n > 0);
  return std::string(buf, static_cast<std::size_t>(n));
}

/// A group member in a child process (the skipped case at the end of this file).
std::unique_ptr<child_process> child_member(const std::string& brokers, const std::string& group,
                                            const std::string& topic,
                                            std::chrono::milliseconds session) {
  return std::make_unique<child_process>(
      std::vector<std::string>{self_exe(), "-tc=group member in a child process", "--no-skip"},
      std::map<std::string, std::string>{
          {"PIKOCI_GROUP_CHILD_BROKERS", brokers},
          {"PIKOCI_GROUP_CHILD_GROUP", group},
          {"PIKOCI_GROUP_CHILD_TOPIC", topic},
          {"PIKOCI_GROUP_CHILD_SESSION_MS", std::to_string(session.count())}});
}

/// Kills a member in a child process and measures how long until the survivor gains its
/// partitions.
std::chrono::milliseconds failover(std::chrono::milliseconds session) {
  auto& broker = group_broker();
  auto topic = make_topic(broker.bootstrap(), 6);
  auto group = unique_name("pikoci-group");
  auto child = child_member(broker.bootstrap(), group, topic, session);
  INFO("child:\n" << child->tail());
  REQUIRE(child->wait_for_line("group-member gained", 60s));
  recorder survivor(broker.bootstrap(), group, topic, session);
  REQUIRE(eventually([&] { return survivor.assignment().size() == 3; }, 60s));
  std::this_thread::sleep_for(500ms);  // the child's rebalance callback is done
  auto own = survivor.assignment();
  parts_t childs;
  for (int k = 0; k < 6; ++k)
    if (!std::count(own.begin(), own.end(), k)) childs.push_back(k);

  auto killed = steady::now();
  ::kill(child->pid(), SIGKILL);
  child->wait_exit(10s);
  INFO("survivor:\n" << survivor.history());
  REQUIRE(eventually([&] { return survivor.assignment().size() == 6; }, 60s));
  std::optional<steady::time_point> gained;
  for (auto k : childs) {
    auto at = survivor.first("gained", k);
    REQUIRE(at);
    if (!gained || *at > *gained) gained = at;
  }
  CHECK(survivor.told("revoking").empty());  // the survivor kept its own partitions throughout
  CHECK(survivor.told("lost").empty());
  return std::chrono::duration_cast<std::chrono::milliseconds>(*gained - killed);
}

}  // namespace

TEST_SUITE("kafka.group") {
  TEST_CASE("a third member takes some partitions; the others are never revoked") {
    auto& broker = group_broker();
    auto topic = make_topic(broker.bootstrap(), 6);
    auto group = unique_name("pikoci-group");
    recorder a(broker.bootstrap(), group, topic);
    recorder b(broker.bootstrap(), group, topic);
    INFO("a:\n" << a.history() << "b:\n" << b.history());
    REQUIRE(eventually([&] { return covers({&a, &b}, 6) && a.assignment().size() == 3; }, 60s));
    auto a_before = a.assignment();
    auto b_before = b.assignment();
    auto a_events = a.events().size();
    auto b_events = b.events().size();

    recorder c(broker.bootstrap(), group, topic);
    INFO("c:\n" << c.history());
    REQUIRE(eventually(
        [&] {
          return covers({&a, &b, &c}, 6) && a.assignment().size() == 2 &&
                 b.assignment().size() == 2 && c.assignment().size() == 2;
        },
        60s));
    std::this_thread::sleep_for(1s);  // no further move follows
    CHECK(covers({&a, &b, &c}, 6));

    // Each of a and b gave exactly one partition to c, through an orderly revoke, and no
    // partition it kept was revoked, lost, or gained again.
    auto moved = c.told("gained");
    CHECK(moved.size() == 2);
    for (auto* m : {&a, &b}) {
      auto evs = m->events();
      auto& before = m == &a ? a_before : b_before;
      auto since = m == &a ? a_events : b_events;
      parts_t revoked;
      for (std::size_t i = since; i < evs.size(); ++i) {
        CHECK_MESSAGE(evs[i].what == "revoking", evs[i].what << " " << text(evs[i].parts));
        revoked.insert(revoked.end(), evs[i].parts.begin(), evs[i].parts.end());
      }
      CHECK(revoked.size() == 1);
      auto now = m->assignment();
      for (auto k : now) {
        CHECK(std::count(before.begin(), before.end(), k) == 1);
        CHECK(std::count(revoked.begin(), revoked.end(), k) == 0);
      }
      for (auto k : revoked) CHECK(moved.count(k) == 1);
    }
    CHECK(a.told("lost").empty());
    CHECK(b.told("lost").empty());

    // Records flow to whoever owns their partition now.
    test_producer p(broker.bootstrap());
    for (int k = 0; k < 6; ++k) p.send(topic, {k, "key", std::string("value"), {}});
    p.flush();
    CHECK(eventually([&] { return a.message_count() + b.message_count() + c.message_count() == 6; },
                     30s));
  }

  TEST_CASE("a member closed cleanly hands off; the next owner resumes after its commits") {
    auto& broker = group_broker();
    auto topic = make_topic(broker.bootstrap(), 6);
    auto group = unique_name("pikoci-group");
    test_producer p(broker.bootstrap());
    auto b = std::make_unique<recorder>(broker.bootstrap(), group, topic, 6000ms, 300ms);
    recorder a(broker.bootstrap(), group, topic);
    INFO("a:\n" << a.history() << "b:\n" << b->history());
    REQUIRE(eventually(
        [&] {
          return covers({&a, b.get()}, 6) && a.assignment().size() == 3;
        },
        60s));
    auto b_parts = b->assignment();
    for (int i = 0; i < 10; ++i)
      for (int k = 0; k < 6; ++k) p.send(topic, {k, "k" + std::to_string(i), "v", {}});
    p.flush();
    REQUIRE(eventually([&] { return a.message_count() + b->message_count() == 60; }, 30s));
    std::this_thread::sleep_for(1500ms);  // a background commit has gone out; close commits too

    auto closing = steady::now();
    b->close();  // b hands off 300 ms after on_revoking, from another thread
    auto closed = steady::now();
    CHECK(closed - closing >= 300ms);
    CHECK(closed - closing < 5s);  // not the handoff timeout
    auto b_events = b->events();
    REQUIRE(!b_events.empty());
    CHECK(b_events.back().what == "revoking");
    CHECK(b_events.back().parts == b_parts);
    CHECK(b->told("lost").empty());
    REQUIRE(eventually([&] { return a.assignment().size() == 6; }, 30s));
    for (auto k : b_parts) {
      auto gained = a.first("gained", k);
      REQUIRE(gained);
      CHECK(*gained >= b_events.back().at);
    }

    // a resumes b's partitions after b's last commit: no record twice, none skipped.
    for (int k = 0; k < 6; ++k) p.send(topic, {k, "after", "v", {}});
    p.flush();
    REQUIRE(eventually([&] { return a.message_count() == 30 + 6; }, 30s));
    std::this_thread::sleep_for(500ms);
    auto got = a.messages();
    for (auto k : b_parts) {
      INFO("partition " << k);
      CHECK(got[k] == std::vector<std::int64_t>{10});
    }
    CHECK(a.message_count() == 36);
  }

  TEST_CASE("a handoff that does not come in time is a loss") {
    auto& broker = group_broker();
    auto topic = make_topic(broker.bootstrap(), 2);
    auto group = unique_name("pikoci-group");
    recorder slow(broker.bootstrap(), group, topic, 6000ms, -1ms, 1000ms);  // never hands off
    INFO("slow:\n" << slow.history());
    REQUIRE(eventually([&] { return slow.assignment().size() == 2; }, 60s));
    auto closing = steady::now();
    slow.close();
    auto took = steady::now() - closing;
    CHECK(took >= 1000ms);
    CHECK(took < 5s);
    auto evs = slow.events();
    REQUIRE(evs.size() == 3);
    CHECK(evs[1].what == "revoking");
    CHECK(evs[2].what == "lost");
    CHECK(evs[2].parts == parts_t{0, 1});
  }

  TEST_CASE("a killed member's partitions go to the survivor (failover time measured)") {
    for (auto session : {1000ms, 6000ms}) {
      auto took = failover(session);
      MESSAGE("member killed → survivor's on_gained, session.timeout.ms=" << session.count() << ": "
                                                                          << took.count() << " ms");
      CHECK(took >= session / 2);
      CHECK(took < session + 20s);
    }
  }

  TEST_CASE("a member paused past its session timeout is told it lost its partitions") {
    auto& broker = group_broker();
    auto topic = make_topic(broker.bootstrap(), 6);
    auto group = unique_name("pikoci-group");
    auto child = child_member(broker.bootstrap(), group, topic, 1000ms);
    REQUIRE(child->wait_for_line("group-member gained", 60s));
    recorder survivor(broker.bootstrap(), group, topic, 1000ms);
    INFO("child:\n" << child->tail() << "survivor:\n" << survivor.history());
    REQUIRE(eventually([&] { return survivor.assignment().size() == 3; }, 60s));
    REQUIRE(child->wait_for_line("group-member revoking", 10s));  // gave 3 of its 6 to the survivor
    std::this_thread::sleep_for(500ms);
    auto before = child->output();

    ::kill(child->pid(), SIGSTOP);
    REQUIRE(eventually([&] { return survivor.assignment().size() == 6; }, 30s));
    std::this_thread::sleep_for(1s);
    ::kill(child->pid(), SIGCONT);
    REQUIRE(child->wait_for_line("group-member lost", 30s));
    auto after = child->output().substr(before.size());
    auto lost_at = after.find("group-member lost");
    CHECK(after.substr(0, lost_at).find("group-member revoking") == std::string::npos);
    child->stop(SIGKILL);
  }

  TEST_CASE("a tail reads a partition in batches: tombstones, headers, no aborted records") {
    auto& broker = group_broker();
    auto topic = make_topic(broker.bootstrap(), 1);
    const int n = 5000;
    {
      test_producer p(broker.bootstrap());
      for (int i = 0; i < n; ++i) {
        out_record r{0, "key-" + std::to_string(i), "value-" + std::to_string(i), {}};
        if (i % 1000 == 7) r.headers = {{"c", std::to_string(i)}, {"empty", ""}};
        p.send(topic, r);
      }
      p.send(topic, {0, "key-3", std::nullopt, {{"m", "member"}}});  // a tombstone
      p.flush();
    }
    kafka::tail t(broker.bootstrap(), topic, 0);
    std::vector<kafka::record> got;
    std::vector<std::size_t> batches;
    auto sink = [&](std::vector<kafka::record>&& b) {
      batches.push_back(b.size());
      for (auto& r : b) got.push_back(std::move(r));
    };
    auto r = t.catch_up(0, sink, 1000);
    INFO((r.error ? r.error->message : ""));
    REQUIRE(r.ok());
    CHECK(r.next == n + 1);
    CHECK(r.records == n + 1);
    REQUIRE(got.size() == n + 1);
    CHECK(batches.size() >= 6);
    CHECK(*std::max_element(batches.begin(), batches.end()) <= 1000);
    for (int i = 0; i < n; ++i) {
      REQUIRE(got[i].offset == i);
      REQUIRE(got[i].key == "key-" + std::to_string(i));
      REQUIRE(got[i].value == "value-" + std::to_string(i));
    }
    CHECK(got[1007].headers == kafka::record_headers{{"c", "1007"}, {"empty", ""}});
    CHECK(got[1008].headers.empty());
    CHECK(got[n].key == "key-3");
    CHECK_FALSE(got[n].value.has_value());
    CHECK(got[n].headers == kafka::record_headers{{"m", "member"}});

    // nothing new: at once, nothing read
    got.clear();
    auto again = t.catch_up(r.next, sink, 1000, 10s);
    CHECK(again.ok());
    CHECK(again.next == r.next);
    CHECK(got.empty());

    // from the middle, in batches of 300
    batches.clear();
    auto middle = t.catch_up(4500, sink, 300);
    CHECK(middle.ok());
    CHECK(middle.records == 501);
    CHECK(batches == std::vector<std::size_t>{300, 201});

    // past the end, and below a log start that moved
    auto past = t.catch_up(n + 100, sink);
    REQUIRE(past.error);
    CHECK(past.error->kind == kafka::tail_error::out_of_range);
    CHECK(past.error->log_end == n + 1);
    delete_records(broker.bootstrap(), topic, 0, 100);
    auto below = t.catch_up(0, sink);
    REQUIRE(below.error);
    CHECK(below.error->kind == kafka::tail_error::out_of_range);
    CHECK(below.error->log_start == 100);

    // aborted transactional records are never read; commit markers are passed over
    {
      test_producer txn(broker.bootstrap(), unique_name("pikoci-group-txn"));
      txn.begin();
      for (int i = 0; i < 5; ++i) txn.send(topic, {0, "aborted", std::string("x"), {}});
      txn.flush();  // in the log before the abort (an abort drops what is still queued)
      txn.abort();
      txn.begin();
      for (int i = 0; i < 2; ++i) txn.send(topic, {0, "committed", std::string("y"), {}});
      txn.commit();
    }
    // The coordinator writes the commit and abort markers just after the commit returns: the
    // end a read_committed reader sees (the last stable offset) moves past them soon after.
    const auto txn_end = r.next + 5 + 1 + 2 + 1;
    CHECK(eventually(
        [&] {
          return t.watermarks().value_or(std::pair{0L, 0L}).second == txn_end;
        },
        20s));
    got.clear();
    auto txns = t.catch_up(r.next, sink);
    auto marks = t.watermarks();
    REQUIRE(marks);
    INFO((txns.error ? txns.error->message : "")
         << " next " << txns.next << " log [" << marks->first << ", " << marks->second << ")");
    REQUIRE(txns.ok());
    REQUIRE(got.size() == 2);
    CHECK(got[0].key == "committed");
    CHECK(got[1].key == "committed");
    CHECK(txns.next == marks->second);  // past the commit marker
    CHECK(txns.next == txn_end);

    // following: records as they come, then stop() says where it got to
    std::mutex mu;
    std::vector<std::string> followed;
    t.follow(
        txns.next,
        [&](kafka::record&& rec) {
          std::lock_guard<std::mutex> lock(mu);
          followed.push_back(rec.key);
        },
        [](const kafka::tail_error&) {});
    {
      test_producer p(broker.bootstrap());
      for (int i = 0; i < 3; ++i) p.send(topic, {0, "live-" + std::to_string(i), "v", {}});
      p.flush();
    }
    CHECK(eventually(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return followed.size() == 3;
        },
        20s));
    CHECK(t.stop() == txns.next + 3);
    CHECK(followed == std::vector<std::string>{"live-0", "live-1", "live-2"});

    // following from below the log start is reported once
    std::atomic<int> errors{0};
    std::atomic<std::int64_t> start{-1};
    t.follow(
        0, [](kafka::record&&) {},
        [&](const kafka::tail_error& e) {
          if (e.kind == kafka::tail_error::out_of_range) start = e.log_start;
          ++errors;
        });
    CHECK(eventually([&] { return errors.load() == 1; }, 20s));
    t.stop();
    CHECK(errors.load() == 1);
    CHECK(start.load() == 100);
  }

  // Not run by the suite: the other cases start it in a child process (--no-skip) as a member
  // that can be killed or paused; it prints each callback as a line.
  TEST_CASE("group member in a child process" * doctest::skip()) {
    auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return std::string(v == nullptr ? "" : v);
    };
    auto brokers = env("PIKOCI_GROUP_CHILD_BROKERS");
    REQUIRE(!brokers.empty());
    print_events = true;
    recorder member(brokers, env("PIKOCI_GROUP_CHILD_GROUP"), env("PIKOCI_GROUP_CHILD_TOPIC"),
                    std::chrono::milliseconds(std::stoll(env("PIKOCI_GROUP_CHILD_SESSION_MS"))));
    std::this_thread::sleep_for(180s);  // until killed
  }
}
