#include "node/cluster_events.hpp"

#include <thread>

#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "config/pipeline/json_decode.hpp"
#include "connectors/kafka/client.hpp"
#include "connectors/kafka/tail.hpp"

namespace pikoci::node {

namespace {

/// What the signature covers: each field with its length first, so no two events sign alike.
std::string signed_text(const std::string& pipeline, const std::string& type,
                        const std::string& data) {
  return std::to_string(pipeline.size()) + ":" + pipeline + std::to_string(type.size()) + ":" +
         type + data;
}

bool valid_pipeline(const std::string& p) {
  if (p.empty() || p.size() > 256) return false;
  for (unsigned char c : p)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

bool valid_type(const std::string& t) {
  if (t.empty() || t.size() > 32) return false;
  for (char c : t)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

/// One line of JSON text holding an object (an SSE `data:` line must not break).
bool valid_data(const std::string& d) {
  if (d.find_first_of("\r\n") != std::string::npos) return false;
  auto decoded = pipeline::decode_json(d, {max_status_record, pipeline::max_json_depth});
  return decoded && decoded.value.is_object();
}

decoded_status refused(std::string why) {
  return {std::nullopt, std::move(why)};
}

}  // namespace

std::optional<std::string> encode_status(const std::string& secret, const status_event& e) {
  auto record = nlohmann::json{{"pipeline", e.pipeline},
                               {"type", e.type},
                               {"data", e.data},
                               {"sig", auth::csrf_token(secret, signed_text(e.pipeline, e.type,
                                                                            e.data))}}
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (record.size() > max_status_record) return std::nullopt;
  return record;
}

decoded_status decode_status(const std::string& secret, std::string_view record) {
  if (record.size() > max_status_record) return refused("larger than the limit");
  auto decoded = pipeline::decode_json(record, {max_status_record, 2});
  if (!decoded) return refused("not JSON: " + decoded.error);
  const auto& j = decoded.value;
  if (!j.is_object()) return refused("not a JSON object");
  for (const char* k : {"pipeline", "type", "data", "sig"})
    if (!j.contains(k) || !j[k].is_string()) return refused(std::string("no string ") + k);
  status_event e{j["pipeline"].get<std::string>(), j["type"].get<std::string>(),
                 j["data"].get<std::string>()};
  if (!valid_pipeline(e.pipeline)) return refused("not a pipeline name");
  if (!valid_type(e.type)) return refused("not an event type");
  if (!valid_data(e.data)) return refused("its data is not one line of JSON holding an object");
  if (!auth::csrf_matches(secret, signed_text(e.pipeline, e.type, e.data),
                          j["sig"].get<std::string>()))
    return refused("not signed by this cluster");
  return {std::move(e), {}};
}

// ---- the relay

status_relay::status_relay(std::shared_ptr<kafka::producer> producer, std::string topic,
                           std::string secret)
    : producer_(std::move(producer)), topic_(std::move(topic)), secret_(std::move(secret)) {}

void status_relay::publish(const std::string& pipeline, const std::string& type,
                           const std::string& data) {
  auto record = encode_status(secret_, {pipeline, type, data});
  if (!record) {
    spdlog::warn("event=cluster.event_not_sent pipeline={} type={} bytes={} error=\"larger than "
                 "a status record may be\"",
                 pipeline, type, data.size());
    return;
  }
  // queued, sent in the background: a full queue refuses at once (logged by the producer)
  if (!producer_->produce(topic_, pipeline, *record, 0))
    spdlog::warn("event=cluster.event_not_sent pipeline={} type={}", pipeline, type);
}

// ---- the follower

status_follower::status_follower(std::string brokers, std::string topic, std::string secret,
                                 proto::event_hub_ptr hub)
    : brokers_(std::move(brokers)), topic_(std::move(topic)), secret_(std::move(secret)),
      hub_(std::move(hub)) {}

status_follower::~status_follower() {
  stop();
}

bool status_follower::start(proto::event_relay_ptr relay, std::chrono::milliseconds wait) {
  if (tail_) return true;
  auto tail = std::make_unique<kafka::tail>(brokers_, topic_, 0);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  auto marks = tail->watermarks(std::chrono::seconds(5));
  while (!marks && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    marks = tail->watermarks(std::chrono::seconds(5));
  }
  if (!marks) {
    spdlog::error("event=cluster.status_tail_failed topic={} error=\"the end of the topic was not "
                  "found\" (GET /events on this node shows only its own pipelines)",
                  topic_);
    return false;
  }
  const auto from = marks->second;
  // the ids: offset + 1 under the topic's name; what came before `from` is unknown here. From
  // now on this node's events reach its subscribers only through the topic.
  hub_->number_events(topic_, static_cast<std::uint64_t>(from) + 1);
  hub_->relay_to(std::move(relay));
  relaying_ = true;
  tail->follow(
      from, [this](kafka::record&& r) { take(r.offset, r.value); },
      [topic = topic_](const kafka::tail_error& e) {
        spdlog::error("event=cluster.status_tail_failed topic={} log_start={} error=\"{}\" (GET "
                      "/events on this node stops; restart the node)",
                      topic, e.log_start, e.message);
      });
  tail_ = std::move(tail);
  spdlog::info("event=cluster.status_following topic={} from={}", topic_, from);
  return true;
}

void status_follower::stop() {
  // the tail first: nothing it reads is numbered after an event delivered here directly
  if (tail_) tail_->stop();
  tail_.reset();
  if (relaying_) hub_->relay_to(nullptr);
  relaying_ = false;
}

void status_follower::take(std::int64_t offset, const std::optional<std::string>& value) {
  if (!value) return;
  auto d = decode_status(secret_, *value);
  if (!d.event) {
    refused_.fetch_add(1);
    spdlog::warn("event=cluster.status_record_refused topic={} offset={} bytes={} error=\"{}\"",
                 topic_, offset, value->size(), d.error);
    return;
  }
  hub_->deliver(d.event->pipeline, d.event->type, d.event->data,
                static_cast<std::uint64_t>(offset) + 1);
}

}  // namespace pikoci::node
