#include "config/pipeline/duration.hpp"

#include <cstdint>

namespace pikoci::pipeline {

namespace {

// Go accumulates the magnitude in a uint64 and allows up to 1<<63 so that the most negative
// duration ("-9223372036854775808ns") still parses.
constexpr std::uint64_t magnitude_limit = std::uint64_t{1} << 63;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Nanoseconds per unit, 0 when the unit is unknown. Both the micro sign (U+00B5) and the Greek
// mu (U+03BC) are accepted, as in Go.
std::uint64_t unit_nanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;
  if (unit == "ms") return 1000 * 1000;
  if (unit == "s") return 1000 * 1000 * 1000;
  if (unit == "m") return 60ULL * 1000 * 1000 * 1000;
  if (unit == "h") return 3600ULL * 1000 * 1000 * 1000;
  return 0;
}

// Consumes [0-9]*; false on overflow (Go's leadingInt).
bool leading_int(std::string_view& s, std::uint64_t& value) {
  value = 0;
  std::size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (value > magnitude_limit / 10) return false;
    value = value * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (value > magnitude_limit) return false;
  }
  s.remove_prefix(i);
  return true;
}

// Consumes [0-9]* after the point; digits beyond uint64 precision are ignored, not errors
// (Go's leadingFraction).
void leading_fraction(std::string_view& s, std::uint64_t& value, double& scale) {
  value = 0;
  scale = 1;
  bool overflow = false;
  std::size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (overflow) continue;
    if (value > (magnitude_limit - 1) / 10) {
      overflow = true;
      continue;
    }
    std::uint64_t next = value * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (next > magnitude_limit) {
      overflow = true;
      continue;
    }
    value = next;
    scale *= 10;
  }
  s.remove_prefix(i);
}

// Writes the `prec` low decimal digits of v as a fraction (without trailing zeros) in front of
// `out`, returning v with those digits removed (Go's fmtFrac).
std::uint64_t prepend_fraction(std::string& out, std::uint64_t v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    char digit = static_cast<char>('0' + v % 10);
    print = print || digit != '0';
    if (print) out.insert(out.begin(), digit);
    v /= 10;
  }
  if (print) out.insert(out.begin(), '.');
  return v;
}

void prepend_int(std::string& out, std::uint64_t v) {
  out.insert(0, std::to_string(v));
}

}  // namespace

std::optional<duration> parse_duration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return duration::zero();
  if (s.empty()) return std::nullopt;

  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!is_digit(s[0]) && s[0] != '.') return std::nullopt;

    std::size_t before = s.size();
    std::uint64_t whole = 0;
    if (!leading_int(s, whole)) return std::nullopt;
    bool has_whole = s.size() != before;

    std::uint64_t frac = 0;
    double scale = 1;
    bool has_frac = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      before = s.size();
      leading_fraction(s, frac, scale);
      has_frac = s.size() != before;
    }
    if (!has_whole && !has_frac) return std::nullopt;

    std::size_t unit_len = 0;
    while (unit_len < s.size() && s[unit_len] != '.' && !is_digit(s[unit_len])) ++unit_len;
    if (unit_len == 0) return std::nullopt;
    std::uint64_t unit = unit_nanos(s.substr(0, unit_len));
    if (unit == 0) return std::nullopt;
    s.remove_prefix(unit_len);

    if (whole > magnitude_limit / unit) return std::nullopt;
    whole *= unit;
    if (frac > 0) {
      // A double is accurate to the nanosecond here: the fraction of an hour is < 3.6e12 ns.
      whole += static_cast<std::uint64_t>(static_cast<double>(frac) *
                                          (static_cast<double>(unit) / scale));
      if (whole > magnitude_limit) return std::nullopt;
    }
    total += whole;
    if (total > magnitude_limit) return std::nullopt;
  }
  if (negative) return duration(static_cast<std::int64_t>(0 - total));
  if (total > magnitude_limit - 1) return std::nullopt;
  return duration(static_cast<std::int64_t>(total));
}

std::string format_duration(duration d) {
  std::int64_t count = d.count();
  bool negative = count < 0;
  // Unsigned negation so that the most negative value does not overflow.
  std::uint64_t u = static_cast<std::uint64_t>(count);
  if (negative) u = 0 - u;

  std::string out;
  constexpr std::uint64_t micro = 1000, milli = 1000 * 1000, second = 1000 * 1000 * 1000;
  if (u < second) {
    // Sub-second values use the largest unit that keeps a non-zero integer part.
    if (u == 0) return "0s";
    int prec = 0;
    if (u < micro) {
      out = "ns";
    } else if (u < milli) {
      prec = 3;
      out = "\xC2\xB5s";
    } else {
      prec = 6;
      out = "ms";
    }
    u = prepend_fraction(out, u, prec);
    prepend_int(out, u);
  } else {
    out = "s";
    u = prepend_fraction(out, u, 9);
    prepend_int(out, u % 60);
    u /= 60;
    if (u > 0) {
      out.insert(out.begin(), 'm');
      prepend_int(out, u % 60);
      u /= 60;
      if (u > 0) {
        out.insert(out.begin(), 'h');
        prepend_int(out, u);
      }
    }
  }
  if (negative) out.insert(out.begin(), '-');
  return out;
}

}  // namespace pikoci::pipeline
