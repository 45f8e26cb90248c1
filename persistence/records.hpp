#pragma once
// The stored records (keys.hpp has where each lives) as plain data, and their JSON. Decoding is
// tolerant the way restoring always was: a missing field takes its default; a field of the wrong
// type throws (std::exception; the owner skips the record or fails its restore) unless said
// otherwise. Times stay text here (the owners format and parse them). A build's record is
// model::build_record's own (to_record/from_record).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pikoci::persistence {

/// What a pipeline remembers about one of its jobs (`pipeline/<p>`, "jobs").
struct job_settings {
  std::optional<bool> paused;  // missing: the pipeline's pause
  std::int64_t baseline = 0;   // versions up to here never trigger the job automatically
};

/// What a pipeline remembers about one of its resources (`pipeline/<p>`, "resources").
struct resource_settings {
  std::optional<std::int64_t> pinned;        // a non-number reads as not pinned
  std::optional<std::string> webhook_token;  // missing: a new one
};

/// The pipeline's record (`pipeline/<p>`): its text and everything set on it through the API.
struct pipeline_record {
  std::string name;
  std::string text;
  nlohmann::json vars = nlohmann::json::object();  // any JSON reads back as it is
  std::map<std::string, std::string> sources;      // URL → the body fetched when it was set
  std::string created_at, updated_at;  // "" when missing or not text (the owner uses now)
  bool paused = false;
  // the concurrency rule; a "concurrency" that is not an object throws
  std::string mode;
  std::string group_template;
  bool cancel_running = false;
  // git push webhooks: ignored as a whole when "git_webhook" is not an object; delivery ids that
  // are not text are skipped
  std::string git_secret;
  std::vector<std::string> deliveries;  // oldest first
  std::map<std::string, job_settings> jobs;
  std::map<std::string, resource_settings> resources;
  /// Entries of "jobs"/"resources" that do not decode, by name, with why; "" names the whole
  /// member (missing or not an object). Only the entries the pipeline's config names matter:
  /// settings_of throws for those.
  std::map<std::string, std::string> bad_jobs, bad_resources;
};

nlohmann::json to_json(const pipeline_record& r);
/// Throws only for the top-level fields (see pipeline_record); a document that is not an object
/// throws.
pipeline_record pipeline_from_json(const nlohmann::json& doc);
/// Only what loading the pipeline's text needs, before the whole record is restored: its text
/// and vars (as pipeline_from_json reads them; throws when the text is not text).
std::string pipeline_text(const nlohmann::json& doc);
nlohmann::json pipeline_vars(const nlohmann::json& doc);
/// The bodies of its `source` URLs as they were fetched when it was set (entries that are not
/// text are skipped; none in records written before they were kept).
std::map<std::string, std::string> pipeline_sources(const nlohmann::json& doc);
/// The stored settings of job `name` (defaults when it has none); throws when its entry, or the
/// whole "jobs" member, did not decode.
job_settings job_settings_of(const pipeline_record& r, const std::string& name);
/// The same for resource `canonical`.
resource_settings resource_settings_of(const pipeline_record& r, const std::string& canonical);

/// One resource version (`version/<p>/<id>`).
struct version_entry {
  std::int64_t id = 0;
  std::string resource;  // canonical
  nlohmann::json version;
  std::string created_at;
};

nlohmann::json to_json(const version_entry& v);
/// Every field is required.
version_entry version_from_json(const nlohmann::json& j);

/// What a build used, for `passed` (`usage/<p>/<build id>`).
struct usage_entry {
  std::string job;
  bool pending = true;
  bool passed = false;
  std::map<std::string, std::int64_t> gets;  // get step name → version id
};

nlohmann::json to_json(const usage_entry& u);
/// Every field is required.
usage_entry usage_from_json(const nlohmann::json& j);

/// A resource's last check (`check/<p>/<canonical>`).
struct check_entry {
  std::optional<std::string> last_check_at;  // none: never checked
  std::optional<std::string> check_error;
};

nlohmann::json to_json(const check_entry& c);
/// Never throws: anything but an object, or a `last_check_at` that is not text, reads as never
/// checked; a `check_error` that is not text as none.
check_entry check_from_json(const nlohmann::json& j);

}  // namespace pikoci::persistence
