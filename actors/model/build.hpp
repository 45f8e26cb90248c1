#pragma once
// A build as the API shows it (SPEC §3.2): status, trigger, inputs, steps with logs, job-level
// hooks. Plain data owned by the job that created it; updated from the worker's events.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/capped_log.hpp"
#include "actors/model/results.hpp"
#include "domain/vocabulary.hpp"

namespace pikoci::model {

using time_point = std::chrono::system_clock::time_point;

/// The domain's statuses, named here too because the model's records and views speak them.
using build_status = domain::build_status;
using domain::is_terminal;
using domain::is_unstarted;
using domain::parse_build_status;
using domain::to_string;

/// One input of a build: the version its get step used.
struct build_input {
  std::string name;      // get step name
  std::string resource;  // canonical
  std::int64_t version_id = 0;
  nlohmann::json version;
};

/// A step record. Children of an in_parallel group, the branches of a conditional step (`if`) and
/// the steps of a branch (`if`, `else_if`, `else`) are nested in `steps`.
struct step_record {
  std::string id;  // executor step id, unique in the build
  std::string type;
  std::string name;
  build_status status = build_status::started;
  std::optional<time_point> started_at, finished_at;
  capped_log logs;
  std::vector<step_record> steps;
  /// Its place in the order the steps and hooks of its attempt started (0, 1, ...); a parent
  /// starts before its children. Stored, so every node holding the build orders them alike.
  int seq = -1;
};

/// Where a subscriber of a build's events stands (the `id:` of each event, sent back as
/// `Last-Event-ID` to resume): the attempt it is in, how many of that attempt's steps it saw
/// start (those with `seq` below `started`), and for the ones among them whose output or end it
/// has not all seen, how many bytes of output it has and whether it saw the step finish. Every
/// other started step it saw finish with all its output. Made from the build's state alone, so
/// any node holding the build computes the same position for the same state.
/// Text: `A.N` then `:S.B` (`:S.Bf` when seen finished) for each partial step, by `S`;
/// `0.0` is the position before anything.
struct stream_position {
  struct partial {
    std::size_t bytes = 0;
    bool finished = false;
    bool operator==(const partial& o) const { return bytes == o.bytes && finished == o.finished; }
  };
  int attempt = 0;
  int started = 0;
  std::map<int, partial> partials;  // by seq

  std::string str() const;
  /// The position a `str()` names; nothing for any other text (or one beyond the bounds below).
  static std::optional<stream_position> parse(std::string_view text);
  bool operator==(const stream_position& o) const {
    return attempt == o.attempt && started == o.started && partials == o.partials;
  }
  static constexpr std::size_t max_text = 16 * 1024;
};

/// A decision at a build's approval gate, by the token subject that made it.
struct approval_record {
  std::string username;
  bool approved = true;  // false: rejected
  std::string message;
  time_point created_at{};
};

/// An earlier attempt of a build (its worker was lost and the build was sent out again): the
/// steps it ran with their output, kept under its marker.
struct attempt_record {
  int attempt = 1;
  std::string worker;  // who ran it ("" when no worker accepted it)
  std::string ended;   // why it ended: "worker w1 lost: stopped sending heartbeats"
  std::vector<step_record> steps;
  std::vector<step_record> hooks;
};

/// The log line that opens attempt `n`: `--- attempt 2 (worker w1 lost: ...) ---`. `why` is the
/// end of the attempt before (for attempt 1: "worker w1").
std::string attempt_marker(int n, const std::string& why);

struct build_record {
  std::int64_t id = 0;
  std::string pipeline, job, number;
  build_status status = build_status::pending;
  std::string reason;
  nlohmann::json trigger = nlohmann::json::object();  // {"type":"manual"} ...
  int attempt = 1;
  std::string worker;
  std::optional<std::string> concurrency_group;
  time_point created_at{};
  std::optional<time_point> started_at, finished_at;
  std::vector<build_input> inputs;
  std::map<std::string, std::string> input_values;  // INPUT_<name> of a manual trigger
  std::uint64_t queue_seq = 0;  // its place in the execution queue (restored in this order)
  bool dispatched = false;      // handed to the worker side (a restart never runs it again)
  std::vector<step_record> steps;
  std::vector<step_record> hooks;  // job-level hooks
  /// The approval gate: how many approvals from distinct users it needs (0: the build had no
  /// gate) and the decisions so far. A retry of a build that passed the gate carries them over.
  int approvals_required = 0;
  std::vector<approval_record> approvals;

  /// Whether `username` approved the build already.
  bool approved_by(const std::string& username) const;
  /// Whether the gate let the build through: enough approvals and no rejection.
  bool passed_gate() const;

  /// Applies a worker event (steps appear in the order they start).
  void step_started(const work::step_ref& ref, time_point now);
  void step_log(const work::step_ref& ref, std::string_view chunk);
  /// The finished step (null when the record has no such step).
  const step_record* step_finished(const work::step_ref& ref, work::status st, time_point now);

  /// Live events (GET .../builds/{n}/events): `step` {"id","parent","type","name","job_hook",
  /// "status","started_at","finished_at"} and `log` {"step": id, "chunk"}, each with its id
  /// (`stream_position::str()` of what a subscriber has seen once it got the event).
  using event_fn =
      std::function<void(const char* type, nlohmann::json data, const std::string& id)>;
  /// The `step` event of a step the record has (null if it has not).
  nlohmann::json step_event(const work::step_ref& ref);
  /// Where a subscriber that got every event so far stands: the id of a live event.
  stream_position position();
  /// Every step and job hook as `step` then `log` (its output so far), in the order they
  /// started; earlier attempts first, each after its `attempt` event {"attempt", "marker"}.
  void replay(const event_fn& visit) { resume(stream_position{}, visit); }
  /// What comes after `from`: the steps not seen yet as replay() sends them, the output of
  /// partly seen steps after the bytes seen (`log`), and the `step` event of those that
  /// finished since. False, with nothing visited, when `from` is not a position of this build
  /// (an attempt or step it does not have, more output than it has, a step seen finished that
  /// is not).
  bool resume(const stream_position& from, const event_fn& visit);
  /// The `attempt` event that opens the current attempt (null for the first).
  nlohmann::json attempt_event() const;

  /// Earlier attempts, oldest first (empty unless the build was sent out again).
  std::vector<attempt_record> attempts;

  /// A new attempt of the build (its worker was lost: `ended`) runs every step again; the steps
  /// of the current one are kept in `attempts`.
  void begin_attempt(int next, const std::string& ended);

  /// Summary (lists) or full (with steps and logs) JSON, SPEC §3.2.
  nlohmann::json to_json(bool full) const;
  /// The stored form (persistence/keys.hpp, format 2): two lines. The first is the summary JSON
  /// plus what only the node needs (input values, queue place, dispatched); the second holds the
  /// steps and job hooks with their ids and logs. `from_record` parses the first line only and
  /// keeps the second as text until the steps are shown or changed, so a restart does not parse
  /// the logs of every kept build. It throws std::exception on a malformed summary.
  std::string to_record() const;
  static build_record from_record(std::string_view text);

 private:
  step_record* find(const work::step_ref& ref);
  /// Parses the stored steps line into `steps` and `hooks` (a restored build about to change).
  void load_steps();
  std::string stored_steps_;  // the steps line of a restored build, not parsed yet
};

/// RFC 3339 UTC with milliseconds: 2026-11-22T10:00:00.123Z
std::string format_time(time_point t);
/// The inverse of format_time; throws std::invalid_argument on another shape.
time_point parse_time(const std::string& text);

/// Numbers of a job's builds: "1", "2", ... and retries "3.1", "3.2" (reference §5.2).
class build_numbering {
 public:
  std::string next();
  std::string next_retry(const std::string& parent);
  /// Makes later numbers continue after an existing one (restore, reconcile).
  void observe(const std::string& number);
  /// Takes back `number` when it is the last one handed out (its build was never created).
  void forget(const std::string& number);

 private:
  std::int64_t last_ = 0;
  std::map<std::string, std::int64_t> retries_;  // base number → last sub-number
};

}  // namespace pikoci::model
