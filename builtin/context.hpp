#pragma once
// What a built-in handler sees: the command's environment and its output streams.

#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace pikoci::builtin {

/// A handler's inputs and outputs. `lookup` reads a variable (the process environment in
/// `pikoci-node builtin`, a map in unit tests).
class context {
 public:
  using lookup_fn = std::function<std::optional<std::string>(const std::string&)>;
  context(lookup_fn lookup, std::ostream& out, std::ostream& err)
      : lookup_(std::move(lookup)), out_(out), err_(err) {}

  /// A variable, "" when unset.
  std::string var(const std::string& name) const { return lookup_(name).value_or(""); }
  std::string param(const std::string& k) const { return var("param_" + k); }
  std::string version(const std::string& k) const { return var("version_" + k); }
  std::string put(const std::string& k) const { return var("put_" + k); }
  /// The build's (or check's) work directory; the current directory when unset.
  std::filesystem::path workdir() const;
  /// `$CACHE_DIR`, when the resource has a cache.
  std::optional<std::filesystem::path> cache_dir() const;

  std::ostream& out() const { return out_; }
  std::ostream& err() const { return err_; }
  /// Prints `versions` (a JSON array of objects) as the last output line: what a check or a put
  /// reports.
  void emit_versions(const nlohmann::json& versions) const;
  /// Reports a failure on the error stream; returns the exit code 1 for `return ctx.fail(...)`.
  int fail(const std::string& message) const;

 private:
  lookup_fn lookup_;
  std::ostream& out_;
  std::ostream& err_;
};

using handler_fn = std::function<int(const context&)>;

}  // namespace pikoci::builtin
