#include "config/pipeline/schedule.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <limits>
#include <utility>

namespace pikoci::pipeline {

namespace {

using std::chrono::minutes;

struct named_value {
  std::string_view name;
  unsigned value;
};

constexpr named_value month_names[] = {{"jan", 1}, {"feb", 2},  {"mar", 3},  {"apr", 4},
                                       {"may", 5}, {"jun", 6},  {"jul", 7},  {"aug", 8},
                                       {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12}};
constexpr named_value weekday_names[] = {{"sun", 0}, {"mon", 1}, {"tue", 2}, {"wed", 3},
                                         {"thu", 4}, {"fri", 5}, {"sat", 6}};

struct field_spec {
  unsigned min;
  unsigned max;    // where `*` and `N/step` end
  unsigned limit;  // largest explicit value; only day-of-week differs (7 = Sunday)
  const named_value* names;
  std::size_t name_count;
};

constexpr field_spec minute_field{0, 59, 59, nullptr, 0};
constexpr field_spec hour_field{0, 23, 23, nullptr, 0};
constexpr field_spec day_field{1, 31, 31, nullptr, 0};
constexpr field_spec month_field{1, 12, 12, month_names, std::size(month_names)};
constexpr field_spec weekday_field{0, 6, 7, weekday_names, std::size(weekday_names)};

struct parsed_field {
  std::uint64_t bits = 0;
  bool star = false;  // an unstepped `*` or `?`, which switches off the dom/dow OR rule
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// strconv.Atoi-like (optional '+'); robfig/cron rejects negatives separately, but a '-' can
// never reach here because it separates range ends.
std::optional<unsigned> parse_number(std::string_view s, std::string& error) {
  std::string_view digits = s;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  bool ok = !digits.empty();
  unsigned long value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 1000000) {
      error = "failed to parse int from " + std::string(s) + ": value out of range";
      return std::nullopt;
    }
  }
  if (!ok) {
    error = "failed to parse int from " + std::string(s) + ": invalid syntax";
    return std::nullopt;
  }
  return static_cast<unsigned>(value);
}

std::optional<unsigned> parse_value(std::string_view s, const field_spec& field,
                                    std::string& error) {
  std::string name = lower(s);
  for (std::size_t i = 0; i < field.name_count; ++i) {
    if (field.names[i].name == name) return field.names[i].value;
  }
  return parse_number(s, error);
}

// One comma-separated element: `*`, `?`, `a`, `a-b`, each optionally `/step` (robfig getRange).
std::optional<parsed_field> parse_range(std::string_view expr, const field_spec& field,
                                        std::string& error) {
  auto range_and_step = split(expr, '/');
  auto low_and_high = split(range_and_step[0], '-');
  bool single = low_and_high.size() == 1;
  std::string expr_text(expr);

  unsigned start = 0, end = 0, step = 1;
  bool star = false;
  if (low_and_high[0] == "*" || low_and_high[0] == "?") {
    start = field.min;
    end = field.max;
    star = true;
  } else {
    auto low = parse_value(low_and_high[0], field, error);
    if (!low) return std::nullopt;
    start = end = *low;
    if (low_and_high.size() == 2) {
      auto high = parse_value(low_and_high[1], field, error);
      if (!high) return std::nullopt;
      end = *high;
    } else if (low_and_high.size() > 2) {
      error = "too many hyphens: " + expr_text;
      return std::nullopt;
    }
  }

  if (range_and_step.size() == 2) {
    auto parsed = parse_number(range_and_step[1], error);
    if (!parsed) return std::nullopt;
    step = *parsed;
    if (single) end = field.max;  // "N/step" means "N-max/step"
    if (step > 1) star = false;
  } else if (range_and_step.size() > 2) {
    error = "too many slashes: " + expr_text;
    return std::nullopt;
  }

  if (start < field.min) {
    error = "beginning of range (" + std::to_string(start) + ") below minimum (" +
            std::to_string(field.min) + "): " + expr_text;
    return std::nullopt;
  }
  if (end > field.limit) {
    error = "end of range (" + std::to_string(end) + ") above maximum (" +
            std::to_string(field.limit) + "): " + expr_text;
    return std::nullopt;
  }
  if (start > end) {
    error = "beginning of range (" + std::to_string(start) + ") beyond end of range (" +
            std::to_string(end) + "): " + expr_text;
    return std::nullopt;
  }
  if (step == 0) {
    error = "step of range should be a positive number: " + expr_text;
    return std::nullopt;
  }

  parsed_field out;
  out.star = star;
  for (unsigned v = start; v <= end; v += step) out.bits |= std::uint64_t{1} << v;
  return out;
}

std::optional<parsed_field> parse_field(std::string_view text, const field_spec& field,
                                        std::string& error) {
  parsed_field out;
  for (std::string_view part : split(text, ',')) {
    auto range = parse_range(part, field, error);
    if (!range) return std::nullopt;
    out.bits |= range->bits;
    out.star = out.star || range->star;
  }
  return out;
}

std::string_view descriptor_expansion(std::string_view descriptor) {
  if (descriptor == "@yearly" || descriptor == "@annually") return "0 0 1 1 *";
  if (descriptor == "@monthly") return "0 0 1 * *";
  if (descriptor == "@weekly") return "0 0 * * 0";
  if (descriptor == "@daily" || descriptor == "@midnight") return "0 0 * * *";
  if (descriptor == "@hourly") return "0 * * * *";
  return {};
}

// Proleptic Gregorian calendar conversions (H. Hinnant's days_from_civil / civil_from_days).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil_date {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

civil_date civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

unsigned weekday_from_days(std::int64_t z) {
  return static_cast<unsigned>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

bool is_leap(std::int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

unsigned days_in_month(std::int64_t y, unsigned m) {
  constexpr unsigned lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : lengths[m - 1];
}

bool has_bit(std::uint64_t bits, unsigned i) {
  return (bits >> i) & 1;
}

std::vector<unsigned> set_bits(std::uint64_t bits, unsigned max) {
  std::vector<unsigned> out;
  for (unsigned i = 0; i <= max; ++i) {
    if (has_bit(bits, i)) out.push_back(i);
  }
  return out;
}

// The smallest difference between consecutive values, or nullopt with fewer than two.
std::optional<unsigned> min_step(const std::vector<unsigned>& sorted) {
  std::optional<unsigned> best;
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    unsigned gap = sorted[i] - sorted[i - 1];
    if (!best || gap < *best) best = gap;
  }
  return best;
}

// A minute-resolution calendar position; the advance_* helpers carry into larger fields and
// reset the smaller ones, as the cron search needs.
struct cursor {
  std::int64_t year;
  unsigned month, day, hour, minute;

  void advance_month() {
    day = 1;
    hour = minute = 0;
    if (++month > 12) {
      month = 1;
      ++year;
    }
  }
  void advance_day() {
    if (++day > days_in_month(year, month)) return advance_month();
    hour = minute = 0;
  }
  void advance_hour() {
    if (++hour > 23) return advance_day();
    minute = 0;
  }
  void advance_minute() {
    if (++minute > 59) advance_hour();
  }
};

// The search gives up after this many years: the expression can never fire (e.g. Feb 30).
// Eight, not robfig's five, so that Feb 29 still fires across a skipped century leap day
// (2096 → 2104).
constexpr std::int64_t search_years = 8;

// min_interval's calendar walk starts on a leap year and covers a full 28-year weekday/leap
// cycle, so every dom/dow/month pattern's tightest spacing shows up.
constexpr std::int64_t walk_first_year = 2000;
constexpr std::int64_t walk_end_year = 2029;

}  // namespace

bool schedule::day_matches(unsigned day_of_month, unsigned weekday) const {
  bool dom = has_bit(days_, day_of_month);
  bool dow = has_bit(weekdays_, weekday);
  if (day_star_ || weekday_star_) return dom && dow;
  return dom || dow;
}

std::optional<schedule> schedule::parse(std::string_view spec, std::string& error) {
  schedule out;
  out.text_ = std::string(spec);
  std::string_view text = trim(spec);
  if (text.empty()) {
    error = "empty schedule";
    return std::nullopt;
  }

  if (text[0] == '@') {
    auto words = split_whitespace(text);
    if (words[0] == "@every") {
      std::string_view rest = trim(text.substr(words[0].size()));
      auto interval = parse_duration(rest);
      if (!interval) {
        error = "invalid duration in \"" + std::string(text) + "\"";
        return std::nullopt;
      }
      if (*interval <= duration::zero()) {
        error = "@every interval must be positive: \"" + std::string(text) + "\"";
        return std::nullopt;
      }
      out.every_ = interval;
      return out;
    }
    std::string_view expansion = words.size() == 1 ? descriptor_expansion(words[0]) : "";
    if (expansion.empty()) {
      error = "unknown descriptor " + std::string(words.size() == 1 ? words[0] : text);
      return std::nullopt;
    }
    text = expansion;
  }

  auto fields = split_whitespace(text);
  if (fields.size() != 5) {
    error = "expected exactly 5 fields, found " + std::to_string(fields.size()) + ": \"" +
            std::string(text) + "\"";
    return std::nullopt;
  }
  auto minute = parse_field(fields[0], minute_field, error);
  if (!minute) return std::nullopt;
  auto hour = parse_field(fields[1], hour_field, error);
  if (!hour) return std::nullopt;
  auto day = parse_field(fields[2], day_field, error);
  if (!day) return std::nullopt;
  auto month = parse_field(fields[3], month_field, error);
  if (!month) return std::nullopt;
  auto weekday = parse_field(fields[4], weekday_field, error);
  if (!weekday) return std::nullopt;

  out.minutes_ = minute->bits;
  out.hours_ = static_cast<std::uint32_t>(hour->bits);
  out.days_ = static_cast<std::uint32_t>(day->bits);
  out.months_ = static_cast<std::uint16_t>(month->bits);
  // Bit 7 (the alternative spelling of Sunday) folds onto bit 0.
  out.weekdays_ = static_cast<std::uint8_t>((weekday->bits | (weekday->bits >> 7)) & 0x7f);
  out.day_star_ = day->star;
  out.weekday_star_ = weekday->star;
  return out;
}

sys_time schedule::next(sys_time after) const {
  if (every_) {
    if (after.time_since_epoch() > sys_time::duration::max() - *every_) return sys_time::max();
    return after + std::chrono::duration_cast<sys_time::duration>(*every_);
  }

  const std::int64_t first = std::chrono::floor<minutes>(after.time_since_epoch()).count() + 1;
  std::int64_t day_number = first >= 0 ? first / 1440 : -((-first + 1439) / 1440);
  auto minute_of_day = static_cast<unsigned>(first - day_number * 1440);
  civil_date date = civil_from_days(day_number);
  cursor at{date.year, date.month, date.day, minute_of_day / 60, minute_of_day % 60};

  const std::int64_t last_year = at.year + search_years;
  while (at.year <= last_year) {
    if (!has_bit(months_, at.month)) {
      at.advance_month();
      continue;
    }
    if (!day_matches(at.day, weekday_from_days(days_from_civil(at.year, at.month, at.day)))) {
      at.advance_day();
      continue;
    }
    if (!has_bit(hours_, at.hour)) {
      at.advance_hour();
      continue;
    }
    if (!has_bit(minutes_, at.minute)) {
      at.advance_minute();
      continue;
    }
    const std::int64_t found =
        days_from_civil(at.year, at.month, at.day) * 1440 + at.hour * 60 + at.minute;
    const std::int64_t limit = std::chrono::floor<minutes>(sys_time::duration::max()).count();
    if (found > limit) return sys_time::max();
    return sys_time(std::chrono::duration_cast<sys_time::duration>(minutes(found)));
  }
  return sys_time::max();
}

duration schedule::min_interval() const {
  if (every_) return *every_;

  // Every selected hour of a selected day fires at every selected minute, so the tightest gap
  // is one of: two minutes in one hour, the last minute of an hour to the first of the next
  // selected hour, or the last activation of a day to the first of the next selected day. Only
  // the day spacing depends on the calendar; walking days (not activations) keeps this cheap.
  const auto minute_list = set_bits(minutes_, 59);
  const auto hour_list = set_bits(hours_, 23);

  std::optional<std::int64_t> prev_day, min_day_gap;
  std::int64_t day_index = 0;
  unsigned weekday = weekday_from_days(days_from_civil(walk_first_year, 1, 1));
  cursor at{walk_first_year, 1, 1, 0, 0};
  while (at.year < walk_end_year && min_day_gap != 1) {
    const unsigned length = days_in_month(at.year, at.month);
    if (!has_bit(months_, at.month)) {
      const unsigned skipped = length - at.day + 1;
      day_index += skipped;
      weekday = (weekday + skipped) % 7;
      at.advance_month();
      continue;
    }
    if (day_matches(at.day, weekday)) {
      if (prev_day && (!min_day_gap || day_index - *prev_day < *min_day_gap)) {
        min_day_gap = day_index - *prev_day;
      }
      prev_day = day_index;
    }
    ++day_index;
    weekday = (weekday + 1) % 7;
    at.advance_day();
  }
  if (!prev_day || minute_list.empty() || hour_list.empty()) return duration::max();

  std::optional<std::int64_t> best;
  auto consider = [&best](std::int64_t gap_minutes) {
    if (!best || gap_minutes < *best) best = gap_minutes;
  };
  const std::int64_t minute_span = minute_list.back() - minute_list.front();
  if (auto step = min_step(minute_list)) consider(*step);
  if (auto step = min_step(hour_list)) consider(std::int64_t{*step} * 60 - minute_span);
  if (min_day_gap) {
    const std::int64_t day_span = (hour_list.back() - hour_list.front()) * 60 + minute_span;
    consider(*min_day_gap * 1440 - day_span);
  }
  if (!best) return duration::max();
  return std::chrono::duration_cast<duration>(minutes(*best));
}

}  // namespace pikoci::pipeline
