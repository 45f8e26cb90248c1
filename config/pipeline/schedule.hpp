#pragma once
// Resource check schedules: `@every <duration>` or a 5-field cron expression.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline/duration.hpp"

namespace pikoci::pipeline {

using sys_time = std::chrono::system_clock::time_point;

/// A parsed check_interval. Cron fields: minute hour day-of-month month day-of-week, with `*`,
/// lists `a,b`, ranges `a-b`, steps `*/n` and `a-b/n`, month and weekday names (jan, mon), and
/// the descriptors @hourly @daily @midnight @weekly @monthly @yearly @annually. Times are UTC.
class schedule {
 public:
  /// Parses `spec`; on failure returns nullopt and sets `error` to a readable reason.
  static std::optional<schedule> parse(std::string_view spec, std::string& error);

  /// The first activation strictly after `after`.
  sys_time next(sys_time after) const;

  /// The shortest gap between two activations (for @every: the interval; for cron: computed
  /// over the expression's cycle). Used to enforce the 10 s minimum.
  duration min_interval() const;

  bool is_every() const { return every_.has_value(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::optional<duration> every_;
  // cron: allowed values as bitmaps
  std::uint64_t minutes_ = 0;                     // bits 0..59
  std::uint32_t hours_ = 0;                       // bits 0..23
  std::uint32_t days_ = 0;                        // bits 1..31
  std::uint16_t months_ = 0;                      // bits 1..12
  std::uint8_t weekdays_ = 0;                     // bits 0..6 (0 = Sunday; 7 is accepted as Sunday)
  bool day_star_ = false, weekday_star_ = false;  // cron's dom/dow OR rule

  /// Whether the cron day fields select this date (the dom/dow OR rule applied).
  bool day_matches(unsigned day_of_month, unsigned weekday) const;
};

}  // namespace pikoci::pipeline
