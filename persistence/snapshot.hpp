#pragma once
// Reading a store back at start-up (SPEC §8): everything stored about each pipeline, grouped the
// way the actors that own it need it. Records stay JSON here; their owners decode them
// (records.hpp).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "persistence/store.hpp"

namespace pikoci::persistence {

struct stored_pipeline {
  std::string name;
  nlohmann::json doc;                            // keys::pipeline
  std::vector<nlohmann::json> versions;          // ascending id
  std::map<std::int64_t, nlohmann::json> usage;  // by build id
  std::map<std::string, nlohmann::json> checks;  // by canonical
  // by job, ascending id; left as text so each job parses its own (in parallel)
  std::map<std::string, std::vector<std::string>> builds;
  /// Not stored: why builds that were running are over once restored ("" = the node stopped;
  /// set when a pipeline is restarted after its actors failed).
  std::string orphan_reason;
};

/// Start-up, before load_pipelines: pipelines stored under a percent-encoded name (versions
/// before names in API paths were decoded stored `My%20Pipeline` for "My Pipeline") are renamed
/// to their decoded name, all their records with them, when that is a valid name no other
/// pipeline has; their pipeline secrets, sealed for the old name, are dropped (logged). A name
/// that cannot be renamed stays as it is, and load_pipelines refuses it with a log line.
/// Throws store_error when the store cannot be written.
void decode_stored_names(store& s);

/// Every stored pipeline whose name is valid (pipeline::is_valid_name; others are logged and
/// left in the store). A record that does not parse is skipped with an error in the log
/// (the rest of the pipeline still loads); throws store_error when the store cannot be read.
std::vector<stored_pipeline> load_pipelines(const store& s);

/// The same for the pipelines whose name `in_partition` accepts (cluster mode: the pipelines of
/// one partition), reading only their records.
std::vector<stored_pipeline> load_pipelines(
    const store& s, const std::function<bool(std::string_view)>& in_partition);

/// One stored pipeline (a pipeline restarted after its actors failed); nullopt when the store has
/// no document for it.
std::optional<stored_pipeline> load_pipeline(const store& s, const std::string& name);

}  // namespace pikoci::persistence
