#pragma once
// librdkafka helpers shared by the .cpp files of connectors/kafka (and only by them: this header
// names librdkafka types, which the folder's other headers keep out of their interfaces): the
// configuration every client starts from (client.cpp) and the conversion of a consumed message
// into a `record` (tail.cpp).

#include <memory>
#include <string>

#include "connectors/kafka/tail.hpp"

namespace RdKafka {
class Conf;
class EventCb;
class Message;
}  // namespace RdKafka

namespace pikoci::kafka {

/// Brokers, client id, message size and connection settings shared by producers and consumers.
/// Throws std::runtime_error when librdkafka refuses a setting.
std::unique_ptr<RdKafka::Conf> base_conf(const std::string& brokers);
/// Sets one property; throws std::runtime_error naming it when librdkafka refuses it.
void set(RdKafka::Conf& conf, const std::string& key, const std::string& value);
/// Logs librdkafka's errors as `event=kafka.error` (never payloads); one for every client.
RdKafka::EventCb& logger();

/// The key, value (nullopt for a null value), headers, partition and offset of a message that
/// carries one (err() == ERR_NO_ERROR).
record to_record(RdKafka::Message& m);

}  // namespace pikoci::kafka
