#pragma once
// Resource versions and the `passed` rules (reference §2.1 "Output", §5.3 "the scheduling core")
// as plain data and pure functions, owned later by the resource checker and job actors.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/ids.hpp"

namespace pikoci::server {

using version_id = std::int64_t;

/// One recorded version of a resource. Ids are global and monotonic: higher means newer.
struct version_record {
  version_id id = 0;
  std::string resource;  // canonical, e.g. "cron.timer"
  nlohmann::json version;
  std::chrono::system_clock::time_point created_at;
};

/// The versions of every resource of a node (or a pipeline), deduplicated by content.
class version_store {
 public:
  /// `ids` hands out the (node-global) ids; a private counter when null.
  explicit version_store(model::id_source_ptr ids = nullptr)
      : ids_(ids ? std::move(ids) : std::make_shared<model::id_source>()) {}

  /// Records `versions` of `resource` in order (oldest first), skipping any whose content is
  /// already recorded for that resource. Returns the ones actually created.
  std::vector<version_record> add(const std::string& resource,
                                  const std::vector<nlohmann::json>& versions,
                                  std::chrono::system_clock::time_point now);

  const version_record* latest(const std::string& resource) const;
  const version_record* find(version_id id) const;
  /// Newest first; `limit` 0 = all.
  std::vector<version_record> list(const std::string& resource, std::size_t limit = 0) const;
  /// Puts back a stored version (restore, in ascending id order).
  void restore(version_record rec);
  /// Forgets a resource and its versions (the resource left the pipeline).
  void remove(const std::string& resource);
  /// The highest id handed out so far (by this store or another one sharing its id source).
  version_id last_id() const { return ids_->last(); }
  /// Continues numbering after `id` (restore).
  void resume_after(version_id id) { ids_->observe(id); }

 private:
  model::id_source_ptr ids_;
  std::map<version_id, version_record> by_id_;
  std::map<std::string, std::vector<version_id>> by_resource_;  // ascending ids
  std::map<std::string, std::set<std::string>> content_;        // resource → dumped versions
};

/// What a build used, for `passed` decisions: its job, whether it is pending, whether it counts
/// as passing (succeeded or warning), and the version id each get step (by name) used.
struct build_usage {
  std::string job;
  bool pending = true;  // not started yet: waiting for approval or in the queue
  bool passed = false;
  std::map<std::string, version_id> gets;
};

/// Every build of a pipeline by what it used, indexed so that a `passed` decision costs the
/// number of versions involved, never a scan of the build history.
class usage_index {
 public:
  /// A build was created or changed: replaces what was recorded for `id`.
  void record(std::int64_t id, build_usage u);
  void erase(std::int64_t id);
  /// The job left the pipeline: its builds no longer count.
  /// Returns the ids of its builds.
  std::vector<std::int64_t> erase_job(const std::string& job);

  const build_usage* find(std::int64_t id) const;
  const std::map<std::int64_t, build_usage>& builds() const { return builds_; }
  /// Versions of get `step` that passing builds of `job` used (keys of the map, ascending).
  const std::map<version_id, int>& passed_with(const std::string& job,
                                               const std::string& step) const;
  /// Whether any build of `job` used version `v` in get `step`.
  bool used(const std::string& job, const std::string& step, version_id v) const;
  /// Whether `job` has a pending build.
  bool has_pending(const std::string& job) const;

 private:
  using key = std::pair<std::string, std::string>;  // job, step
  void count(const build_usage& u, int delta);

  std::map<std::int64_t, build_usage> builds_;
  std::map<key, std::map<version_id, int>> passed_, used_;  // version → builds
  std::map<std::string, int> pending_;                      // job → pending builds
};

/// The automatic trigger of one `get` with `passed` and `trigger = true` (reference §5.3.2).
struct passed_query {
  std::string step;                  // the get step's name (the resource name)
  std::string resource;              // its canonical
  std::vector<std::string> passed;   // upstream jobs (for_each groups already expanded)
  version_id baseline = 0;           // the job ignores versions up to here
  std::optional<version_id> pinned;  // the resource's pin
};

/// The version a `passed` get of `job` is ready with: the highest id that went through every
/// upstream job (a passing build whose same-named get used it), above the baseline, not yet used
/// by any build of `job`, and equal to the pin when pinned.
std::optional<version_id> ready_version(const passed_query& q, const std::string& job,
                                        const usage_index& usage, const version_store& versions);

/// For a build that runs a `passed` get without an automatic choice (manual trigger): the
/// highest version every upstream job passed with (reference §5.3.3), if any.
std::optional<version_id> highest_common_version(const std::string& step,
                                                 const std::vector<std::string>& passed,
                                                 const usage_index& usage);

}  // namespace pikoci::server
