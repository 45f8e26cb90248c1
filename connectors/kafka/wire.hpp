#pragma once
// The versioned JSON wire format of the worker boundary (ARCHITECTURE "The worker boundary"):
// the messages the server and remote workers exchange over Kafka, and their codec. Pure
// functions, no I/O.
//
// One message is one JSON object:
//   {"v":1,"type":"run_build","worker":"","token":"","sent_at_ms":1700000000000,"body":{...}}
// Field names are the C++ member names; durations are integer milliseconds with an `_ms` suffix;
// empty optionals are encoded as null (decode accepts null or absent); enums are lower-case
// strings; versions are carried as JSON values. Unknown fields are ignored on decode, so a v1
// reader accepts v1 messages that carry additional fields.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "actors/model/results.hpp"
#include "actors/model/work.hpp"

namespace pikoci::wire {

/// The format version every message carries in "v".
constexpr int version = 1;

/// Anything `decode` refuses; the message names the field path ("body.plan.steps[2].kind: ...").
struct decode_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- server → workers (topics <prefix>.jobs / <prefix>.checks / <prefix>.control)

/// Where a worker sends the events of one build or check (cluster mode; not on the wire yet).
struct route {
  std::string topic;
  int partition = 0;
};

struct run_build {
  std::int64_t build_id = 0;
  int attempt = 1;
  std::vector<std::string> tags;
  work::build_plan plan;
  std::optional<route> reply;  // absent: events go to <prefix>.events
};

struct run_check {
  std::int64_t sequence = 0;
  std::string resource;
  std::vector<std::string> tags;
  work::command_spec command;
  std::chrono::milliseconds timeout{600000};
  work::secret_plan secrets;  // what its placeholders need (never values)
  std::optional<route> reply;  // absent: check_finished goes to <prefix>.events
};

struct cancel_build {
  std::int64_t build_id = 0;
  int attempt = 1;
  std::string reason;
};

struct drain {
  std::string worker;  // "" = every worker
};

// ---- workers → server (topic <prefix>.events)

struct accepted {
  std::int64_t build_id = 0;
  int attempt = 1;
};

struct step_started {
  std::int64_t build_id = 0;
  int attempt = 1;
  work::step_ref step;
};

struct log_chunk {
  std::int64_t build_id = 0;
  int attempt = 1;
  work::step_ref step;
  std::uint64_t seq = 0;
  std::string chunk;  // raw process output; invalid UTF-8 is sent as U+FFFD
};

struct step_finished {
  std::int64_t build_id = 0;
  int attempt = 1;
  work::step_ref step;
  work::step_result result;
};

struct build_decided {
  std::int64_t build_id = 0;
  int attempt = 1;
  work::build_result result;
};

struct build_finished {
  std::int64_t build_id = 0;
  int attempt = 1;
  work::build_result result;
};

struct check_finished {
  std::int64_t sequence = 0;
  std::string resource;
  work::check_result result;
};

/// server → worker (control): the final status of (build, attempt) is stored; the worker stops
/// sending its build_finished again.
struct recorded {
  std::int64_t build_id = 0;
  int attempt = 1;
};

struct heartbeat {
  std::vector<std::string> tags;
  std::vector<std::string> queues;
  int concurrency = 1;
  std::vector<std::pair<std::int64_t, int>> running;  // (build id, attempt)
  std::string status = "healthy";                     // healthy | draining
  // the jobs partitions this worker consumes (the server places work on a worker with free slots
  // by writing to one of them); optional on the wire
  std::vector<std::pair<std::string, int>> partitions;  // (topic, partition)
};

/// server → itself (events): the server writes one to the events topic every few hundred
/// milliseconds and reads it back, so it knows whether it can hear the broker (a worker's lease
/// counts only while it can). `server` tells one server start from another.
struct probe {
  std::string server;
  std::uint64_t seq = 0;
};

using message = std::variant<run_build, run_check, cancel_build, drain, accepted, step_started,
                             log_chunk, step_finished, build_decided, build_finished,
                             check_finished, heartbeat, recorded, probe>;

struct envelope {
  std::string worker;           // sender worker name ("" when the server sends)
  std::string token;            // the worker token on worker messages ("" from the server)
  std::int64_t sent_at_ms = 0;  // unix ms
  message body;
};

/// Inputs larger than this are refused by `decode`.
constexpr std::size_t max_message_bytes = 16u << 20;

/// JSON nesting deeper than this is refused by `decode` (before parsing).
constexpr int max_depth = 64;

/// One JSON object (compact, valid UTF-8: invalid bytes in strings become U+FFFD). Never throws
/// on account of the content.
std::string encode(const envelope& e);

/// Parses and validates one message. Throws decode_error, and only decode_error: not JSON, not
/// an object, "v" missing or not 1, unknown "type", a missing or wrongly typed field, an unknown
/// enum value, an out-of-range number (attempt/build_id/concurrency >= 1, durations >= 0), an
/// input larger than max_message_bytes or nested deeper than max_depth.
envelope decode(std::string_view text);

/// Now, in Unix milliseconds (`sent_at_ms`).
std::int64_t now_ms();

/// An envelope sent now by `worker` ("" for the server) with `token` ("" from the server).
envelope stamped(std::string worker, std::string token, message body);

/// "run_build", "run_check", ... as on the wire.
const char* type_name(const message& m);

/// The Kafka key: the build id in decimal for build messages, "check:<sequence>" for checks, ""
/// otherwise (heartbeat, drain, probe).
std::string key_of(const message& m);

}  // namespace pikoci::wire
