#pragma once
// Go-style durations ("30s", "5m", "1h30m", "250ms", "1.5h") as the pipeline language uses them.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pikoci::pipeline {

using duration = std::chrono::nanoseconds;

/// Parses like Go's time.ParseDuration (units ns, us, µs, ms, s, m, h; sign; fractions; "0").
/// nullopt when the text is not a duration or overflows.
std::optional<duration> parse_duration(std::string_view text);

/// Formats like Go's Duration.String(): "1h30m0s", "250ms", "0s".
std::string format_duration(duration d);

}  // namespace pikoci::pipeline
