#pragma once
// The worker role over Kafka (`pikoci-node --role worker`, and a server's `--run-worker` with
// Kafka): the builds run in the same embedded worker actor and build runners the server uses
// without Kafka; only the edges differ. The topics are connectors/kafka/worker_feed's: work
// arrives from the jobs/checks topics of the worker's tags, and the runners' events go out on
// `<prefix>.events`, signed with the worker token, or, for a build or check whose message names a
// `reply`, to that topic-partition (the server that owns it); heartbeats always go to the events
// topic. A reply is remembered while its build runs and until its final status is recorded.
//
// Flow control: a worker takes a build only when it has a free slot (the feed holds the jobs
// topics' messages while it is full), and the feed commits a message only after the build was
// accepted, so a worker that dies before accepting leaves the build to another one. A (build,
// attempt) is run at most once by a worker (fencing), and cancels and drains arrive on
// `<prefix>.control`.
//
// Leases: a worker whose messages have not reached the brokers for longer than the server's lease
// asks the server (`server_hears`) whether it could hear the brokers all that time; when it
// could (or cannot be asked), the server has given the worker's builds to another attempt, and
// the worker cancels them itself. A cancel for an attempt the server took away (on the control
// topic, repeated while heartbeats still report it) cancels it too (docs/operations.md).
//
// Threads: the feed's three consumer threads hand messages to the link actor, and one thread
// watches the lease; the build runners run on their own threads as in the embedded worker.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "actors/worker/build_executor.hpp"
#include "connectors/kafka/worker_feed.hpp"

namespace pikoci::node {

struct remote_worker_options {
  kafka::worker_feed_options feed;  // the brokers, topics, name, token, tags and queues
  int concurrency = 1;
  worker::executor_options exec;
  std::chrono::milliseconds heartbeat{1000};
  /// The server's `--worker-lease` (0: not known, the worker never cancels on its own).
  std::chrono::milliseconds lease{0};
  /// How long the server has heard the brokers without a break (0 while it does not), or
  /// nothing when it cannot be asked. Called from the lease thread only, when this worker has
  /// not reached the brokers for longer than `lease`; it may block for a few seconds.
  std::function<std::optional<std::chrono::milliseconds>()> server_hears;
};

class remote_worker {
 public:
  /// Joins the consumer groups and starts taking work. Throws std::runtime_error when the
  /// brokers cannot be reached or the topics cannot be made.
  remote_worker(caf::actor_system& sys, remote_worker_options opts);
  ~remote_worker();  // stops consuming and leaves the groups (running builds are not waited for)
  remote_worker(const remote_worker&) = delete;
  remote_worker& operator=(const remote_worker&) = delete;

  /// SIGQUIT: takes nothing new and waits until the running builds finished or `timeout`
  /// passed; then the rest is cancelled. True when everything finished in time.
  bool drain(std::chrono::milliseconds timeout);
  /// SIGTERM: cancels the running builds and waits (bounded by the grace period) until each
  /// reported its end. Returns how many were cancelled.
  int stop(std::chrono::milliseconds grace);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pikoci::node
