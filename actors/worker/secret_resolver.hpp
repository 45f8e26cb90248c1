#pragma once
// Resolves secret placeholders where the command runs (reference §1.10): before each command the
// placeholders in its params, args and environment layers become the fetched values. Variables
// sharing (type, path) cause one fetch per build (or check); a type's config may itself hold
// placeholders (bounded depth). Every value resolved is remembered for masking. Thread-safe:
// in_parallel children resolve and log at once.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/model/secrets.hpp"
#include "actors/model/work.hpp"

namespace pikoci::worker {

/// A fetched value, or why not.
struct secret_answer {
  std::optional<std::string> value;
  std::string error;
};

/// Runs a secret type's `get` command: its whole output, or the failure.
using secret_command_fn = std::function<secret_answer(const work::command_spec&)>;
/// Reads the internal store: `name` in `pipeline`'s scope, else the team's.
using secret_store_fn =
    std::function<secret_answer(const std::string& pipeline, const std::string& name)>;

/// How deep a secret type's config may refer to other secrets.
inline constexpr int max_secret_nesting = 5;

/// Parses a get command's output: its last non-empty line must be a JSON object; string values
/// are taken as they are, other values as JSON text. Error message on failure.
std::optional<std::map<std::string, std::string>> parse_secret_output(const std::string& output,
                                                                      std::string& error);

class secret_resolver {
 public:
  secret_resolver(work::secret_plan plan, secret_command_fn run, secret_store_fn store);

  /// Whether `text` holds a placeholder at all (cheap).
  static bool mentions(const std::string& text);
  bool active() const { return !plan_.empty(); }

  /// Replaces the placeholders in `text`; "" or the error (names variable and type).
  std::string resolve(std::string& text);
  std::string resolve(work::env_map& m);
  std::string resolve(work::command_spec& c);

  /// The values resolved so far, as a masker (shared: cheap to take on every log chunk).
  std::shared_ptr<const work::masker> masker() const;

 private:
  using object = std::map<std::string, std::string>;
  struct fetched {
    std::optional<object> values;
    std::string error;
  };
  std::string resolve_text(std::string& text, int depth);
  std::string value_of(const work::secret_variable& v, int depth, std::string& out);
  fetched fetch(const work::secret_variable& v, int depth);
  void remember(const std::string& value);

  work::secret_plan plan_;
  secret_command_fn run_;
  secret_store_fn store_;
  std::vector<std::pair<std::string, const work::secret_variable*>> holders_;  // longest first
  // fetches (which may take a while) under mu_; the masker under its own lock, so that logging
  // never waits for a fetch
  std::recursive_mutex mu_;
  std::map<std::pair<std::string, std::string>, fetched> cache_;
  std::vector<std::string> values_;
  mutable std::mutex mask_mu_;
  std::shared_ptr<const work::masker> masker_ = std::make_shared<work::masker>();
};

}  // namespace pikoci::worker
