#include "config/pipeline/schedule.hpp"

#include <doctest/doctest.h>

#include <ctime>
#include <string>

using namespace std::chrono_literals;
using pikoci::pipeline::duration;
using pikoci::pipeline::schedule;
using pikoci::pipeline::sys_time;

namespace {

bool leap(int y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

// Counts days naively so the expectations do not reuse the implementation's calendar maths.
sys_time utc(int y, unsigned mo, unsigned d, unsigned h = 0, unsigned mi = 0, unsigned s = 0) {
  static const unsigned lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::int64_t days = 0;
  for (int yy = 1970; yy < y; ++yy) days += leap(yy) ? 366 : 365;
  for (int yy = y; yy < 1970; ++yy) days -= leap(yy) ? 366 : 365;
  for (unsigned m = 1; m < mo; ++m) days += lengths[m - 1] + (m == 2 && leap(y) ? 1 : 0);
  days += d - 1;
  return sys_time(std::chrono::seconds(days * 86400 + h * 3600 + mi * 60 + s));
}

// "2024-06-02 Sun 00:00:00", with the weekday so day-of-week rules are visible in failures.
std::string iso(sys_time t) {
  if (t == sys_time::max()) return "never";
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %a %H:%M:%S", std::gmtime(&tt));
  return buf;
}

schedule must_parse(std::string_view spec) {
  std::string error;
  auto parsed = schedule::parse(spec, error);
  REQUIRE_MESSAGE(parsed.has_value(), error);
  return *parsed;
}

std::string parse_error(std::string_view spec) {
  std::string error;
  auto parsed = schedule::parse(spec, error);
  CHECK_FALSE(parsed.has_value());
  return error;
}

std::string next_after(std::string_view spec, sys_time after) {
  return iso(must_parse(spec).next(after));
}

}  // namespace

TEST_SUITE("config.schedule") {
  TEST_CASE("@every schedules run the interval after the previous time") {
    const schedule s = must_parse("@every 10s");
    CHECK(s.is_every());
    const sys_time t = utc(2024, 6, 1, 12, 0, 0) + 250ms;
    CHECK(s.next(t) == t + 10s);
    CHECK(s.min_interval() == duration(10s));
  }

  TEST_CASE("@every accepts any Go duration") {
    const schedule s = must_parse("@every 1h30m");
    CHECK(s.min_interval() == duration(90min));
    CHECK(next_after("@every 1h30m", utc(2024, 6, 1, 23, 0)) == "2024-06-02 Sun 00:30:00");
    CHECK(must_parse("@every 1.5s").min_interval() == duration(1500ms));
  }

  TEST_CASE("@every rejects bad and non-positive durations") {
    CHECK(parse_error("@every x") == "invalid duration in \"@every x\"");
    CHECK(parse_error("@every 5") == "invalid duration in \"@every 5\"");
    CHECK(parse_error("@every") == "invalid duration in \"@every\"");
    CHECK(parse_error("@every 0s") == "@every interval must be positive: \"@every 0s\"");
    CHECK(parse_error("@every -5m") == "@every interval must be positive: \"@every -5m\"");
  }

  TEST_CASE("the original text is kept and surrounding whitespace is ignored") {
    const schedule s = must_parse("  0  0 * * *  ");
    CHECK(s.text() == "  0  0 * * *  ");
    CHECK_FALSE(s.is_every());
    CHECK(s.next(utc(2024, 6, 1, 8)) == utc(2024, 6, 2));
  }

  TEST_CASE("cron needs exactly five fields") {
    CHECK(parse_error("* * *") == "expected exactly 5 fields, found 3: \"* * *\"");
    CHECK(parse_error("0 * * * * *") == "expected exactly 5 fields, found 6: \"0 * * * * *\"");
    CHECK(parse_error("") == "empty schedule");
    CHECK(parse_error("   ") == "empty schedule");
  }

  TEST_CASE("cron values outside a field's bounds are reported with the offending element") {
    CHECK(parse_error("0-70 * * * *") == "end of range (70) above maximum (59): 0-70");
    CHECK(parse_error("0 24 * * *") == "end of range (24) above maximum (23): 24");
    CHECK(parse_error("0 0 0 * *") == "beginning of range (0) below minimum (1): 0");
    CHECK(parse_error("0 0 32 * *") == "end of range (32) above maximum (31): 32");
    CHECK(parse_error("0 0 * 13 *") == "end of range (13) above maximum (12): 13");
    CHECK(parse_error("0 0 * * 8") == "end of range (8) above maximum (7): 8");
    CHECK(parse_error("0 0 * 0 *") == "beginning of range (0) below minimum (1): 0");
  }

  TEST_CASE("malformed cron elements are rejected") {
    CHECK(parse_error("5-1 * * * *") == "beginning of range (5) beyond end of range (1): 5-1");
    CHECK(parse_error("*/0 * * * *") == "step of range should be a positive number: */0");
    CHECK(parse_error("1-2-3 * * * *") == "too many hyphens: 1-2-3");
    CHECK(parse_error("*/2/3 * * * *") == "too many slashes: */2/3");
    CHECK(parse_error("x * * * *") == "failed to parse int from x: invalid syntax");
    CHECK(parse_error("1,,2 * * * *") == "failed to parse int from : invalid syntax");
    CHECK(parse_error("*/x * * * *") == "failed to parse int from x: invalid syntax");
    CHECK(parse_error("99999999 * * * *") ==
          "failed to parse int from 99999999: value out of range");
  }

  TEST_CASE("month and weekday names are only accepted in their own fields") {
    CHECK(parse_error("jan * * * *") == "failed to parse int from jan: invalid syntax");
    CHECK(parse_error("0 0 * foo *") == "failed to parse int from foo: invalid syntax");
    CHECK(parse_error("0 0 * * jan") == "failed to parse int from jan: invalid syntax");
  }

  TEST_CASE("unknown descriptors are rejected") {
    CHECK(parse_error("@foo") == "unknown descriptor @foo");
    CHECK(parse_error("@DAILY") == "unknown descriptor @DAILY");
    CHECK(parse_error("@daily 5") == "unknown descriptor @daily 5");
  }

  TEST_CASE("cron activations are strictly after the given time, on whole minutes") {
    CHECK(next_after("* * * * *", utc(2024, 6, 1, 12, 0, 0)) == "2024-06-01 Sat 12:01:00");
    CHECK(next_after("* * * * *", utc(2024, 6, 1, 12, 0, 59) + 999ms) == "2024-06-01 Sat 12:01:00");
    CHECK(next_after("* * * * *", utc(2024, 6, 1, 11, 59, 30)) == "2024-06-01 Sat 12:00:00");
    CHECK(must_parse("* * * * *").next(utc(2024, 6, 1, 11, 59, 30)) == utc(2024, 6, 1, 12));
  }

  TEST_CASE("cron activations carry over into the next hour, day, month and year") {
    CHECK(next_after("0 * * * *", utc(2024, 6, 1, 12)) == "2024-06-01 Sat 13:00:00");
    CHECK(next_after("30 2 * * *", utc(2024, 6, 1, 3)) == "2024-06-02 Sun 02:30:00");
    CHECK(next_after("* * * * *", utc(2024, 12, 31, 23, 59)) == "2025-01-01 Wed 00:00:00");
    CHECK(next_after("0 0 1 1 *", utc(2024, 1, 1)) == "2025-01-01 Wed 00:00:00");
    CHECK(next_after("0 0 31 * *", utc(2024, 4, 1)) == "2024-05-31 Fri 00:00:00");
  }

  TEST_CASE("cron works before the Unix epoch") {
    CHECK(next_after("0 0 * * *", utc(1969, 12, 31, 12)) == "1970-01-01 Thu 00:00:00");
    CHECK(next_after("30 * * * *", utc(1960, 1, 1, 0, 31)) == "1960-01-01 Fri 01:30:00");
  }

  TEST_CASE("cron lists, ranges and steps select the right minutes") {
    CHECK(next_after("*/5 * * * *", utc(2024, 6, 1, 12, 3)) == "2024-06-01 Sat 12:05:00");
    CHECK(next_after("10-20/5 * * * *", utc(2024, 6, 1, 12, 0)) == "2024-06-01 Sat 12:10:00");
    CHECK(next_after("10-20/5 * * * *", utc(2024, 6, 1, 12, 10)) == "2024-06-01 Sat 12:15:00");
    CHECK(next_after("10-20/5 * * * *", utc(2024, 6, 1, 12, 20)) == "2024-06-01 Sat 13:10:00");
    CHECK(next_after("5/20 * * * *", utc(2024, 6, 1, 12, 6)) == "2024-06-01 Sat 12:25:00");
    CHECK(next_after("5/20 * * * *", utc(2024, 6, 1, 12, 45)) == "2024-06-01 Sat 13:05:00");
    CHECK(next_after("1,2,40 * * * *", utc(2024, 6, 1, 12, 2)) == "2024-06-01 Sat 12:40:00");
    CHECK(next_after("0 9-17/4 * * *", utc(2024, 6, 1, 13)) == "2024-06-01 Sat 17:00:00");
  }

  TEST_CASE("month names are case-insensitive and may form ranges and lists") {
    CHECK(next_after("0 0 1 JAN-MAR *", utc(2024, 3, 2)) == "2025-01-01 Wed 00:00:00");
    CHECK(next_after("0 0 1 jul,Dec *", utc(2024, 7, 2)) == "2024-12-01 Sun 00:00:00");
  }

  TEST_CASE("weekday names are case-insensitive and may form ranges") {
    CHECK(next_after("0 9 * * MON-FRI", utc(2024, 6, 7, 9)) == "2024-06-10 Mon 09:00:00");
    CHECK(next_after("0 9 * * mon-fri", utc(2024, 6, 7, 8)) == "2024-06-07 Fri 09:00:00");
  }

  TEST_CASE("Sunday is both 0 and 7") {
    for (const char* spec : {"0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * * SUN"}) {
      CAPTURE(spec);
      CHECK(next_after(spec, utc(2024, 6, 1)) == "2024-06-02 Sun 00:00:00");
    }
    CHECK(next_after("0 0 * * 5-7", utc(2024, 6, 6)) == "2024-06-07 Fri 00:00:00");
    CHECK(next_after("0 0 * * 5-7", utc(2024, 6, 8)) == "2024-06-09 Sun 00:00:00");
    CHECK(next_after("0 0 * * 5-7", utc(2024, 6, 9)) == "2024-06-14 Fri 00:00:00");
  }

  TEST_CASE("a weekday step stops at Saturday, as in robfig/cron") {
    CHECK(next_after("0 0 * * 1/2", utc(2024, 6, 7)) == "2024-06-10 Mon 00:00:00");
    CHECK(next_after("0 0 * * */3", utc(2024, 6, 6)) == "2024-06-08 Sat 00:00:00");
  }

  TEST_CASE("day of month and day of week are ORed when both are restricted") {
    CHECK(next_after("0 0 13 * 5", utc(2024, 9, 1)) == "2024-09-06 Fri 00:00:00");
    CHECK(next_after("0 0 13 * 5", utc(2024, 9, 6)) == "2024-09-13 Fri 00:00:00");
    CHECK(next_after("0 0 13 * 5", utc(2024, 10, 12)) == "2024-10-13 Sun 00:00:00");
    // A stepped star counts as a restriction.
    CHECK(next_after("0 0 */2 * 1", utc(2024, 9, 1)) == "2024-09-02 Mon 00:00:00");
  }

  TEST_CASE("day of month and day of week are ANDed when either is a star") {
    CHECK(next_after("0 0 13 * *", utc(2024, 9, 1)) == "2024-09-13 Fri 00:00:00");
    CHECK(next_after("0 0 * * 5", utc(2024, 9, 1)) == "2024-09-06 Fri 00:00:00");
    CHECK(next_after("0 0 13 * ?", utc(2024, 9, 1)) == "2024-09-13 Fri 00:00:00");
    CHECK(next_after("0 0 ? * 5", utc(2024, 9, 1)) == "2024-09-06 Fri 00:00:00");
    CHECK(next_after("0 0 */1 * 1", utc(2024, 9, 1)) == "2024-09-02 Mon 00:00:00");
    CHECK(next_after("0 0 */1 * 1", utc(2024, 9, 2)) == "2024-09-09 Mon 00:00:00");
  }

  TEST_CASE("Feb 29 fires only in leap years, skipping 2100") {
    CHECK(next_after("0 0 29 2 *", utc(2023, 3, 1)) == "2024-02-29 Thu 00:00:00");
    CHECK(next_after("0 0 29 2 *", utc(2024, 2, 29)) == "2028-02-29 Tue 00:00:00");
    CHECK(next_after("0 0 29 2 *", utc(2096, 3, 1)) == "2104-02-29 Fri 00:00:00");
    CHECK(next_after("0 0 28 2 *", utc(2024, 2, 28, 1)) == "2025-02-28 Fri 00:00:00");
  }

  TEST_CASE("impossible dates never fire and the search gives up quickly") {
    const auto start = std::chrono::steady_clock::now();
    CHECK(next_after("0 0 30 2 *", utc(2024, 1, 1)) == "never");
    CHECK(next_after("0 0 31 4,6,9,11 *", utc(2024, 1, 1)) == "never");
    CHECK(std::chrono::steady_clock::now() - start < 100ms);
    CHECK(must_parse("0 0 30 2 *").min_interval() == duration::max());
  }

  TEST_CASE("next saturates at the end of representable time") {
    CHECK(must_parse("* * * * *").next(sys_time::max()) == sys_time::max());
    CHECK(must_parse("@every 1h").next(sys_time::max() - 1min) == sys_time::max());
  }

  TEST_CASE("descriptors expand to their cron equivalents") {
    const sys_time wednesday = utc(2024, 6, 5, 10, 30);
    CHECK(next_after("@hourly", wednesday) == "2024-06-05 Wed 11:00:00");
    CHECK(next_after("@daily", wednesday) == "2024-06-06 Thu 00:00:00");
    CHECK(next_after("@midnight", wednesday) == "2024-06-06 Thu 00:00:00");
    CHECK(next_after("@weekly", wednesday) == "2024-06-09 Sun 00:00:00");
    CHECK(next_after("@monthly", wednesday) == "2024-07-01 Mon 00:00:00");
    CHECK(next_after("@yearly", wednesday) == "2025-01-01 Wed 00:00:00");
    CHECK(next_after("@annually", wednesday) == "2025-01-01 Wed 00:00:00");
    CHECK_FALSE(must_parse("@hourly").is_every());
  }

  TEST_CASE("min_interval is the tightest gap within an hour") {
    CHECK(must_parse("* * * * *").min_interval() == duration(60s));
    CHECK(must_parse("*/5 * * * *").min_interval() == duration(5min));
    CHECK(must_parse("0,7,30 * * * *").min_interval() == duration(7min));
    CHECK(must_parse("*/15 9-17 * * MON-FRI").min_interval() == duration(15min));
  }

  TEST_CASE("min_interval spans hour boundaries") {
    CHECK(must_parse("0 * * * *").min_interval() == duration(1h));
    CHECK(must_parse("@hourly").min_interval() == duration(1h));
    CHECK(must_parse("0 */6 * * *").min_interval() == duration(6h));
    CHECK(must_parse("0 9,17 * * *").min_interval() == duration(8h));
    CHECK(must_parse("50 1,2 * * *").min_interval() == duration(1h));
    CHECK(must_parse("0,50 1,2 * * *").min_interval() == duration(10min));
  }

  TEST_CASE("min_interval spans day boundaries and the calendar") {
    CHECK(must_parse("10,50 0,23 * * *").min_interval() == duration(20min));
    CHECK(must_parse("0 0 * * *").min_interval() == duration(24h));
    CHECK(must_parse("0 0 * * 1,2").min_interval() == duration(24h));
    CHECK(must_parse("0 0 * * 1").min_interval() == duration(7 * 24h));
    CHECK(must_parse("0 0 1 * *").min_interval() == duration(28 * 24h));
    CHECK(must_parse("0 0 1,15 * *").min_interval() == duration(14 * 24h));
    CHECK(must_parse("0 0 31 * *").min_interval() == duration(31 * 24h));
    CHECK(must_parse("0 0 13 * 5").min_interval() == duration(24h));
    CHECK(must_parse("@yearly").min_interval() == duration(365 * 24h));
    CHECK(must_parse("0 0 29 2 *").min_interval() == duration(1461 * 24h));
  }

  TEST_CASE("min_interval is fast") {
    const schedule every_minute = must_parse("* * * * *");
    const schedule hourly = must_parse("0 * * * *");
    const schedule leap_day = must_parse("0 0 29 2 *");
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) {
      CHECK(every_minute.min_interval() == duration(1min));
      CHECK(hourly.min_interval() == duration(1h));
      CHECK(leap_day.min_interval() > duration(1h));
    }
    CHECK(std::chrono::steady_clock::now() - start < 300ms);  // < 1 ms per call, generously
  }
}
