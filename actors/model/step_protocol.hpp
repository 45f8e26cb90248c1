#pragma once
// The plain rules of PikoCI's step protocol (reference §1.1 "runner-template time", §1.11, §2,
// §1.9 task outputs): how a runner command line is expanded on the worker, how check/put output
// is read, how versions and task outputs become environment variables. Pure functions, no I/O.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pikoci::work {

/// A runner's command template after the server resolved which runner it is: for `exec`
/// path="$path", args=["$args"]; for `shell` path="$shell" (default /bin/sh), args=["-ec","$cmd"];
/// for a `runner_type` its `run { path, args }`.
struct runner_template {
  std::string path;
  std::vector<std::string> args;
};

/// The expanded argv, or nothing to run (the path expanded to "": success with no output).
struct expanded_command {
  bool skip = false;
  std::string path;
  std::vector<std::string> args;
};

/// Looks a name up: the step's params first, then the worker's environment, else "".
using lookup_fn = std::function<std::optional<std::string>(const std::string&)>;

/// Go os.Expand semantics for one element: `$name` and `${name}` are replaced (name =
/// [A-Za-z0-9_]+, or one special char after `$` as Go does); a `$` followed by anything else
/// stays as it is, as in Go.
std::string expand(std::string_view text, const lookup_fn& lookup);

/// Expands a template: an element exactly "$args" becomes `step_args` verbatim (spliced, not
/// expanded); other elements are expanded; elements that expand to "" are dropped; a path that
/// expands to "" means skip.
expanded_command expand_template(const runner_template& t, const lookup_fn& lookup,
                                 const std::vector<std::string>& step_args);

/// Result of reading a check's output.
struct check_output {
  std::vector<nlohmann::json> versions;  // objects, in output order (oldest first)
  std::optional<std::string> error;      // set when the last line is not a JSON array of objects
};

/// The last non-empty line of `log` parsed as a JSON array of objects; an empty log or `[]` is
/// "nothing new" (no error).
check_output parse_check_output(std::string_view log);

/// Versions printed by a put: like parse_check_output, but output that is not a JSON array is
/// simply "no versions" (puts may print anything).
std::vector<nlohmann::json> parse_put_versions(std::string_view log);

/// Flattens a version object into key → string: nested objects join keys with '_', arrays use
/// numeric indexes, numbers and bools are stringified, null becomes "".
/// {"ref":"a","meta":{"n":1},"tags":["x"]} → {ref:a, meta_n:1, tags_0:x}
std::map<std::string, std::string> flatten_version(const nlohmann::json& version);

/// `version_<k>` variables for check/get/put environments.
std::map<std::string, std::string> version_env(const nlohmann::json& version);

/// `GET_<STEP>_<KEY>` exports of a successful get (step = env_key(resource name), key =
/// uppercased flattened key with non-alphanumerics → '_', the `version_` prefix stripped).
std::map<std::string, std::string> get_exports(const std::string& step_name,
                                               const nlohmann::json& version);

/// Parses a task's $PIKOCI_OUTPUT file into `TASK_<STEP>_<KEY>` exports: KEY=VALUE lines split at
/// the first '=', `#` comments and blank lines skipped, keys uppercased with non-alphanumerics →
/// '_', at most 1 MiB read (the rest is ignored).
std::map<std::string, std::string> task_exports(const std::string& step_name,
                                                std::string_view output_file);

}  // namespace pikoci::work
