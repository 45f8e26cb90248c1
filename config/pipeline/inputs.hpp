#pragma once
// The typed inputs of manual triggers (`input "<name>" { type, default, options, multiple }`):
// one set of rules for what a trigger gives (the API, the client, `pikoci-node run --input`)
// and for the declared defaults (`validate`, PUT /pipelines).

#include <map>
#include <string>
#include <variant>

#include "config/pipeline/model.hpp"

namespace pikoci::pipeline {

/// `raw` checked against `in`: "" and `value` set to what `$INPUT_<name>` holds, or why it is
/// refused (a message naming the input and what it allows). Numbers and bools are kept as given
/// (`true`/`false` exactly; a number is a decimal: `-?[0-9]+(\.[0-9]+)?`); with `multiple`, the
/// value is comma-separated and each item is checked, `value` then joins them with "," without
/// the blanks around items.
std::string check_input(const job_input& in, const std::string& raw, std::string& value);

/// The declared default as `$INPUT_<name>` text (a list joins its items with ","); "" when there
/// is none.
std::string default_text(const job_input& in);

/// A manual trigger's `given` values for `job`: every name declared, every input without a
/// default given, every value checked. The checked values (defaults not added), or why not.
std::variant<std::map<std::string, std::string>, std::string> trigger_values(
    const job& job, const std::map<std::string, std::string>& given);

}  // namespace pikoci::pipeline
