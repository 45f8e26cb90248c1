#pragma once
// Source positions and diagnostics shared by the lexer, parser, evaluator and validation.

#include <cstddef>
#include <string>
#include <vector>

namespace pikoci::hcl {

/// A position in a source file. Lines and columns start at 1; columns count Unicode code points.
struct pos {
  int line = 1;
  int column = 1;
  std::size_t byte = 0;
};

/// A half-open source range [start, end).
struct range {
  pos start;
  pos end;
};

/// One error found in a pipeline file. `summary` is short ("Unsupported block type"), `detail`
/// explains it ("Blocks of type \"tsk\" are not expected here. Did you mean \"task\"?").
struct diagnostic {
  range rng;
  std::string summary;
  std::string detail;

  /// "summary: detail" (or just the summary when there is no detail).
  std::string message() const { return detail.empty() ? summary : summary + ": " + detail; }
};

/// Errors accumulate: every phase reports all it finds and keeps going where it can.
class diagnostics {
 public:
  void add(range rng, std::string summary, std::string detail = {}) {
    items_.push_back(diagnostic{rng, std::move(summary), std::move(detail)});
  }
  void append(const diagnostics& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  }
  bool has_errors() const { return !items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<diagnostic>& items() const { return items_; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  /// Sorts by position (stable), so output reads top to bottom.
  void sort();

  /// "FILE:LINE:COL: message" lines, one per diagnostic, each ending in '\n'.
  std::string format(const std::string& file) const;

 private:
  std::vector<diagnostic> items_;
};

}  // namespace pikoci::hcl
