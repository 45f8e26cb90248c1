#pragma once
// A worker's end of the topics (docs/workers.md): transport only. Work is consumed from the jobs
// and checks topics of the worker's tags and control messages from `<prefix>.control`; the
// worker's events are produced to `<prefix>.events`, or to the partition a build's or check's
// `reply` names, stamped with its name and token. What a
// worker does with its work (runners, slots, fencing, heartbeats, leases) belongs to its owner,
// the worker role (node/remote_worker).
//
// Flow control: a message of work is committed only after the owner took it (in the background,
// a batch every 100 ms: a worker that dies just after taking work may leave it to another worker,
// whose copy the server cancels). While the owner's
// gate is closed, or it refuses a message (draining), what was fetched waits here uncommitted:
// a worker that goes away leaves it to the others. Pausing the consumer instead would not move
// the partitions to an idle worker either, and resuming costs a fetch round trip per build. The
// owner's wake() (a slot freed) hands a held message over at once. A held message whose
// partition a rebalance moved to another consumer is left to that one.
//
// Threads: one per consumer (jobs, checks, control) polls it and calls the owner's handlers;
// `emit` may be called from any thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka/client.hpp"
#include "connectors/kafka/wire.hpp"

namespace pikoci::kafka {

struct worker_feed_options {
  std::string brokers;
  topics names;
  std::string name;                 // the worker's name, on every message it sends
  std::string token;                // the worker token, carried by every message
  std::vector<std::string> tags;    // normalized by the feed
  bool jobs = true, checks = true;  // --queues
};

/// What the feed hands its owner, each on the thread of the consumer it came from. A consumed
/// message that does not decode, whose `reply` names a topic outside the worker's prefix, or is
/// not of the topic's type, is counted and logged or skipped, and committed: it is no one's to
/// run.
struct worker_feed_handlers {
  /// True when the owner took the work (it is committed), false to hold it.
  std::function<bool(wire::run_build&)> build;
  std::function<bool(wire::run_check&)> check;
  /// Whether the owner may take more builds / checks now; while not, fetched work waits.
  std::function<bool()> builds_open, checks_open;
  /// A control message (cancel, drain, recorded) for this worker or for every worker.
  std::function<void(wire::message&)> control;
};

/// Owned by the worker role; alive until its consumer threads are stopped.
class worker_feed {
 public:
  /// Checks the brokers, creates the topics and the producer. Throws std::runtime_error when
  /// the brokers cannot be reached or the topics cannot be made.
  explicit worker_feed(worker_feed_options opts);
  ~worker_feed();  // stop()
  worker_feed(const worker_feed&) = delete;
  worker_feed& operator=(const worker_feed&) = delete;

  /// Joins the consumer groups (jobs and checks: one group shared by every worker, so each
  /// message goes to one of them; control: a group of its own, from now on) and starts polling.
  /// Throws std::runtime_error when a subscription fails.
  void start(worker_feed_handlers handlers);
  /// Stops polling and leaves the groups; the handlers are not called any more.
  void stop();
  /// The owner may take builds again (a slot freed): fetched builds waiting for one are handed
  /// over now rather than at the next look (every 5 ms). Any thread.
  void wake();

  const worker_feed_options& options() const { return opts_; }
  /// Produces `body`, stamped with the worker's name and token, to the partition `to` names (the
  /// `reply` of its build or check), or without one to the events topic.
  void emit(wire::message body, const std::optional<wire::route>& to = std::nullopt);
  /// Consumed messages that did not decode, or whose reply named a topic outside the prefix.
  std::int64_t dropped() const;
  /// The jobs consumer's partitions, refreshed every second: the server places work meant for
  /// this worker on one of them.
  std::vector<std::pair<std::string, int>> partitions() const;
  /// How long the messages this worker read took to come (also logged every 10 s as
  /// `event=kafka.hops`).
  const hop_meter& hops() const;
  /// When the brokers last acknowledged a message of this worker.
  std::chrono::steady_clock::time_point last_delivered() const;
  /// Waits until everything emitted was delivered or `timeout` passed; false on timeout.
  bool flush(std::chrono::milliseconds timeout);

 private:
  struct threads;
  worker_feed_options opts_;
  std::vector<std::string> job_topics_, check_topics_;
  std::unique_ptr<producer> out_;
  std::unique_ptr<threads> threads_;
};

}  // namespace pikoci::kafka
