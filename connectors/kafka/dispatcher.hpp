#pragma once
// The server's side of remote workers (SPEC §9): the dispatcher protocol of
// actors/protocols/dispatch.hpp over Kafka. Builds go to `<prefix>.jobs` (or the topic of their
// tags), checks to `<prefix>.checks`, cancels to `<prefix>.control`; worker events come back on
// `<prefix>.events`, are checked (token, version, attempt) and forwarded to the build's owner as
// if the embedded worker had sent them. Heartbeats make the worker list and the slot count the
// execution queue dispatches against; a worker silent past its lease is `stale` and its started
// builds are dispatched again with attempt + 1 (`redispatches` times), then `errored`.
//
// Threads: the actor runs on the CAF scheduler; one companion thread polls the events topic and
// hands decoded envelopes to the actor. Producing never blocks (librdkafka queues).

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "actors/protocols/dispatch.hpp"
#include "connectors/kafka/client.hpp"
#include "connectors/kafka/wire.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::wire::envelope)

namespace pikoci::kafka {

struct dispatcher_options {
  std::string brokers;
  topics names;
  std::string jwt_secret;  // worker tokens are checked with it
  std::chrono::milliseconds lease{10000};
  int redispatches = 1;  // dispatches again of a build whose worker went silent
  int partitions = 8;    // of the work topics: how many workers of one group can share them
  std::chrono::milliseconds grace{10000};  // SIGTERM: how long cancelled builds may take to end
  /// Kept up to date with the number of workers that are not stale (GET /health reads it).
  std::shared_ptr<std::atomic<int>> live_workers = std::make_shared<std::atomic<int>>(0);
};

using kafka_dispatcher_actor = proto::dispatcher_actor::extend<
    // the execution queue, told the worker slots whenever they change
    caf::reacts_to<proto::slots_atom, proto::slot_listener_actor>,
    // a message from the events topic (from the consumer thread)
    caf::reacts_to<proto::wire_atom, wire::envelope>,
    // a bad message from the events topic: counted and dropped
    caf::reacts_to<proto::wire_atom, std::string /*why*/>,
    // leases and the SIGTERM time limit
    caf::reacts_to<proto::tick_atom>>;

/// Creates the topics, starts the producer and the events consumer. Throws std::runtime_error
/// when the brokers cannot be reached or the topics cannot be created.
kafka_dispatcher_actor spawn_kafka_dispatcher(caf::actor_system& sys, dispatcher_options opts);

}  // namespace pikoci::kafka
