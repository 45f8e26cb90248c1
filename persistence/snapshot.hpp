#pragma once
// Reading a store back at start-up (SPEC §8): everything stored about each pipeline, grouped the
// way the actors that own it need it. Records stay JSON here; their owners parse them.

#include <cstdint>
#include <map>
#include <string>
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
};

/// Every stored pipeline. A record that does not parse is skipped with an error in the log
/// (the rest of the pipeline still loads); throws store_error when the store cannot be read.
std::vector<stored_pipeline> load_pipelines(const store& s);

}  // namespace pikoci::persistence
