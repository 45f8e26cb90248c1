#include "connectors/kafka/tail.hpp"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "connectors/kafka/rdkafka.hpp"

namespace pikoci::kafka {

record to_record(RdKafka::Message& m) {
  record r;
  r.partition = m.partition();
  r.offset = m.offset();
  if (const std::string* key = m.key()) r.key = *key;
  if (m.payload() != nullptr) r.value.emplace(static_cast<const char*>(m.payload()), m.len());
  if (RdKafka::Headers* headers = m.headers()) {
    for (const auto& h : headers->get_all()) {
      r.headers.emplace_back(
          h.key(), h.value() == nullptr
                       ? std::string()
                       : std::string(static_cast<const char*>(h.value()), h.value_size()));
    }
  }
  return r;
}

namespace {

bool is_out_of_range(RdKafka::ErrorCode err) {
  // With auto.offset.reset=error librdkafka reports an offset outside the log as
  // ERR__AUTO_OFFSET_RESET; the broker's own code may come through as well.
  return err == RdKafka::ERR_OFFSET_OUT_OF_RANGE || err == RdKafka::ERR__AUTO_OFFSET_RESET;
}

}  // namespace

struct tail::impl {
  std::unique_ptr<RdKafka::KafkaConsumer> c;

  bool assign(const std::string& topic, std::int32_t partition, std::int64_t offset) {
    std::unique_ptr<RdKafka::TopicPartition> tp(
        RdKafka::TopicPartition::create(topic, partition, offset));
    auto rc = c->assign({tp.get()});
    if (rc == RdKafka::ERR_NO_ERROR) return true;
    spdlog::warn("event=kafka.tail_assign_failed topic={} partition={} error=\"{}\"", topic,
                 partition, RdKafka::err2str(rc));
    return false;
  }
};

tail::tail(const std::string& brokers, std::string topic, std::int32_t partition)
    : impl_(std::make_unique<impl>()), topic_(std::move(topic)), partition_(partition) {
  auto conf = base_conf(brokers);
  // librdkafka's KafkaConsumer needs a group id even when it only assign()s: this one never
  // joins a group and never commits (the reader's owner keeps its offsets).
  set(*conf, "group.id", "pikoci.tail");
  set(*conf, "enable.auto.commit", "false");
  set(*conf, "enable.auto.offset.store", "false");
  set(*conf, "isolation.level", "read_committed");
  set(*conf, "enable.partition.eof", "true");
  set(*conf, "auto.offset.reset", "error");  // an offset outside the log is an error, not a jump
  set(*conf, "fetch.max.bytes", std::to_string(64 << 20));
  set(*conf, "max.partition.fetch.bytes", std::to_string(32 << 20));
  set(*conf, "fetch.wait.max.ms", "50");  // a follower passes records on within ~50 ms
  std::string err;
  if (conf->set("event_cb", &logger(), err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka tail: " + err);
  impl_->c.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!impl_->c) throw std::runtime_error("kafka tail: " + err);
}

tail::~tail() {
  stop();
  impl_->c->close();
}

std::optional<std::pair<std::int64_t, std::int64_t>> tail::watermarks(
    std::chrono::milliseconds timeout) {
  std::int64_t low = -1, high = -1;
  auto rc = impl_->c->query_watermark_offsets(topic_, partition_, &low, &high,
                                              static_cast<int>(timeout.count()));
  if (rc != RdKafka::ERR_NO_ERROR) {
    spdlog::warn("event=kafka.watermarks_failed topic={} partition={} error=\"{}\"", topic_,
                 partition_, RdKafka::err2str(rc));
    return std::nullopt;
  }
  return std::make_pair(low, high);
}

catch_up_result tail::catch_up(std::int64_t from, const batch_sink& sink, std::size_t batch,
                               std::chrono::milliseconds timeout) {
  catch_up_result out;
  out.next = from;
  auto fail = [&](tail_error::kind_t kind, std::string message) {
    out.error = tail_error{kind, -1, -1, std::move(message)};
    return out;
  };
  if (follower_.joinable()) return fail(tail_error::failed, "the reader is following");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto marks = watermarks(std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(10)));
  if (!marks) return fail(tail_error::failed, "no watermarks for " + topic_);
  const auto [low, end] = *marks;
  if (from < low || from > end) {
    fail(tail_error::out_of_range, "offset " + std::to_string(from) + " is outside the log [" +
                                       std::to_string(low) + ", " + std::to_string(end) + ")");
    out.error->log_start = low;
    out.error->log_end = end;
    return out;
  }
  if (from == end || !impl_->assign(topic_, partition_, from)) {
    if (from != end) return fail(tail_error::failed, "assign failed");
    return out;
  }
  std::vector<record> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    sink(std::move(pending));
    pending = {};
  };
  std::string last_error;
  // Records at `end` or later were written after the call: they are left for the next read.
  // A transaction's commit marker takes an offset no record has, so the end may come as an EOF.
  while (out.next < end) {
    if (std::chrono::steady_clock::now() >= deadline) {
      flush();
      impl_->c->unassign();
      return fail(tail_error::failed, "timed out at offset " + std::to_string(out.next) + " of " +
                                          std::to_string(end) +
                                          (last_error.empty() ? "" : ": " + last_error));
    }
    std::unique_ptr<RdKafka::Message> m(impl_->c->consume(100));
    if (!m) continue;
    auto err = m->err();
    if (err == RdKafka::ERR_NO_ERROR) {
      if (m->offset() >= end) {
        out.next = end;
        break;
      }
      pending.push_back(to_record(*m));
      ++out.records;
      out.next = m->offset() + 1;
      if (pending.size() >= batch) flush();
    } else if (err == RdKafka::ERR__PARTITION_EOF) {
      out.next = std::max(out.next, std::min<std::int64_t>(m->offset(), end));
    } else if (is_out_of_range(err)) {
      flush();
      impl_->c->unassign();
      auto now = watermarks();
      fail(tail_error::out_of_range, m->errstr());
      if (now) std::tie(out.error->log_start, out.error->log_end) = *now;
      return out;
    } else if (err != RdKafka::ERR__TIMED_OUT) {
      last_error = m->errstr();
    }
  }
  flush();
  impl_->c->unassign();
  return out;
}

void tail::follow(std::int64_t from, record_sink on_record, error_sink on_error) {
  if (follower_.joinable()) return;
  stopping_ = false;
  next_ = from;
  follower_ =
      std::thread([this, from, on_record = std::move(on_record), on_error = std::move(on_error)] {
        follow_loop(from, on_record, on_error);
      });
}

void tail::follow_loop(std::int64_t from, const record_sink& on_record,
                       const error_sink& on_error) {
  bool told = !impl_->assign(topic_, partition_, from);
  if (told) on_error(tail_error{tail_error::failed, -1, -1, "assign failed"});
  std::string logged;  // the last error logged: a lasting one is logged once, not per poll
  while (!stopping_) {
    if (told) {  // nothing more to read until the owner stops this reader
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    std::unique_ptr<RdKafka::Message> m(impl_->c->consume(100));
    if (!m) continue;
    auto err = m->err();
    if (err == RdKafka::ERR_NO_ERROR) {
      auto offset = m->offset();
      on_record(to_record(*m));
      next_ = offset + 1;
    } else if (err == RdKafka::ERR__PARTITION_EOF) {
      next_ = std::max<std::int64_t>(next_, m->offset());
    } else if (is_out_of_range(err)) {
      tail_error e{tail_error::out_of_range, -1, -1, m->errstr()};
      if (auto now = watermarks()) std::tie(e.log_start, e.log_end) = *now;
      on_error(e);
      told = true;
    } else if (err != RdKafka::ERR__TIMED_OUT && m->errstr() != logged) {
      logged = m->errstr();
      spdlog::warn("event=kafka.tail_error topic={} partition={} error=\"{}\"", topic_, partition_,
                   logged);
    }
  }
  impl_->c->unassign();
}

std::int64_t tail::stop() {
  if (!follower_.joinable()) return next_;
  stopping_ = true;
  follower_.join();
  return next_;
}

}  // namespace pikoci::kafka
