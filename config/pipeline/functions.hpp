#pragma once
// The function library available to pipeline expressions (Terraform-like, as PikoCI's).

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/pipeline/value.hpp"

namespace pikoci::hcl {

/// Result of a function call: a value, or an error message (`arg` is the 0-based index of the
/// argument the error is about, or -1 for the call as a whole).
struct function_result {
  value v;
  std::string error;
  int arg = -1;
  bool ok() const { return error.empty(); }
  static function_result success(value v) { return {std::move(v), {}, -1}; }
  static function_result failure(std::string msg, int arg = -1) {
    return {value{}, std::move(msg), arg};
  }
};

/// A function: its parameter names (for messages), whether the last one is variadic, and the
/// implementation. Arity is checked by the caller before `impl` runs.
struct function_def {
  std::vector<std::string> params;
  bool variadic = false;  // the last entry of params is the variadic one (0..n values)
  std::function<function_result(const std::vector<value>&)> impl;
};

using function_table = std::map<std::string, function_def>;

/// Every function the reference lists: string, collection, numeric, encoding, date/time, regex,
/// set and conversion functions.
const function_table& builtin_functions();

}  // namespace pikoci::hcl
