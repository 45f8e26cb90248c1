#pragma once
// Notifications (reference §1.8) as the outbox carries them: one message per notification and
// build end, with a stable id, its rendered HTTP request and its delivery state. Plain data and
// pure functions (matching, rendering, backoff), unit-tested without actors; the outbox actor
// (actors/protocols/outbox.hpp) owns the messages at run time.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/build.hpp"
#include "config/pipeline/model.hpp"

namespace pikoci::model {

/// pending: waiting for its next attempt (or being sent); delivered: a 2xx came back; failed:
/// the retry limit was reached (it stays visible until retried through the API).
enum class delivery_status { pending, delivered, failed };
const char* to_string(delivery_status s);
std::optional<delivery_status> parse_delivery_status(const std::string& s);

/// The built-in delivery kinds: what the node sends itself, through libcurl.
bool is_builtin_delivery(const std::string& kind);  // http, slack, discord

/// One message of the outbox. `id` is made once, when the message is created, and sent with
/// every attempt (`X-PikoCI-Delivery`, `Idempotency-Key`) so receivers can de-duplicate.
struct notification_message {
  std::string id;
  std::string pipeline, job;
  std::int64_t build_id = 0;
  std::string build_number;
  std::string notification;  // canonical `<type>.<name>`
  std::string kind;          // http, slack, discord
  std::string url;
  std::string body;  // the JSON text POSTed
  time_point created_at{};
  int attempts = 0;
  std::optional<time_point> next_attempt_at, delivered_at;
  std::string last_error;
  delivery_status status = delivery_status::pending;

  /// The API view (GET /api/v1/notifications): everything but url and body.
  nlohmann::json to_json() const;
  /// The stored form: a JSON object with `"type":"notification","v":1`.
  std::string to_record() const;
  /// Throws std::exception on a malformed record.
  static notification_message from_record(std::string_view text);
};

/// The event a final build status fires: succeeded → success, failed/warning/errored → failure,
/// cancelled → cancel; "" for statuses that fire nothing (skipped, and the non-final ones).
std::string event_of(build_status s);

/// Whether notification `n` fires automatically for a build of `job` that ended with `event`
/// (`on` lists it or is `all`; `jobs` names the job, or `exclude` does not).
bool fires(const pipeline::notification& n, const std::string& job, const std::string& event);

/// `$VAR` and `${VAR}` expanded from `env` (unknown ones become empty); a literal `\n` (backslash
/// and n) becomes a newline first.
std::string expand_message(std::string_view text, const std::map<std::string, std::string>& env);

/// `text` with every literal `\n` (backslash and n) turned into a newline.
std::string literal_newlines(std::string_view text);

/// The variables a notification message may use, from the build: BUILD_*, `BUILD_STATUS`,
/// `notify_build_status`, `INPUT_*` and the `GET_*` of its inputs.
std::map<std::string, std::string> message_env(const build_record& b);

/// The default text when a notification has no `message`.
std::string default_message(const build_record& b);

/// The message of `n` for build `b` (id made from the build id and the notification), its
/// request rendered: `http` POSTs {"id","pipeline","job","build":{...},"notification","event",
/// "status","message"} to param `url`; `slack` {"text"} and `discord` {"content"} to param
/// `webhook_url`. A `base_url` param replaces the scheme, host and port of that URL. A message
/// that cannot be rendered (no URL) comes back `failed` with the reason in `last_error`.
/// A notify step passes its own `id` and its attributes (`params` in the http body).
notification_message render(const pipeline::notification& n, const std::string& kind,
                            const build_record& b, const std::string& event,
                            const std::optional<std::string>& message, time_point now,
                            const std::string& id = {},
                            const std::map<std::string, std::string>& step_params = {});

/// The messages due for a build that just ended: every notification of built-in kind of the
/// pipeline that fires for its job and status. Notifications of command types are not here.
std::vector<notification_message> automatic_notifications(const pipeline::pipeline_config& cfg,
                                                          const build_record& b, time_point now);

/// What an `on_trigger` notify hook knows (reference §1.9): the version about to trigger builds
/// and the job reached from it; no build exists yet.
struct trigger_event {
  std::string pipeline, job;
  std::string resource;  // canonical
  std::int64_t version_id = 0;
  nlohmann::json version;
};

/// The variables of an `on_trigger` hook's message: `version_<k>` of the version (flattened),
/// `BUILD_JOB_NAME`, `BUILD_PIPELINE_NAME`, `BUILD_TEAM_NAME`, `BUILD_NUMBER` (empty: no build
/// yet) and `notify_<k>` from the step's attributes.
std::map<std::string, std::string> trigger_env(
    const trigger_event& t, const std::map<std::string, std::string>& step_params);

/// The message of the `index`th `on_trigger` notify step `step` of `t.job` (notification `n`, of
/// built-in `kind`): id `t-<resource>-<version id>-<job>-<index>`, so the same version never
/// sends it twice. `http` POSTs {"id","pipeline","job","build":null,"notification",
/// "event":"trigger","status":"","message","params","trigger":{"resource","version_id",
/// "version"}}; slack and discord as for builds. Unsendable ones come back `failed`, as render.
notification_message render_trigger(const pipeline::notification& n, const std::string& kind,
                                    const trigger_event& t, const pipeline::step& step,
                                    std::size_t index, time_point now);

/// The built-in kind a notification type delivers ("" when a `notify` command sends it).
std::string delivery_kind(const pipeline::pipeline_config& cfg, const std::string& type);

/// Exponential backoff with full jitter: after attempt n (1-based) the next one waits a uniform
/// random time in [1 ms, min(cap, base · factorⁿ⁻¹)].
struct backoff_policy {
  std::chrono::milliseconds base{1000};
  double factor = 2.0;
  std::chrono::milliseconds cap{300000};
  std::chrono::milliseconds ceiling(int attempts) const;
  std::chrono::milliseconds delay(int attempts, std::mt19937_64& rng) const;
};

}  // namespace pikoci::model
