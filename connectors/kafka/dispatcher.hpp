#pragma once
// The server's side of remote workers (SPEC §9): the dispatcher protocol of
// actors/protocols/dispatch.hpp over Kafka. Builds go to `<prefix>.jobs` (or the topic of their
// tags), checks to `<prefix>.checks`, cancels to `<prefix>.control`; worker events come back on
// `<prefix>.events`, are checked (token, version, attempt) and forwarded to the build's owner as
// if the embedded worker had sent them. Heartbeats make the worker list and the slot count the
// execution queue dispatches against; a worker silent past its lease is `stale` and its started
// builds are dispatched again with attempt + 1 (`redispatches` times), then `errored`.
//
// A lease counts only while the server itself hears the broker: it writes a probe to the events
// topic every few hundred milliseconds and reads it back. When nothing has been read for a while
// (`deaf_after`) the server is deaf: no lease runs out, and when it hears again every worker and
// every adopted build gets a full lease from that moment. A server that just started is deaf until
// its first probe comes back (its consumer is assigned and has read the backlog). A worker that
// reports an attempt the server has taken away is told to cancel it (docs/operations.md).
//
// Cluster mode (`cluster` set): builds and checks name a `reply` route, partition k of
// `<prefix>.<cluster>.input` for a build of partition k, so a worker's events reach the node that
// owns the build and follow it when the partition moves. The cluster's group member reads the
// input topic and hands its worker records over with `feed_input`. Every node also reads all of
// the events topic (heartbeats are for every node; workers without reply support write their
// events there): events of builds this node does not own are ignored, not counted as drops. A
// worker's slots are shared: this node may fill its concurrency less the builds the worker runs
// for other nodes.
//
// Threads: the actor runs on the CAF scheduler; one companion thread polls the events topic and
// hands decoded envelopes to the actor. Producing never blocks (librdkafka queues).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/protocols/dispatch.hpp"
#include "connectors/kafka/client.hpp"
#include "connectors/kafka/wire.hpp"
#include "domain/cluster.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::wire::envelope)

namespace pikoci::kafka {

/// The server's own view of the broker, kept up to date by the dispatcher and read from any
/// thread (GET /health, GET /metrics, the worker route).
class broker_view {
 public:
  /// Whether the server hears the broker: its own probes (or any worker event) come back.
  bool broker_reachable() const { return reachable_; }
  /// Since the server last read anything from the events topic (its probes included); nothing
  /// before the first read.
  std::optional<std::chrono::milliseconds> since_last_event() const;
  /// How long the server has heard the broker without a break; 0 while it does not.
  std::chrono::milliseconds heard_for() const;

  /// The dispatcher's side: `heard` is when the last message was read, `since` when hearing
  /// began (both ignored when `reachable` is false, except `heard`).
  void update(bool reachable, std::chrono::steady_clock::time_point heard,
              std::chrono::steady_clock::time_point since);

 private:
  std::atomic<bool> reachable_{false};
  std::atomic<std::int64_t> heard_ns_{0};  // steady clock; 0: never
  std::atomic<std::int64_t> since_ns_{0};
};

/// How long the server may read nothing from the events topic before it counts itself deaf:
/// a third of the lease, between 1 s and 5 s. A worker's lease can run for at most this long
/// (plus a heartbeat interval) after the broker went away: keep the lease at 3 s or more.
std::chrono::milliseconds deaf_after(std::chrono::milliseconds lease);

/// Cluster mode: which builds are this node's and where workers send their events.
struct dispatcher_cluster {
  std::string name;     // `--cluster`
  int partitions = 12;  // P, the pipeline partitions (the input topic has P + 1)
  /// This node's partitions (the cluster manager keeps it): builds of partition k are this
  /// node's while k is active here.
  std::shared_ptr<const domain::cluster::partition_table> table;
  /// `<prefix>.<name>.input`.
  std::string input(const topics& names) const { return names.prefix + "." + name + ".input"; }
};

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
  /// Whether the server hears the broker (GET /health, the worker route read it).
  std::shared_ptr<broker_view> broker = std::make_shared<broker_view>();
  /// How long the events read took to come (GET /metrics: `pikoci_kafka_hop_seconds`).
  std::shared_ptr<hop_meter> hops = std::make_shared<hop_meter>();
  /// Set in cluster mode; single mode without it.
  std::optional<dispatcher_cluster> cluster;
};

using kafka_dispatcher_actor = proto::dispatcher_actor::extend_with<proto::build_forgetter_actor>::extend<
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

/// Cluster mode: one record of the input topic that carries a worker's message (the cluster's
/// group member reads it), handed to the dispatcher as the events topic's records are. Decodes
/// on the caller's thread; an undecodable payload is counted as a drop.
void feed_input(const kafka_dispatcher_actor& dispatcher, hop_meter& hops,
                const std::string& topic, const std::string& payload);

/// The build a worker's message is about; nothing for heartbeats, checks and probes.
std::optional<std::int64_t> build_of(const wire::message& m);

/// The slots of a worker that one node may fill: its concurrency less the builds it runs that
/// the node does not own (other nodes' builds), never below 0.
int shared_slots(int concurrency, const std::vector<std::pair<std::int64_t, int>>& running,
                 const std::function<bool(std::int64_t /*build id*/)>& owns);

}  // namespace pikoci::kafka
