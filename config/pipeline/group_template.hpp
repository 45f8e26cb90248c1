#pragma once
// The concurrency group template of SPEC §6.1: a Go text/template subset rendered against a
// trigger. `{{.Field.Sub}}`, `{{index .Map "key"}}` (keys: string or integer literals, or field
// chains), `{{if X}}...{{else if Y}}...{{else}}...{{end}}`, and the trim markers `{{-` / `-}}`.
// Truthiness as Go's: false, 0, "", null, empty lists and maps are false. A missing field
// renders empty (Go prints "<no value>"), so a key that depends on it renders empty and the
// build fails with the reason instead of sharing a "<no value>" group.

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace pikoci::pipeline {

class group_template {
 public:
  /// Parses `text`; the error names the line and what was wrong.
  static std::variant<group_template, std::string> parse(std::string_view text);

  struct rendered {
    std::string text;
    std::string error;  // non-empty: rendering failed (index of a non-collection, ...)
  };
  /// Renders against `data` (an object such as {"Pipeline":..., "Job":..., "Args":[...],
  /// "Inputs":{...}, "Webhook":{...}}).
  rendered render(const nlohmann::json& data) const;

  const std::string& source() const { return source_; }

  struct node;

 private:
  std::string source_;
  std::shared_ptr<const std::vector<node>> nodes_;
};

/// The longest template `parse` accepts.
inline constexpr std::size_t max_group_template_size = 4096;

}  // namespace pikoci::pipeline
