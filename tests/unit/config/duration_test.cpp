#include "config/pipeline/duration.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace std::chrono_literals;
using pikoci::pipeline::duration;
using pikoci::pipeline::format_duration;
using pikoci::pipeline::parse_duration;

TEST_SUITE("config.duration") {
  TEST_CASE("combined units add up") {
    CHECK(parse_duration("1h30m") == duration(90min));
    CHECK(parse_duration("2h45m30.5s") == duration(2h + 45min + 30500ms));
    CHECK(parse_duration("1m1s") == duration(61s));
  }

  TEST_CASE("every Go unit is accepted, including both spellings of micro") {
    CHECK(parse_duration("100ns") == duration(100ns));
    CHECK(parse_duration("3us") == duration(3us));
    CHECK(parse_duration("3\xC2\xB5s") == duration(3us));  // U+00B5 micro sign
    CHECK(parse_duration("3\xCE\xBCs") == duration(3us));  // U+03BC Greek mu
    CHECK(parse_duration("300ms") == duration(300ms));
    CHECK(parse_duration("30s") == duration(30s));
    CHECK(parse_duration("5m") == duration(5min));
    CHECK(parse_duration("2h") == duration(2h));
  }

  TEST_CASE("fractions scale by their unit") {
    CHECK(parse_duration("1.5h") == duration(90min));
    CHECK(parse_duration(".5s") == duration(500ms));
    CHECK(parse_duration("1.s") == duration(1s));
    CHECK(parse_duration("0.000000001s") == duration(1ns));
    CHECK(parse_duration("1.0000000001s") == duration(1s));  // beyond ns precision
  }

  TEST_CASE("a sign applies to the whole duration") {
    CHECK(parse_duration("-2s") == duration(-2s));
    CHECK(parse_duration("-1h30m") == duration(-90min));
    CHECK(parse_duration("+5s") == duration(5s));
  }

  TEST_CASE("a bare zero needs no unit") {
    CHECK(parse_duration("0") == duration::zero());
    CHECK(parse_duration("-0") == duration::zero());
    CHECK(parse_duration("+0") == duration::zero());
    CHECK(parse_duration("0s") == duration::zero());
  }

  TEST_CASE("a unit may repeat, as in Go") {
    CHECK(parse_duration("1h1h") == duration(2h));
  }

  TEST_CASE("malformed text is rejected") {
    for (const char* bad : {"", "5", "1d", "h", "-", "+", ".", ".s", "1 s", " 1s", "1s ", "1S",
                            "1sm", "1.5.5s", "s1", "--1s", "1h-1m", "00"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_duration(bad).has_value());
    }
  }

  TEST_CASE("the int64 nanosecond range is the limit") {
    CHECK(parse_duration("9223372036854775807ns") == duration::max());
    CHECK(parse_duration("-9223372036854775808ns") == duration::min());
    CHECK_FALSE(parse_duration("9223372036854775808ns").has_value());
    CHECK(parse_duration("2562047h") == duration(2562047h));
    CHECK_FALSE(parse_duration("2562048h").has_value());
    CHECK_FALSE(parse_duration("2562047h48m").has_value());
    CHECK_FALSE(parse_duration("100000000000000000000s").has_value());
    CHECK_FALSE(parse_duration("9223372036.9s").has_value());
  }

  TEST_CASE("formatting uses Go's Duration.String layout") {
    CHECK(format_duration(duration::zero()) == "0s");
    CHECK(format_duration(1500ms) == "1.5s");
    CHECK(format_duration(90min) == "1h30m0s");
    CHECK(format_duration(1us) == "1\xC2\xB5s");
    CHECK(format_duration(1100ns) == "1.1\xC2\xB5s");
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(1ns) == "1ns");
    CHECK(format_duration(999ns) == "999ns");
    CHECK(format_duration(1s) == "1s");
    CHECK(format_duration(61s) == "1m1s");
    CHECK(format_duration(1h) == "1h0m0s");
    CHECK(format_duration(2h + 45min + 30500ms) == "2h45m30.5s");
    CHECK(format_duration(1s + 1ns) == "1.000000001s");
  }

  TEST_CASE("negative durations format with a leading minus, even the most negative one") {
    CHECK(format_duration(-2s) == "-2s");
    CHECK(format_duration(-250ms) == "-250ms");
    CHECK(format_duration(duration::min()) == "-2562047h47m16.854775808s");
    CHECK(format_duration(duration::max()) == "2562047h47m16.854775807s");
  }

  TEST_CASE("formatted durations parse back to the same value") {
    for (duration d : {duration(0), duration(1ns), duration(1500us), duration(-90min),
                       duration(2h + 3ms), duration::max(), duration::min()}) {
      CAPTURE(d.count());
      CHECK(parse_duration(format_duration(d)) == d);
    }
  }
}
