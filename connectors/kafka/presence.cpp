#include "connectors/kafka/presence.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include "connectors/kafka/admin.hpp"
#include "connectors/kafka/rdkafka.hpp"
#include "domain/text.hpp"

namespace pikoci::kafka {
namespace {

using namespace std::chrono_literals;

/// Hellos older than this are not read at start: a member is live for 3 s after its last one.
constexpr auto history = 10s;
constexpr auto retention = std::chrono::milliseconds(1h);

domain::wall_ms wall_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A consumer of `<prefix>.servers` outside any group, positioned at the first hello of the last
/// `history`.
std::unique_ptr<RdKafka::KafkaConsumer> tail_of(const std::string& brokers,
                                                const std::string& topic,
                                                const std::string& member_id) {
  auto conf = base_conf(brokers);
  std::string err;
  // assign() only: the group id is never joined nor committed to
  for (const auto& [key, value] :
       {std::pair<std::string, std::string>{"group.id", "pikoci-presence-" + member_id},
        {"enable.auto.commit", "false"},
        {"fetch.wait.max.ms", "100"}})
    if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK)
      throw std::runtime_error("kafka presence " + key + ": " + err);
  if (conf->set("event_cb", &logger(), err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka presence: " + err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) throw std::runtime_error("kafka presence: " + err);
  std::unique_ptr<RdKafka::TopicPartition> tp(RdKafka::TopicPartition::create(topic, 0));
  std::vector<RdKafka::TopicPartition*> parts{tp.get()};
  // a topic created moments ago is unknown to the brokers' metadata for a while
  auto until = std::chrono::steady_clock::now() + 10s;
  auto rc = RdKafka::ERR_NO_ERROR;
  do {
    tp->set_offset(wall_now() - std::chrono::milliseconds(history).count());
    rc = c->offsetsForTimes(parts, 5000);
    if (rc == RdKafka::ERR_NO_ERROR) rc = tp->err();
    if (rc == RdKafka::ERR_NO_ERROR) break;
    std::this_thread::sleep_for(200ms);
  } while (std::chrono::steady_clock::now() < until);
  if (rc != RdKafka::ERR_NO_ERROR)
    throw std::runtime_error("cannot find the recent hellos in " + topic + ": " +
                             RdKafka::err2str(rc));
  // no hello that recent: from the end
  if (tp->offset() < 0) tp->set_offset(RdKafka::Topic::OFFSET_END);
  rc = c->assign(parts);
  if (rc != RdKafka::ERR_NO_ERROR)
    throw std::runtime_error("cannot read " + topic + ": " + RdKafka::err2str(rc));
  return c;
}

std::string hosts_of(const group_result& group) {
  std::string out;
  for (const auto& h : group.hosts) out += (out.empty() ? "" : ", ") + h;
  return out;
}

/// The refusal when only members of the servers' group that say no hello use the prefix.
std::string group_refusal(const topics& names, const group_result& group) {
  return "another pikoci server already uses the Kafka topic prefix " +
         domain::quote(names.prefix) +
         " on these brokers: one that says no hello (an earlier release) reads its events in the "
         "consumer group " +
         domain::quote(names.server_group()) + " (" + std::to_string(group.members) +
         " member(s), from " + hosts_of(group) +
         "); stop it, or give this server another --kafka-topic-prefix";
}

}  // namespace

struct presence::impl {
  presence_options opts;
  mutable std::mutex mutex;
  domain::hello self;  // under `mutex`
  domain::members directory;
  std::atomic<std::int64_t> rejected{0};
  std::unique_ptr<producer> out;
  std::unique_ptr<RdKafka::KafkaConsumer> tail;
  std::atomic<bool> stop{false};
  std::thread thread;

  /// Under the lock, so the hellos reach the topic in the order `self` changed.
  void say() {
    std::lock_guard<std::mutex> lock(mutex);
    out->produce(opts.names.servers(), self.member_id, domain::encode(self), 0);
  }

  void take(const RdKafka::Message& m) {
    auto now = wall_now();
    auto decoded = m.len() > domain::max_hello_bytes
                       ? domain::hello_result{std::nullopt, "longer than the limit"}
                       : domain::decode_hello(
                             std::string_view(static_cast<const char*>(m.payload()), m.len()));
    bool kept = decoded.value.has_value();
    if (kept) {
      auto ts = m.timestamp();
      // a sender whose clock runs ahead must not look live for longer than it said hello
      auto sent = ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE
                      ? now
                      : std::min<domain::wall_ms>(ts.timestamp, now);
      kept = directory.heard(*decoded.value, sent);
      if (!kept) decoded.error = "too many members";
    }
    if (kept) return;
    auto n = ++rejected;
    if (n == 1 || n % 100 == 0)
      spdlog::warn("event=presence.hello_rejected topic={} offset={} rejected={} error=\"{}\"",
                   m.topic_name(), m.offset(), n, decoded.error);
  }

  void run() {
    auto next = std::chrono::steady_clock::now() + opts.interval;
    while (!stop) {
      auto now = std::chrono::steady_clock::now();
      if (now >= next) {
        say();
        next = std::max(next + opts.interval, now);
      }
      std::unique_ptr<RdKafka::Message> m(tail->consume(100));
      if (!m) continue;
      if (m->err() == RdKafka::ERR_NO_ERROR)
        take(*m);
      else if (m->err() != RdKafka::ERR__TIMED_OUT && m->err() != RdKafka::ERR__PARTITION_EOF)
        spdlog::debug("event=presence.read_error error=\"{}\"", m->errstr());
    }
  }

  domain::hello self_copy() const {
    std::lock_guard<std::mutex> lock(mutex);
    return self;
  }
};

presence::presence(presence_options opts) : impl_(std::make_unique<impl>()) {
  auto& i = *impl_;
  i.opts = std::move(opts);
  i.self = i.opts.self;
  const auto& brokers = i.opts.brokers;
  if (auto err = check_brokers(brokers, 10s); !err.empty())
    throw std::runtime_error("Kafka brokers " + brokers + " unreachable: " + err);
  auto topic = i.opts.names.servers();
  if (auto err = admin(brokers)
                     .create_topics({{topic,
                                      1,
                                      1,
                                      {{"cleanup.policy", "delete"},
                                       {"retention.ms", std::to_string(retention.count())}}}},
                                    15s)
                     .error;
      !err.empty())
    throw std::runtime_error("cannot create the Kafka topic " + topic + ": " + err);
  i.out = std::make_unique<producer>(brokers);
  i.tail = tail_of(brokers, topic, i.self.member_id);
  i.say();
  i.thread = std::thread([&i] { i.run(); });
}

presence::~presence() {
  auto& i = *impl_;
  i.stop = true;
  i.thread.join();
  {
    std::lock_guard<std::mutex> lock(i.mutex);
    i.self.state = domain::member_state::leaving;
  }
  i.say();
  if (!i.out->flush(2s)) spdlog::warn("event=presence.leave_unsent (a restart waits 3 s)");
  i.tail->close();
}

std::string presence::check(std::chrono::milliseconds window) {
  auto& i = *impl_;
  const auto& names = i.opts.names;
  auto start = std::chrono::steady_clock::now();
  auto since = wall_now();
  std::this_thread::sleep_until(start + window);  // the tail thread hears the others meanwhile
  bool waiting_said = false;
  while (true) {
    bool overdue = std::chrono::steady_clock::now() - start >= i.opts.group_wait;
    auto other = domain::conflict(i.self_copy(), i.directory.live(wall_now()));
    // a member that said no hello since this check began may have been killed: its last one
    // ages out within 3 s, while a live member says hello every second
    if (other && (other->seen_at >= since || overdue))
      return domain::refusal_message(*other, names.prefix);
    group_result group;
    if (!other) {
      group = admin(i.opts.brokers).describe_group(names.server_group(), 5s);
      if (!group.error.empty()) {
        spdlog::warn("event=presence.group_unchecked group={} error=\"{}\"", names.server_group(),
                     group.error);
        break;
      }
      if (group.members == 0) break;
      if (overdue) return group_refusal(names, group);
    }
    if (!waiting_said)
      spdlog::info(
          "event=presence.waiting {} (a server killed moments ago: its last hello ages out within "
          "3 s, its events consumer leaves the group within 6 s)",
          other ? "silent_member=" + other->last.member_id
                : "group=" + names.server_group() + " members=" + std::to_string(group.members));
    waiting_said = true;
    std::this_thread::sleep_for(500ms);
  }
  {
    std::lock_guard<std::mutex> lock(i.mutex);
    i.self.state = domain::member_state::running;
  }
  i.say();  // at once: one that starts now must see this member running
  return {};
}

void presence::advertise(const std::string& url) {
  update([&](domain::hello& h) { h.advertise_url = url; });
}

void presence::update(const std::function<void(domain::hello&)>& edit) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    edit(impl_->self);
  }
  impl_->say();
}

const domain::members& presence::directory() const {
  return impl_->directory;
}

std::int64_t presence::rejected() const {
  return impl_->rejected;
}

domain::hello presence::self() const {
  return impl_->self_copy();
}

}  // namespace pikoci::kafka
