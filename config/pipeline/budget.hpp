#pragma once
// The evaluation budget: what evaluating one pipeline may cost in values, nesting and time.
// A hostile or careless file (nested `for` loops, a 100k-element for_each, a runaway
// replace()) must end in a diagnostic, not in gigabytes of values or a stalled node.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "config/pipeline/diagnostics.hpp"

namespace pikoci::hcl {

class value;

/// Bounds of one evaluation. The defaults are far above what real pipelines use.
struct eval_limits {
  /// Estimated bytes of all values produced (every element, key and string byte, including
  /// copies made when an expression references a value), summed over the whole evaluation.
  std::size_t max_value_bytes = 256u * 1024 * 1024;
  /// Wall time of the whole evaluation.
  std::chrono::milliseconds max_time{10000};
  /// Nesting of any value (lists in lists, objects in objects).
  int max_value_depth = 1024;
};

/// Counts what an evaluation produces against its limits. Once a limit is exceeded the budget
/// stays exhausted and remembers the first place and reason; evaluation then stops at once.
/// Not thread-safe: one budget belongs to one evaluation on one thread.
class budget {
 public:
  explicit budget(const eval_limits& limits = {});

  /// Adds `bytes` produced at `where`; false once the budget is exhausted.
  bool charge(std::size_t bytes, const range& where);
  /// Charges a value's estimated footprint (itself and everything in it) and checks its
  /// nesting, which is stored in `depth`.
  bool charge_value(const value& v, const range& where, std::size_t& depth);
  /// Fails when a value nests `depth` levels, more than allowed.
  bool check_depth(std::size_t depth, const range& where);
  /// Checks the clock (cheaply: every few hundred calls); false once the time is up.
  bool tick(const range& where);
  /// Checks the clock now; false once the time is up.
  bool check_time(const range& where);
  /// Moves the deadline by `d`: time spent waiting on the network (fetching a `source` URL,
  /// which has its own timeout) is not evaluation time.
  void extend(std::chrono::steady_clock::duration d) { deadline_ += d; }
  /// Bytes that may still be produced.
  std::size_t remaining() const;

  /// Marks the budget exhausted with this reason (the first reason wins).
  void exhaust(const range& where, std::string summary, std::string detail);
  bool exhausted() const { return failure_.has_value(); }
  /// Why and where the budget ran out, once exhausted.
  const std::optional<diagnostic>& failure() const { return failure_; }
  const eval_limits& limits() const { return limits_; }

  /// The budget the current thread evaluates under, or nullptr (see budget_scope).
  static budget* current();

 private:
  eval_limits limits_;
  std::chrono::steady_clock::time_point deadline_;
  std::size_t used_ = 0;
  unsigned ticks_ = 0;
  std::optional<diagnostic> failure_;
};

/// Makes `b` the current thread's budget for its lifetime (restoring the previous one), so
/// that the evaluator and the functions it calls charge the same budget.
class budget_scope {
 public:
  explicit budget_scope(budget& b);
  ~budget_scope();
  budget_scope(const budget_scope&) = delete;
  budget_scope& operator=(const budget_scope&) = delete;

 private:
  budget* previous_;
};

/// Estimated memory of `v` and everything in it, and its nesting (0 for primitives and null,
/// 1 + the deepest element for sequences and collections).
struct value_measure {
  std::size_t bytes = 0;
  std::size_t depth = 0;
};
value_measure measure(const value& v);

/// "256 MiB", "10 s" style figures for messages.
std::string format_bytes(std::size_t bytes);

}  // namespace pikoci::hcl
