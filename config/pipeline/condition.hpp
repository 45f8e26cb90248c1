#pragma once
// The condition language of `if` / `else_if` steps (reference §1.9.1), evaluated at run time
// against the build's environment ($GET_*, $TASK_*, $BUILD_*, $INPUT_*).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pikoci::pipeline {

/// A parsed condition. `==`/`!=` compare strings; `>`/`<` numerically when both sides parse as
/// numbers, else lexically; `contains`/`!contains` are substring tests; `&&` binds tighter than
/// `||`; parentheses group; values are single-quoted strings (no escapes) or bare words;
/// `$VAR`/`${VAR}` expand after tokenizing (undefined → ""); a lone value is truthy unless "",
/// "false" or "0" (case-insensitive); a leading `!` other than `!=`/`!contains` is an error; an
/// empty condition is true.
class condition {
 public:
  using lookup_fn = std::function<std::optional<std::string>(const std::string&)>;

  /// nullopt and `error` set when the text does not parse.
  static std::optional<condition> parse(std::string_view text, std::string& error);

  bool evaluate(const lookup_fn& lookup) const;

  const std::string& text() const { return text_; }

  struct node;  // implementation detail

 private:
  std::string text_;
  std::shared_ptr<const node> root_;
};

}  // namespace pikoci::pipeline
