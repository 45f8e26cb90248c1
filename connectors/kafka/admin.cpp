#include "connectors/kafka/admin.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace pikoci::kafka {
namespace {

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};
using event_ptr =
    std::unique_ptr<rd_kafka_event_t, deleter<rd_kafka_event_t, rd_kafka_event_destroy>>;
using queue_ptr =
    std::unique_ptr<rd_kafka_queue_t, deleter<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using options_ptr =
    std::unique_ptr<rd_kafka_AdminOptions_t,
                    deleter<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;
using new_topic_ptr =
    std::unique_ptr<rd_kafka_NewTopic_t, deleter<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>>;
using resource_ptr =
    std::unique_ptr<rd_kafka_ConfigResource_t,
                    deleter<rd_kafka_ConfigResource_t, rd_kafka_ConfigResource_destroy>>;
using partitions_ptr = std::unique_ptr<
    rd_kafka_topic_partition_list_t,
    deleter<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>>;

int ms(std::chrono::milliseconds t) {
  return static_cast<int>(t.count());
}

}  // namespace

struct admin::impl {
  rd_kafka_t* rk = nullptr;
  std::string brokers;

  options_ptr options(rd_kafka_admin_op_t op, std::chrono::milliseconds timeout) {
    char errstr[256];
    options_ptr o(rd_kafka_AdminOptions_new(rk, op));
    rd_kafka_AdminOptions_set_request_timeout(o.get(), ms(timeout), errstr, sizeof errstr);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
      rd_kafka_AdminOptions_set_operation_timeout(o.get(), ms(timeout), errstr, sizeof errstr);
    return o;
  }

  /// The answer to the request just queued on `q`, or nothing with `error` set.
  event_ptr answer(rd_kafka_queue_t* q, std::chrono::milliseconds timeout, std::string& error) {
    event_ptr ev(rd_kafka_queue_poll(q, ms(timeout) + 1000));
    if (!ev) {
      error = "no answer from the brokers " + brokers + " within " +
              std::to_string(timeout.count()) + " ms";
    } else if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error = rd_kafka_event_error_string(ev.get());
      ev.reset();
    }
    return ev;
  }

  /// The partition count of `topic` from the brokers' metadata.
  count_result partitions(const std::string& topic, std::chrono::milliseconds timeout) {
    count_result out;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    auto rc = rd_kafka_metadata(rk, 0, rkt, &md, ms(timeout));
    rd_kafka_topic_destroy(rkt);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.error = topic + ": " + rd_kafka_err2str(rc);
    } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.error =
          topic + ": " +
          (md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not in the metadata");
    } else {
      out.count = md->topics[0].partition_cnt;
    }
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    return out;
  }

  /// The offsets of a partition; retried until `deadline` while it has no leader (a topic
  /// just created: the controller answers before the partition's leader is ready; a leader
  /// moving to another broker).
  watermarks_result watermarks(const std::string& topic, std::int32_t partition,
                               std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      watermarks_result out;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto rc = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &out.low, &out.high,
                                                 std::max(100, ms(left)));
      if (rc == RD_KAFKA_RESP_ERR_NO_ERROR) return out;
      out.error = topic + "[" + std::to_string(partition) + "]: " + rd_kafka_err2str(rc);
      bool leaderless = rc == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                        rc == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                        rc == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                        // this client's metadata does not know the new partition yet
                        rc == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                        rc == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
      if (!leaderless || std::chrono::steady_clock::now() >= deadline) return out;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      // the client's metadata cache may hold the topic as it was while being created (no
      // partitions yet) until its next periodic refresh, minutes away: ask the brokers now
      if (rc == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || rc == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        partitions(topic, std::chrono::milliseconds(1000));
    }
  }
};

admin::admin(const std::string& brokers) : impl_(std::make_unique<impl>()) {
  impl_->brokers = brokers;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (auto [key, value] :
       {std::pair<const char*, const char*>{"bootstrap.servers", brokers.c_str()},
        {"client.id", "pikoci-node"},
        {"broker.address.family", "v4"},
        // asking about a topic must never create it
        {"allow.auto.create.topics", "false"}}) {
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("kafka admin: ") + errstr);
    }
  }
  impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (impl_->rk == nullptr) throw std::runtime_error(std::string("kafka admin: ") + errstr);
}

admin::~admin() {
  rd_kafka_destroy(impl_->rk);
}

topics_result admin::create_topics(const std::vector<topic_spec>& topics,
                                   std::chrono::milliseconds timeout) {
  topics_result out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char errstr[512];
  std::vector<new_topic_ptr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const auto& t : topics) {
    new_topic_ptr nt(
        rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication, errstr, sizeof errstr));
    if (!nt) return {t.name + ": " + errstr, {}};
    for (const auto& [key, value] : t.configs) {
      if (auto err = rd_kafka_NewTopic_set_config(nt.get(), key.c_str(), value.c_str()))
        return {t.name + ": " + key + "=" + value + ": " + rd_kafka_err2str(err), {}};
    }
    raw.push_back(nt.get());
    owned.push_back(std::move(nt));
  }
  queue_ptr q(rd_kafka_queue_new(impl_->rk));
  auto opts = impl_->options(RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
  rd_kafka_CreateTopics(impl_->rk, raw.data(), raw.size(), opts.get(), q.get());
  auto ev = impl_->answer(q.get(), timeout, out.error);
  if (!ev) return out;
  std::size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  std::map<std::string, rd_kafka_resp_err_t> errors;
  for (std::size_t i = 0; i < n; ++i)
    errors[rd_kafka_topic_result_name(results[i])] = rd_kafka_topic_result_error(results[i]);
  for (const auto& t : topics) {
    auto err = errors.count(t.name) ? errors[t.name] : RD_KAFKA_RESP_ERR_UNKNOWN;
    topic_info info{t.name, t.partitions, err == RD_KAFKA_RESP_ERR_NO_ERROR};
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      auto count = impl_->partitions(t.name, timeout);
      if (!count.error.empty()) return {count.error, {}};
      info.partitions = count.count;
    } else if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return {t.name + ": " + rd_kafka_err2str(err), {}};
    } else {
      // ready only once every partition answers
      for (int p = 0; p < t.partitions; ++p)
        if (auto w = impl_->watermarks(t.name, p, deadline); !w.error.empty()) return {w.error, {}};
    }
    out.topics.push_back(info);
  }
  return out;
}

count_result admin::brokers(std::chrono::milliseconds timeout) {
  count_result out;
  const rd_kafka_metadata_t* md = nullptr;
  auto rc = rd_kafka_metadata(impl_->rk, 0, nullptr, &md, ms(timeout));
  if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.error = rd_kafka_err2str(rc);
  } else {
    out.count = md->broker_cnt;
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  return out;
}

count_result admin::partitions(const std::string& topic, std::chrono::milliseconds timeout) {
  return impl_->partitions(topic, timeout);
}

watermarks_result admin::watermarks(const std::string& topic, std::int32_t partition,
                                    std::chrono::milliseconds timeout) {
  return impl_->watermarks(topic, partition, std::chrono::steady_clock::now() + timeout);
}

offsets_result admin::offsets_for_time(const std::string& topic,
                                       const std::vector<std::int32_t>& partitions,
                                       std::int64_t ms_since_epoch,
                                       std::chrono::milliseconds timeout) {
  offsets_result out;
  partitions_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (auto p : partitions)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = ms_since_epoch;
  auto rc = rd_kafka_offsets_for_times(impl_->rk, list.get(), ms(timeout));
  if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) return {topic + ": " + rd_kafka_err2str(rc), {}};
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return {topic + "[" + std::to_string(e.partition) + "]: " + rd_kafka_err2str(e.err), {}};
    out.offsets.push_back(e.offset);
  }
  // no record at or after the time: the broker answers -1 (the end); name the offset itself
  for (std::size_t i = 0; i < out.offsets.size(); ++i) {
    if (out.offsets[i] >= 0) continue;
    auto w = watermarks(topic, partitions[i], timeout);
    if (!w.error.empty()) return {w.error, {}};
    out.offsets[i] = w.high;
  }
  return out;
}

configs_result admin::topic_configs(const std::string& topic, std::chrono::milliseconds timeout) {
  configs_result out;
  resource_ptr res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  rd_kafka_ConfigResource_t* raw = res.get();
  queue_ptr q(rd_kafka_queue_new(impl_->rk));
  auto opts = impl_->options(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  rd_kafka_DescribeConfigs(impl_->rk, &raw, 1, opts.get(), q.get());
  auto ev = impl_->answer(q.get(), timeout, out.error);
  if (!ev) return out;
  std::size_t n = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  if (n != 1) return {topic + ": no configuration in the answer", {}};
  if (auto err = rd_kafka_ConfigResource_error(resources[0]))
    return {topic + ": " + rd_kafka_err2str(err), {}};
  std::size_t count = 0;
  const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resources[0], &count);
  for (std::size_t i = 0; i < count; ++i) {
    const char* value = rd_kafka_ConfigEntry_value(entries[i]);
    out.configs[rd_kafka_ConfigEntry_name(entries[i])] = value != nullptr ? value : "";
  }
  return out;
}

group_result admin::describe_group(const std::string& group, std::chrono::milliseconds timeout) {
  group_result out;
  const char* names[] = {group.c_str()};
  queue_ptr q(rd_kafka_queue_new(impl_->rk));
  auto opts = impl_->options(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout);
  rd_kafka_DescribeConsumerGroups(impl_->rk, names, 1, opts.get(), q.get());
  auto ev = impl_->answer(q.get(), timeout, out.error);
  if (!ev) return out;
  std::size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t** groups =
      rd_kafka_DescribeConsumerGroups_result_groups(
          rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  if (n != 1) return {group + ": no description in the answer", {}, 0, {}};
  if (const rd_kafka_error_t* err = rd_kafka_ConsumerGroupDescription_error(groups[0])) {
    if (rd_kafka_error_code(err) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) return {"", "Dead", 0, {}};
    return {group + ": " + rd_kafka_error_string(err), {}, 0, {}};
  }
  out.state =
      rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(groups[0]));
  out.members = static_cast<int>(rd_kafka_ConsumerGroupDescription_member_count(groups[0]));
  for (int m = 0; m < out.members; ++m) {
    const char* host =
        rd_kafka_MemberDescription_host(rd_kafka_ConsumerGroupDescription_member(groups[0], m));
    std::string h = host != nullptr ? host : "?";
    if (!h.empty() && h[0] == '/') h.erase(0, 1);  // the broker writes "/127.0.0.1"
    if (std::find(out.hosts.begin(), out.hosts.end(), h) == out.hosts.end()) out.hosts.push_back(h);
  }
  return out;
}

std::string ensure_topics(const std::string& brokers, const std::vector<std::string>& names,
                          int partitions, std::chrono::milliseconds timeout) {
  try {
    std::vector<topic_spec> specs;
    for (const auto& n : names) specs.push_back({n, partitions, 1, {}});
    return admin(brokers).create_topics(specs, timeout).error;
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace pikoci::kafka
