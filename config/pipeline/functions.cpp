// The function library of pipeline expressions. Semantics follow Terraform's functions, which
// build on go-cty's stdlib; where Terraform and cty differ (replace() with /regex/, coalesce()
// skipping "", length() of a string) Terraform's behaviour is implemented.
//
// Every implementation is a plain `value f(const call&)`. Argument problems are reported by
// throwing `call_error` from the small accessors of `call`; the single wrapper in `make_def`
// turns that (and any library exception such as std::bad_alloc) into a function_result, so no
// exception ever leaves `function_def::impl`. Error texts are cty's details only: the evaluator
// adds "Invalid value for "<param>" parameter: " and the final period.

#include "config/pipeline/functions.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <new>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "config/pipeline/budget.hpp"
#include "config/pipeline/json_decode.hpp"
#include "config/pipeline/utf8.hpp"
#include "domain/text.hpp"

namespace pikoci::hcl {
namespace {

using args_t = std::vector<value>;

// ---- limits against hostile input (configuration is user-controlled)

constexpr std::size_t max_range_elements = 1024;  // Terraform's own limit for range()
constexpr long long max_pad_width = 10000;        // format() widths/precisions, indent()
constexpr std::size_t max_product_size = 100000;  // setproduct() result elements
constexpr std::size_t max_json_depth = 512;  // from_json and value destructors recurse

// ---- errors and argument access

/// An error for the whole call (arg = -1) or one argument. Only thrown inside this file.
struct call_error {
  std::string message;
  int arg = -1;
};

[[noreturn]] void fail(std::string message) {
  throw call_error{std::move(message), -1};
}

/// Stops a call whose result would grow past what the evaluation budget has left (replace(),
/// format() and friends can turn a small input into gigabytes).
void check_size(std::size_t bytes) {
  const budget* b = budget::current();
  if (b != nullptr && bytes > b->remaining()) {
    fail("the result would exceed the evaluation memory budget of " +
         format_bytes(b->limits().max_value_bytes));
  }
}

std::string json_quote(const std::string& s) {
  return to_json_text(nlohmann::json(s));
}

/// The arguments of one call with typed accessors. The accessors apply cty's safe conversions
/// (a number where a string is expected becomes its decimal form, "true" becomes a bool, ...)
/// and report what was required when the conversion is impossible.
class call {
 public:
  explicit call(const args_t& args) : args_(args) {}

  std::size_t count() const { return args_.size(); }
  const args_t& all() const { return args_; }
  const value& at(std::size_t i) const { return args_[i]; }

  [[noreturn]] void fail_arg(std::size_t i, std::string detail) const {
    throw call_error{std::move(detail), static_cast<int>(i)};
  }

  const value& non_null(std::size_t i) const {
    if (at(i).is_null()) fail_arg(i, "argument must not be null");
    return at(i);
  }

  // cty's wording: "<type> required, but have <type>" when the type cannot convert at all,
  // "a <type> is required" when a string's content does not convert.
  std::string str(std::size_t i) const {
    std::string out;
    if (!to_string(non_null(i), out)) wrong_type(i, "string");
    return out;
  }

  double num(std::size_t i) const {
    double out = 0;
    if (!to_number(non_null(i), out)) wrong_type(i, "number");
    return out;
  }

  /// A number that must be whole (indexes, sizes, bases), as gocty's conversion to int.
  long long whole(std::size_t i) const {
    double n = num(i);
    if (std::trunc(n) != n || std::fabs(n) > 9007199254740992.0) {
      fail_arg(i, "value must be a whole number");
    }
    return static_cast<long long>(n);
  }

  bool boolean(std::size_t i) const {
    bool out = false;
    if (!to_bool(non_null(i), out)) wrong_type(i, "bool");
    return out;
  }

  /// A list, set or tuple.
  const value& sequence(std::size_t i) const {
    if (!non_null(i).is_sequence()) fail_arg(i, "list, set, or tuple required");
    return at(i);
  }

  /// A map or object.
  const value& collection(std::size_t i) const {
    if (!non_null(i).is_collection()) fail_arg(i, "must have map or object type");
    return at(i);
  }

  /// A sequence whose elements all convert with `conv`; `what` names the element type.
  template <typename T, typename Conv>
  std::vector<T> elements(std::size_t i, const char* what, Conv conv) const {
    const value& seq = non_null(i);
    if (!seq.is_sequence()) fail_arg(i, std::string("list of ") + what + " required");
    std::vector<T> out;
    out.reserve(seq.size());
    for (std::size_t k = 0; k < seq.size(); ++k) {
      T converted{};
      const value& item = seq.items()[k];
      if (item.is_null()) fail_arg(i, "element " + std::to_string(k) + " is null");
      if (!conv(item, converted)) {
        fail_arg(i, "element " + std::to_string(k) + ": " + what + " required");
      }
      out.push_back(std::move(converted));
    }
    return out;
  }
  std::vector<std::string> strings(std::size_t i) const {
    return elements<std::string>(i, "string",
                                 [](const value& v, std::string& o) { return to_string(v, o); });
  }
  std::vector<double> numbers(std::size_t i) const {
    return elements<double>(i, "number", [](const value& v, double& o) { return to_number(v, o); });
  }

 private:
  [[noreturn]] void wrong_type(std::size_t i, const std::string& required) const {
    if (at(i).is_string()) fail_arg(i, "a " + required + " is required");
    fail_arg(i, required + " required, but have " + at(i).type_name());
  }

  const args_t& args_;
};

// ---- small value helpers

value str_value(std::string s) {
  return value::string(std::move(s));
}
value num_value(double n) {
  return value::number(n);
}

/// Rounds to 15 significant digits. cty computes with 512-bit floats, so range(0, 1, 0.1) and
/// sum([0.1, 0.2]) give 0.3 there; doubles would show 0.30000000000000004.
double decimal_round(double n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", n);
  return std::strtod(buf, nullptr);
}

value string_list(const std::vector<std::string>& items) {
  value::sequence_t out;
  out.reserve(items.size());
  for (const auto& s : items) out.push_back(value::string(s));
  return value::list(std::move(out));
}

/// Rebuilds a sequence with the same flavor as `like` (list stays list, tuple stays tuple).
value same_flavor(const value& like, value::sequence_t items) {
  if (like.flav() == value::flavor::list) return value::list(std::move(items));
  if (like.flav() == value::flavor::set) return value::set(std::move(items));
  return value::tuple(std::move(items));
}

/// cty's type unification reduced to what this value model can tell apart: primitives of mixed
/// kinds unify to string when a string is among them (1 and "a" become "1" and "a"); nulls fit
/// anything; any other mix (number with bool, string with a list...) has no common type.
bool unify(value::sequence_t& items) {
  bool has_string = false, all_primitive = true;
  const value* first = nullptr;
  bool mixed = false;
  for (const auto& v : items) {
    if (v.is_null()) continue;
    has_string = has_string || v.is_string();
    all_primitive = all_primitive && v.is_primitive();
    if (first == nullptr) {
      first = &v;
    } else if (v.type() != first->type()) {
      mixed = true;
    }
  }
  if (!mixed) return true;
  if (!all_primitive || !has_string) return false;
  for (auto& v : items) {
    std::string s;
    if (to_string(v, s)) v = value::string(std::move(s));
  }
  return true;
}

// ---- UTF-8

/// One character of a UTF-8 string: its byte span and code point. Invalid bytes count as one
/// character each (U+FFFD), the way Go ranges over a string.
struct utf8_char {
  std::size_t pos;
  std::size_t len;
  char32_t cp;
};

std::vector<utf8_char> utf8_chars(std::string_view s) {
  std::vector<utf8_char> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t at = i;
    char32_t cp = decode_utf8(s, i);
    out.push_back({at, i - at, cp});
  }
  return out;
}

// Case mapping without ICU: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic, which covers
// the scripts configuration files realistically contain.
struct case_offset {
  char32_t first, last;  // lower-case range
  int delta;             // upper = lower + delta
};
constexpr case_offset case_offsets[] = {
    {U'a', U'z', -32},   {0xE0, 0xF6, -32},   {0xF8, 0xFE, -32},  {0x3B1, 0x3C1, -32},
    {0x3C3, 0x3CB, -32}, {0x430, 0x44F, -32}, {0x450, 0x45F, -80}};
// Latin Extended-A alternates capital/small; `upper_parity` is the parity of the capitals.
struct case_pairs {
  char32_t first, last, upper_parity;
};
constexpr case_pairs case_alternating[] = {
    {0x100, 0x12F, 0}, {0x132, 0x137, 0}, {0x139, 0x148, 1}, {0x14A, 0x177, 0}, {0x179, 0x17E, 1}};

char32_t to_upper(char32_t c) {
  for (const auto& r : case_offsets) {
    if (c >= r.first && c <= r.last) return static_cast<char32_t>(static_cast<int>(c) + r.delta);
  }
  for (const auto& r : case_alternating) {
    if (c >= r.first && c <= r.last && c % 2 != r.upper_parity) return c - 1;
  }
  if (c == 0xFF) return 0x178;
  if (c == 0x3C2) return 0x3A3;  // final sigma
  return c;
}

char32_t to_lower(char32_t c) {
  for (const auto& r : case_offsets) {
    auto lo = static_cast<char32_t>(static_cast<int>(r.first) + r.delta);
    auto hi = static_cast<char32_t>(static_cast<int>(r.last) + r.delta);
    if (c >= lo && c <= hi) return static_cast<char32_t>(static_cast<int>(c) - r.delta);
  }
  for (const auto& r : case_alternating) {
    if (c >= r.first && c <= r.last && c % 2 == r.upper_parity) return c + 1;
  }
  if (c == 0x178) return 0xFF;
  return c;
}

template <typename Map>
std::string map_chars(const std::string& s, Map map) {
  std::string out;
  out.reserve(s.size());
  for (const auto& c : utf8_chars(s)) {
    if (c.cp == 0xFFFD) {
      out.append(s, c.pos, c.len);  // keep invalid bytes as they were
    } else {
      append_utf8(out, map(c.cp));
    }
  }
  return out;
}

/// Go's unicode.IsSpace.
bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

/// Go's strings.Title word boundary: ASCII letters, digits and '_' continue a word, other
/// ASCII ends it; non-ASCII letters continue it, spaces end it.
bool is_title_separator(char32_t c) {
  if (c < 0x80) {
    return !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             c == '_');
  }
  return is_space(c);
}

/// The substring of `s` from character `from` (inclusive) to `to` (exclusive).
std::string char_slice(const std::string& s, const std::vector<utf8_char>& chars, std::size_t from,
                       std::size_t to) {
  if (from >= to || from >= chars.size()) return {};
  std::size_t begin = chars[from].pos;
  std::size_t end = to >= chars.size() ? s.size() : chars[to].pos;
  return s.substr(begin, end - begin);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  if (from.empty()) {
    // Go's strings.Replace with an empty old string inserts `to` around every character.
    out += to;
    for (const auto& c : utf8_chars(s)) {
      out.append(s, c.pos, c.len);
      out += to;
      check_size(out.size());
    }
    return out;
  }
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
    check_size(out.size());
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// ---- regular expressions (RE2, the engine behind Go's regexp: same syntax, linear time)

struct compiled_regex {
  std::shared_ptr<const re2::RE2> re;
  std::vector<std::string> group_names;  // one per capture group, "" when unnamed
};

/// Go (since 1.22) also spells named groups `(?<name>...)`; this RE2 only knows `(?P<name>...)`,
/// so the short form is rewritten outside character classes and `\Q...\E` quotes.
std::string go_named_groups(const std::string& pattern) {
  std::string out;
  const std::size_t n = pattern.size();
  bool in_class = false;
  for (std::size_t i = 0; i < n;) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < n) {
      if (pattern[i + 1] == 'Q') {  // literal text up to \E (or the end)
        std::size_t stop = pattern.find("\\E", i + 2);
        stop = stop == std::string::npos ? n : stop + 2;
        out.append(pattern, i, stop - i);
        i = stop;
        continue;
      }
      out.append(pattern, i, 2);
      i += 2;
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < n && pattern[i + 1] == ':') {  // [:alpha:] inside a class
        std::size_t end = pattern.find(":]", i + 2);
        std::size_t stop = end == std::string::npos ? n : end + 2;
        out.append(pattern, i, stop - i);
        i = stop;
        continue;
      }
      if (c == ']') in_class = false;
      out += c;
      ++i;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      ++i;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i < n && pattern[i] == '^') out += pattern[i++];
      if (i < n && pattern[i] == ']') out += pattern[i++];
      continue;
    }
    std::string_view rest(pattern.data() + i, n - i);
    if (starts_with(rest, "(?<") && !starts_with(rest, "(?<=") && !starts_with(rest, "(?<!")) {
      out += "(?P<";
      i += 3;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

/// Compiles a pattern in Go's (RE2) syntax, leftmost-first like Go's regexp.
compiled_regex compile_regex(const std::string& pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(go_named_groups(pattern), options);
  if (!re->ok()) fail("invalid regular expression: " + re->error());
  compiled_regex out;
  out.group_names.assign(static_cast<std::size_t>(re->NumberOfCapturingGroups()), std::string());
  for (const auto& [index, name] : re->CapturingGroupNames())
    out.group_names[static_cast<std::size_t>(index - 1)] = name;
  bool has_named = false, has_unnamed = false;
  for (const auto& name : out.group_names) (name.empty() ? has_unnamed : has_named) = true;
  if (has_named && has_unnamed) {
    fail("invalid regular expression: can't mix both named and unnamed capture groups");
  }
  out.re = std::move(re);
  return out;
}

/// Compiles `pattern`, blaming argument `i` for any problem with it.
compiled_regex compile_pattern(std::size_t i, const std::string& pattern) {
  try {
    return compile_regex(pattern);
  } catch (call_error& e) {
    e.arg = static_cast<int>(i);
    throw;
  }
}

/// One match: the whole match and every capture group; a group that took no part has a null
/// data pointer.
using match_groups = std::vector<re2::StringPiece>;

/// The first match of `cr` in `s` at or after byte `from`, with `^` and `\b` still seeing the
/// text before `from` (as Go's regexp does when it continues a search).
bool find_match(const compiled_regex& cr, const std::string& s, std::size_t from,
                match_groups& m) {
  m.assign(cr.group_names.size() + 1, re2::StringPiece());
  return cr.re->Match(s, from, s.size(), re2::RE2::UNANCHORED, m.data(),
                      static_cast<int>(m.size()));
}

std::size_t match_start(const std::string& s, const re2::StringPiece& g) {
  return static_cast<std::size_t>(g.data() - s.data());
}

/// Calls `on_match` for each match of `cr` in `s`, left to right, with Go's regexp rule for
/// empty matches: one right after a previous match is skipped, so "a*" on "baaac" matches
/// "", "aaa", "" and not an extra "" before the "c".
template <typename OnMatch>
void for_each_match(const compiled_regex& cr, const std::string& s, OnMatch on_match) {
  std::size_t pos = 0;
  std::size_t prev_end = std::string::npos;
  match_groups m;
  while (pos <= s.size()) {
    if (!find_match(cr, s, pos, m)) break;
    auto start = match_start(s, m[0]);
    auto end = start + m[0].size();
    bool accept = true;
    if (end == pos) {
      accept = start != prev_end;
      std::size_t width =
          pos < s.size() ? utf8_chars(std::string_view(s).substr(pos, 4))[0].len : 1;
      pos += width;
    } else {
      pos = end;
    }
    prev_end = end;
    if (accept) on_match(m);
  }
}

/// One match as Terraform's regex() returns it: the match itself without capture groups, an
/// object with named groups, a list with unnamed ones (null for groups that did not take part).
value match_value(const compiled_regex& cr, const match_groups& m) {
  if (cr.group_names.empty()) return value::string(std::string(m[0]));
  auto group = [&](std::size_t g) {
    return m[g].data() != nullptr ? value::string(std::string(m[g])) : value::null();
  };
  if (!cr.group_names.front().empty()) {
    value::collection_t attrs;
    for (std::size_t g = 1; g <= cr.group_names.size(); ++g) {
      attrs[cr.group_names[g - 1]] = group(g);
    }
    return value::object(std::move(attrs));
  }
  value::sequence_t items;
  for (std::size_t g = 1; g <= cr.group_names.size(); ++g) items.push_back(group(g));
  return value::list(std::move(items));
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/// Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; a `$` not followed by a valid
/// reference is literal; references to unknown groups expand to nothing.
void expand_template(std::string& out, const std::string& tmpl, const compiled_regex& cr,
                     const match_groups& m) {
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    bool braced = tmpl[i + 1] == '{';
    std::size_t start = i + (braced ? 2 : 1), end = start;
    while (end < tmpl.size() && is_name_char(tmpl[end])) ++end;
    if (end == start || (braced && (end >= tmpl.size() || tmpl[end] != '}'))) {
      out += '$';
      continue;
    }
    std::string name = tmpl.substr(start, end - start);
    i = braced ? end : end - 1;
    std::size_t group = std::string::npos;
    if (name.find_first_not_of("0123456789") == std::string::npos) {
      group = name.size() <= 9 ? std::stoul(name) : std::string::npos;
    } else {
      auto it = std::find(cr.group_names.begin(), cr.group_names.end(), name);
      if (it != cr.group_names.end())
        group = static_cast<std::size_t>(it - cr.group_names.begin()) + 1;
    }
    if (group < m.size() && m[group].data() != nullptr) out.append(m[group].data(), m[group].size());
  }
}

std::string regex_replace_all(const std::string& s, const compiled_regex& cr,
                              const std::string& tmpl) {
  std::string out;
  std::size_t last = 0;
  for_each_match(cr, s, [&](const match_groups& m) {
    auto start = match_start(s, m[0]);
    out.append(s, last, start - last);
    expand_template(out, tmpl, cr, m);
    check_size(out.size());
    last = start + m[0].size();
  });
  out.append(s, last, std::string::npos);
  return out;
}

// ---- format() (cty's stdlib.Format, itself modelled on Go's fmt)

struct format_spec {
  bool minus = false, plus = false, space = false, zero = false, sharp = false;
  long long width = -1, precision = -1;
  char verb = 0;
};

std::string json_text(const value& v) {
  std::string out = to_json_text(to_json(v));
  // Go's encoding/json (and so jsonencode) escapes these so the output can sit in HTML.
  static const std::pair<const char*, const char*> escapes[] = {{"<", "\\u003c"},
                                                                {">", "\\u003e"},
                                                                {"&", "\\u0026"},
                                                                {"\xE2\x80\xA8", "\\u2028"},
                                                                {"\xE2\x80\xA9", "\\u2029"}};
  for (const auto& [from, to] : escapes) out = replace_all(out, from, to);
  return out;
}

/// Pads `body` (whose sign, if any, is `sign`) to the spec's width, counting characters.
std::string pad(const format_spec& spec, const std::string& sign, const std::string& body,
                bool numeric) {
  auto len = static_cast<long long>(utf8_chars(sign).size() + utf8_chars(body).size());
  if (spec.width <= len) return sign + body;
  std::string fill(static_cast<std::size_t>(spec.width - len), ' ');
  if (spec.minus) return sign + body + fill;
  if (spec.zero && numeric) return sign + std::string(fill.size(), '0') + body;
  return fill + sign + body;
}

std::string integer_digits(unsigned long long n, char verb, const format_spec& spec) {
  int base = verb == 'b' ? 2 : verb == 'o' ? 8 : (verb == 'x' || verb == 'X') ? 16 : 10;
  const char* digits = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[n % static_cast<unsigned>(base)]);
    n /= static_cast<unsigned>(base);
  } while (n != 0);
  if (spec.precision > static_cast<long long>(out.size())) {
    out.insert(0, static_cast<std::size_t>(spec.precision) - out.size(), '0');
  }
  if (spec.sharp) {
    if (verb == 'b') out.insert(0, "0b");
    if (verb == 'o' && out[0] != '0') out.insert(0, "0");
    if (verb == 'x') out.insert(0, "0x");
    if (verb == 'X') out.insert(0, "0X");
  }
  return out;
}

/// Go's %g without a precision: the shortest digits that round-trip, in exponent form when the
/// decimal exponent is below -4 or at least 6 (fmt's fixed threshold for shortest output).
std::string shortest_general(double n, bool upper) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, n, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::size_t e = sci.find('e');
  int exp = std::stoi(sci.substr(e + 1));
  std::string out;
  if (exp < -4 || exp >= 6) {
    out = sci;
    if (upper) out[e] = 'E';
  } else {
    res = std::to_chars(buf, buf + sizeof buf, n, std::chars_format::fixed);
    out.assign(buf, res.ptr);
  }
  return out;
}

std::string format_number_verb(const format_spec& spec, double n, const std::string& where) {
  std::string sign = std::signbit(n) && n != 0 ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  double mag = std::fabs(n);
  std::string body;
  switch (spec.verb) {
    case 'd':
    case 'b':
    case 'o':
    case 'x':
    case 'X':
      if (std::trunc(mag) != mag || mag >= 18446744073709551615.0) {
        fail("unsupported value for " + where + ": an integer is required");
      }
      body = integer_digits(static_cast<unsigned long long>(mag), spec.verb, spec);
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F': {
      char conv = spec.verb == 'F' ? 'f' : spec.verb;
      int prec = spec.precision < 0 ? 6 : static_cast<int>(spec.precision);
      const char fmt[] = {'%', '.', '*', conv, '\0'};
      std::vector<char> buf(static_cast<std::size_t>(prec) + 400);
      std::snprintf(buf.data(), buf.size(), fmt, prec, mag);
      body = buf.data();
      break;
    }
    default: {  // 'g', 'G'
      if (spec.precision < 0) {
        body = shortest_general(mag, spec.verb == 'G');
      } else {
        const char fmt[] = {'%', '.', '*', spec.verb, '\0'};
        std::vector<char> buf(static_cast<std::size_t>(spec.precision) + 400);
        std::snprintf(buf.data(), buf.size(), fmt, static_cast<int>(spec.precision), mag);
        body = buf.data();
      }
    }
  }
  return pad(spec, sign, body, true);
}

std::string format_one(const format_spec& spec, const value& arg, const std::string& where) {
  auto required = [&](const char* what) -> std::string {
    fail("unsupported value for " + where + ": " + what + " required");
  };
  if (arg.is_null() && spec.verb != 'v')
    fail("unsupported value for " + where + ": null value cannot be formatted");
  switch (spec.verb) {
    case 'v': {
      std::string s;
      if (spec.sharp || !to_string(arg, s)) s = json_text(arg);
      return pad(spec, "", s, false);
    }
    case 's':
    case 'q': {
      std::string s;
      if (!to_string(arg, s)) required("string");
      if (spec.precision >= 0) {
        auto chars = utf8_chars(s);
        s = char_slice(s, chars, 0, static_cast<std::size_t>(spec.precision));
      }
      return pad(spec, "", spec.verb == 'q' ? domain::quote(s) : s, false);
    }
    case 't': {
      bool b = false;
      if (!to_bool(arg, b)) required("bool");
      return pad(spec, "", b ? "true" : "false", false);
    }
    case 'd':
    case 'b':
    case 'o':
    case 'x':
    case 'X':
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      double n = 0;
      if (!to_number(arg, n)) required("number");
      return format_number_verb(spec, n, where);
    }
    default:
      fail(std::string("unrecognized format character '") + spec.verb + "' in " + where);
  }
}

long long parse_count(const std::string& fmt, std::size_t& i) {
  long long n = 0;
  while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
    n = n * 10 + (fmt[i++] - '0');
    if (n > max_pad_width) fail("format width or precision is too large");
  }
  return n;
}

/// cty's format(): verbs %v %#v %s %q %t %d %b %o %x %X %e %E %f %F %g %G, flags "-+ #0",
/// width, precision and explicit argument indexes `%[2]s`.
std::string format_string(const std::string& fmt, const args_t& args) {
  std::string out;
  std::size_t next_arg = 0, max_used = 0;
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    std::size_t verb_start = i++;
    if (i < fmt.size() && fmt[i] == '%') {
      out += '%';
      continue;
    }
    format_spec spec;
    for (; i < fmt.size(); ++i) {
      char f = fmt[i];
      if (f == '-')
        spec.minus = true;
      else if (f == '+')
        spec.plus = true;
      else if (f == ' ')
        spec.space = true;
      else if (f == '0')
        spec.zero = true;
      else if (f == '#')
        spec.sharp = true;
      else
        break;
    }
    if (i < fmt.size() && fmt[i] >= '1' && fmt[i] <= '9') spec.width = parse_count(fmt, i);
    if (i < fmt.size() && fmt[i] == '.') spec.precision = parse_count(fmt, ++i);
    if (i < fmt.size() && fmt[i] == '[') {
      std::size_t close = fmt.find(']', i);
      std::size_t start = i + 1;
      long long index = close == std::string::npos ? 0 : parse_count(fmt, start);
      if (close == std::string::npos || start != close || index < 1) {
        fail("invalid argument index in format string at offset " + std::to_string(verb_start));
      }
      next_arg = static_cast<std::size_t>(index - 1);
      i = close + 1;
    }
    if (i >= fmt.size()) {
      fail("invalid format string starting at offset " + std::to_string(verb_start));
    }
    spec.verb = fmt[i];
    std::string where = "\"" + fmt.substr(verb_start, i + 1 - verb_start) + "\" at offset " +
                        std::to_string(verb_start);
    if (next_arg >= args.size()) {
      fail("not enough arguments for " + where + ": need index " + std::to_string(next_arg + 1) +
           " but have " + std::to_string(args.size()) + " total");
    }
    out += format_one(spec, args[next_arg], where);
    check_size(out.size());
    max_used = std::max(max_used, ++next_arg);
  }
  if (max_used < args.size()) {
    fail(max_used == 0
             ? "too many arguments; no verbs in format string"
             : "too many arguments; only " + std::to_string(max_used) + " used by format string");
  }
  return out;
}

// ---- date and time (RFC 3339 timestamps with fixed offsets, like Go's time.Parse)

struct timestamp {
  long long seconds = 0;  // since the Unix epoch, UTC
  long long nanos = 0;
  int offset = 0;  // seconds east of UTC
};

struct civil_time {
  long long year;
  int month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
};

// Howard Hinnant's days_from_civil / civil_from_days.
long long days_from_civil(long long y, int m, int d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

civil_time to_civil(const timestamp& t) {
  long long local = t.seconds + t.offset;
  long long days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  long long sod = local - days * 86400;
  long long z = days + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  civil_time c{};
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
  c.hour = static_cast<int>(sod / 3600);
  c.minute = static_cast<int>(sod / 60 % 60);
  c.second = static_cast<int>(sod % 60);
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  return c;
}

int days_in_month(long long y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

/// Parses "2006-01-02T15:04:05Z" / "...05.999+07:00". Returns an error text or "".
std::string parse_rfc3339(const std::string& s, timestamp& out) {
  std::size_t i = 0;
  auto number = [&](std::size_t digits, const char* what, int lo, int hi, int& field) {
    if (i + digits > s.size()) return std::string("cannot parse ") + what;
    int n = 0;
    for (std::size_t k = 0; k < digits; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return std::string("cannot parse ") + what;
      n = n * 10 + (c - '0');
    }
    i += digits;
    if (n < lo || n > hi) return std::string(what) + " out of range";
    field = n;
    return std::string();
  };
  auto expect = [&](char c) {
    if (i >= s.size() || s[i] != c) return std::string("expected '") + c + "'";
    ++i;
    return std::string();
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::string err;
  if (!(err = number(4, "year", 0, 9999, year)).empty() || !(err = expect('-')).empty() ||
      !(err = number(2, "month", 1, 12, month)).empty() || !(err = expect('-')).empty() ||
      !(err = number(2, "day", 1, 31, day)).empty() || !(err = expect('T')).empty() ||
      !(err = number(2, "hour", 0, 23, hour)).empty() || !(err = expect(':')).empty() ||
      !(err = number(2, "minute", 0, 59, minute)).empty() || !(err = expect(':')).empty() ||
      !(err = number(2, "second", 0, 59, second)).empty()) {
    return err;
  }
  if (day > days_in_month(year, month)) return "day out of range";
  long long nanos = 0;
  if (i < s.size() && s[i] == '.') {
    std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (i - start < 9) nanos = nanos * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start) return "cannot parse fractional seconds";
    for (std::size_t k = i - start; k < 9; ++k) nanos *= 10;
  }
  int offset = 0;
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i++] == '-' ? -1 : 1, oh = 0, om = 0;
    if (!(err = number(2, "time zone offset hour", 0, 23, oh)).empty() ||
        !(err = expect(':')).empty() ||
        !(err = number(2, "time zone offset minute", 0, 59, om)).empty()) {
      return err;
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return "missing time zone offset";
  }
  if (i != s.size()) return "extra text after the time zone offset";
  out.seconds =
      days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  out.nanos = nanos;
  out.offset = offset;
  return {};
}

timestamp timestamp_arg(const call& c, std::size_t i) {
  timestamp t;
  std::string err = parse_rfc3339(c.str(i), t);
  if (!err.empty()) c.fail_arg(i, "not a valid RFC3339 timestamp: " + err);
  return t;
}

std::string two_digits(long long n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02lld", n);
  return buf;
}

std::string offset_text(int offset, bool colon) {
  int mag = std::abs(offset);
  return std::string(offset < 0 ? "-" : "+") + two_digits(mag / 3600) + (colon ? ":" : "") +
         two_digits(mag / 60 % 60);
}

std::string format_rfc3339(const timestamp& t) {
  civil_time c = to_civil(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d", c.year, c.month, c.day, c.hour,
                c.minute, c.second);
  return buf + (t.offset == 0 ? std::string("Z") : offset_text(t.offset, true));
}

const char* const month_names[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};
const char* const day_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                 "Thursday", "Friday", "Saturday"};

/// One run of a repeated letter in a formatdate spec ("YYYY", "h", "ZZZZZ").
std::string format_date_verb(const std::string& tok, const civil_time& c, int offset) {
  auto bad = [&](const char* why) -> std::string {
    fail("invalid date format verb " + json_quote(tok) + ": " + why);
  };
  std::size_t n = tok.size();
  int hour12 = c.hour % 12 == 0 ? 12 : c.hour % 12;
  switch (tok[0]) {
    case 'Y': {
      if (n != 2 && n != 4) return bad("year must either be \"YY\" or \"YYYY\"");
      char buf[24];
      std::snprintf(buf, sizeof buf, "%04lld", c.year);
      return n == 4 ? buf : two_digits(c.year % 100);
    }
    case 'M':
      if (n == 1) return std::to_string(c.month);
      if (n == 2) return two_digits(c.month);
      if (n == 3) return std::string(month_names[c.month - 1]).substr(0, 3);
      if (n == 4) return month_names[c.month - 1];
      return bad("month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"");
    case 'D':
      if (n > 2) return bad("day of month must either be \"D\" or \"DD\"");
      return n == 1 ? std::to_string(c.day) : two_digits(c.day);
    case 'E':
      if (n == 3) return std::string(day_names[c.weekday]).substr(0, 3);
      if (n == 4) return day_names[c.weekday];
      return bad("day of week must either be \"EEE\" or \"EEEE\"");
    case 'h':
      if (n > 2) return bad("24-hour must either be \"h\" or \"hh\"");
      return n == 1 ? std::to_string(c.hour) : two_digits(c.hour);
    case 'H':
      if (n > 2) return bad("12-hour must either be \"H\" or \"HH\"");
      return n == 1 ? std::to_string(hour12) : two_digits(hour12);
    case 'A':
    case 'a':
      if (n != 2) return bad("must be \"AA\" or \"aa\"");
      if (tok[0] == 'A') return c.hour < 12 ? "AM" : "PM";
      return c.hour < 12 ? "am" : "pm";
    case 'm':
      if (n > 2) return bad("minute must either be \"m\" or \"mm\"");
      return n == 1 ? std::to_string(c.minute) : two_digits(c.minute);
    case 's':
      if (n > 2) return bad("second must either be \"s\" or \"ss\"");
      return n == 1 ? std::to_string(c.second) : two_digits(c.second);
    case 'Z':
      if (n == 1) return offset == 0 ? "Z" : offset_text(offset, true);
      if (n == 3) return offset == 0 ? "UTC" : offset_text(offset, false);
      if (n == 4) return offset_text(offset, false);
      if (n == 5) return offset_text(offset, true);
      return bad("timezone must be Z, ZZZZ, or ZZZZZ");
    default:
      return bad("unrecognized");
  }
}

/// Terraform's formatdate(): runs of a letter are verbs, 'quoted text' is literal ('' is a
/// quote), any other character is copied.
std::string format_date(const std::string& spec, const timestamp& t) {
  civil_time c = to_civil(t);
  std::string out;
  for (std::size_t i = 0; i < spec.size();) {
    char ch = spec[i];
    if (ch == '\'') {
      if (i + 1 < spec.size() && spec[i + 1] == '\'') {
        out += '\'';
        i += 2;
        continue;
      }
      std::size_t j = i + 1;
      for (;; ++j) {
        if (j >= spec.size()) fail("unterminated literal '");
        if (spec[j] != '\'') {
          out += spec[j];
        } else if (j + 1 < spec.size() && spec[j + 1] == '\'') {
          out += '\'';
          ++j;
        } else {
          break;
        }
      }
      i = j + 1;
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
      std::size_t j = i;
      while (j < spec.size() && spec[j] == ch) ++j;
      out += format_date_verb(spec.substr(i, j - i), c, t.offset);
      i = j;
    } else {
      out += ch;
      ++i;
    }
  }
  return out;
}

/// Go's time.ParseDuration: "1h30m", "-1.5s", "300ms", "2h45m10.5s"; "0" alone is allowed.
bool parse_duration(const std::string& s, long long& nanos) {
  static const std::pair<const char*, double> units[] = {
      {"ns", 1},   {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
      {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (s.substr(i) == "0") {
    nanos = 0;
    return true;
  }
  if (i >= s.size()) return false;
  double total = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    bool had_int = i > start;
    if (i - start > 18) return false;  // beyond int64 nanoseconds anyway
    double amount = had_int ? std::stod(s.substr(start, i - start)) : 0;
    if (i < s.size() && s[i] == '.') {
      std::size_t frac_start = ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      if (!had_int && i == frac_start) return false;
      if (i > frac_start) amount += std::stod("0." + s.substr(frac_start, i - frac_start));
    } else if (!had_int) {
      return false;
    }
    std::size_t unit_start = i;
    while (i < s.size() && s[i] != '.' && (s[i] < '0' || s[i] > '9')) ++i;
    std::string unit = s.substr(unit_start, i - unit_start);
    auto it = std::find_if(std::begin(units), std::end(units),
                           [&](const auto& u) { return unit == u.first; });
    if (it == std::end(units)) return false;
    total += amount * it->second;
  }
  if (total > 9.2e18) return false;  // Go's durations are int64 nanoseconds
  nanos = static_cast<long long>(negative ? -total : total);
  return true;
}

// ---- encodings

const char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::string& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t chunk = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) chunk |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) chunk |= static_cast<unsigned char>(in[i + 2]);
    out += base64_alphabet[(chunk >> 18) & 63];
    out += base64_alphabet[(chunk >> 12) & 63];
    out += i + 1 < in.size() ? base64_alphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < in.size() ? base64_alphabet[chunk & 63] : '=';
  }
  return out;
}

/// Go's base64.StdEncoding: padding required, CR/LF ignored. False on malformed input.
bool base64_decode(const std::string& in, std::string& out) {
  std::string clean;
  for (char c : in) {
    if (c != '\r' && c != '\n') clean += c;
  }
  if (clean.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < clean.size(); i += 4) {
    std::uint32_t chunk = 0;
    int pads = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      char c = clean[i + k];
      const char* at = c == '=' ? nullptr : std::strchr(base64_alphabet, c);
      if (c == '=') {
        // Padding only in the last group, and only in its last one or two places.
        if (i + 4 != clean.size() || k < 2) return false;
        ++pads;
      } else if (at == nullptr || c == '\0' || pads > 0) {
        return false;
      }
      chunk = (chunk << 6) | (at ? static_cast<std::uint32_t>(at - base64_alphabet) : 0);
    }
    out += static_cast<char>((chunk >> 16) & 0xFF);
    if (pads < 2) out += static_cast<char>((chunk >> 8) & 0xFF);
    if (pads < 1) out += static_cast<char>(chunk & 0xFF);
  }
  return true;
}

/// Go's url.QueryEscape.
std::string url_encode(const std::string& in) {
  std::string out;
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    if (is_name_char(ch) || c == '-' || c == '.' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

/// Go's encoding/csv reader with its defaults: quoted fields may hold commas, newlines and ""
/// quotes; a bare quote elsewhere is an error; blank lines are skipped.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::string s = replace_all(text, "\r\n", "\n");
  std::vector<std::vector<std::string>> records;
  std::size_t i = 0, line = 1;
  auto parse_error = [&](std::size_t at_line, std::size_t column, const char* what) {
    fail("parse error on line " + std::to_string(at_line) + ", column " + std::to_string(column) +
         ": " + what);
  };
  while (i < s.size()) {
    if (s[i] == '\n') {  // blank line
      ++i, ++line;
      continue;
    }
    std::vector<std::string> record;
    std::size_t line_start = i, record_line = line;
    for (bool more = true; more;) {
      std::string field;
      if (i < s.size() && s[i] == '"') {
        ++i;
        for (;;) {
          if (i >= s.size())
            parse_error(record_line, i - line_start + 1,
                        "extraneous or missing \" in quoted-field");
          if (s[i] == '"') {
            if (i + 1 < s.size() && s[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            if (i < s.size() && s[i] != ',' && s[i] != '\n') {
              parse_error(line, i - line_start + 1, "extraneous or missing \" in quoted-field");
            }
            break;
          }
          if (s[i] == '\n') ++line;
          field += s[i++];
        }
      } else {
        while (i < s.size() && s[i] != ',' && s[i] != '\n') {
          if (s[i] == '"') parse_error(line, i - line_start + 1, "bare \" in non-quoted-field");
          field += s[i++];
        }
      }
      record.push_back(std::move(field));
      more = i < s.size() && s[i] == ',';
      if (i < s.size()) ++i;  // the ',' or '\n'
    }
    if (i <= s.size() && i > 0 && s[i - 1] == '\n') ++line;
    if (!records.empty() && record.size() != records.front().size()) {
      fail("record on line " + std::to_string(record_line) + ": wrong number of fields");
    }
    records.push_back(std::move(record));
  }
  return records;
}

// ---- string functions

value fn_chomp(const call& c) {
  std::string s = c.str(0);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return str_value(s);
}

value fn_endswith(const call& c) {
  return value::boolean(ends_with(c.str(0), c.str(1)));
}
value fn_startswith(const call& c) {
  return value::boolean(starts_with(c.str(0), c.str(1)));
}
value fn_strcontains(const call& c) {
  return value::boolean(c.str(0).find(c.str(1)) != std::string::npos);
}

value fn_format(const call& c) {
  return str_value(format_string(c.str(0), args_t(c.all().begin() + 1, c.all().end())));
}

/// formatlist(): list arguments are iterated in lockstep (all must have the same length), other
/// arguments repeat; without any list the result has one element.
value fn_formatlist(const call& c) {
  std::string fmt = c.str(0);
  std::size_t length = std::string::npos, length_arg = 0;
  for (std::size_t i = 1; i < c.count(); ++i) {
    if (!c.at(i).is_sequence()) continue;
    if (length == std::string::npos) {
      length = c.at(i).size();
      length_arg = i;
    } else if (c.at(i).size() != length) {
      c.fail_arg(i, "argument " + std::to_string(i) + " has length " +
                        std::to_string(c.at(i).size()) + ", which is inconsistent with argument " +
                        std::to_string(length_arg) + " of length " + std::to_string(length));
    }
  }
  if (length == std::string::npos) length = 1;
  std::vector<std::string> out;
  std::size_t total = 0;
  for (std::size_t k = 0; k < length; ++k) {
    args_t row;
    for (std::size_t i = 1; i < c.count(); ++i) {
      row.push_back(c.at(i).is_sequence() ? c.at(i).items()[k] : c.at(i));
    }
    out.push_back(format_string(fmt, row));
    check_size(total += out.back().size());
  }
  return string_list(out);
}

value fn_indent(const call& c) {
  long long spaces = c.whole(0);
  if (spaces < 0 || spaces > max_pad_width) {
    c.fail_arg(0, "must be between 0 and " + std::to_string(max_pad_width));
  }
  return str_value(
      replace_all(c.str(1), "\n", "\n" + std::string(static_cast<std::size_t>(spaces), ' ')));
}

value fn_join(const call& c) {
  std::string sep = c.str(0);
  if (c.count() < 2) fail("at least one list is required");
  std::string out;
  bool first = true;
  for (std::size_t i = 1; i < c.count(); ++i) {
    for (const auto& s : c.strings(i)) {
      if (!first) out += sep;
      out += s;
      first = false;
      check_size(out.size());
    }
  }
  return str_value(out);
}

value fn_lower(const call& c) {
  return str_value(map_chars(c.str(0), to_lower));
}
value fn_upper(const call& c) {
  return str_value(map_chars(c.str(0), to_upper));
}

/// Terraform's replace(): a substring wrapped in slashes is a regular expression.
value fn_replace(const call& c) {
  std::string s = c.str(0), substr = c.str(1), repl = c.str(2);
  if (substr.size() > 1 && substr.front() == '/' && substr.back() == '/') {
    compiled_regex cr = compile_pattern(1, substr.substr(1, substr.size() - 2));
    return str_value(regex_replace_all(s, cr, repl));
  }
  return str_value(replace_all(s, substr, repl));
}

value fn_split(const call& c) {
  std::string sep = c.str(0), s = c.str(1);
  std::vector<std::string> parts;
  if (sep.empty()) {
    for (const auto& ch : utf8_chars(s)) parts.push_back(s.substr(ch.pos, ch.len));
    return string_list(parts);
  }
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(sep, pos)) != std::string::npos; pos = hit + sep.size()) {
    parts.push_back(s.substr(pos, hit - pos));
  }
  parts.push_back(s.substr(pos));
  return string_list(parts);
}

value fn_strlen(const call& c) {
  return num_value(static_cast<double>(utf8_chars(c.str(0)).size()));
}

value fn_strrev(const call& c) {
  std::string s = c.str(0), out;
  auto chars = utf8_chars(s);
  for (auto it = chars.rbegin(); it != chars.rend(); ++it) out.append(s, it->pos, it->len);
  return str_value(out);
}

/// substr(): a negative offset counts from the end; a negative length means "to the end".
value fn_substr(const call& c) {
  std::string s = c.str(0);
  long long offset = c.whole(1), length = c.whole(2);
  auto chars = utf8_chars(s);
  auto total = static_cast<long long>(chars.size());
  if (offset < 0) offset = std::max(0LL, total + offset);
  if (offset >= total) return str_value("");
  long long end = length < 0 ? total : std::min(total, offset + length);
  return str_value(
      char_slice(s, chars, static_cast<std::size_t>(offset), static_cast<std::size_t>(end)));
}

value fn_title(const call& c) {
  bool at_word_start = true;
  return str_value(map_chars(c.str(0), [&](char32_t ch) {
    char32_t out = at_word_start ? to_upper(ch) : ch;
    at_word_start = is_title_separator(ch);
    return out;
  }));
}

/// Trims characters matching `drop` from the chosen ends.
template <typename Drop>
std::string trim_chars(const std::string& s, bool left, bool right, Drop drop) {
  auto chars = utf8_chars(s);
  std::size_t from = 0, to = chars.size();
  while (left && from < to && drop(chars[from].cp)) ++from;
  while (right && to > from && drop(chars[to - 1].cp)) --to;
  return char_slice(s, chars, from, to);
}

value fn_trim(const call& c) {
  std::vector<char32_t> cutset;
  for (const auto& ch : utf8_chars(c.str(1))) cutset.push_back(ch.cp);
  return str_value(trim_chars(c.str(0), true, true, [&](char32_t ch) {
    return std::find(cutset.begin(), cutset.end(), ch) != cutset.end();
  }));
}

value fn_trimspace(const call& c) {
  return str_value(trim_chars(c.str(0), true, true, is_space));
}

value fn_trimprefix(const call& c) {
  std::string s = c.str(0), prefix = c.str(1);
  return str_value(starts_with(s, prefix) ? s.substr(prefix.size()) : s);
}

value fn_trimsuffix(const call& c) {
  std::string s = c.str(0), suffix = c.str(1);
  return str_value(ends_with(s, suffix) ? s.substr(0, s.size() - suffix.size()) : s);
}

// ---- collection functions

value fn_alltrue(const call& c) {
  // cty: a null element makes the result false rather than an error.
  for (const auto& item : c.sequence(0).items()) {
    bool b = false;
    if (item.is_null()) return value::boolean(false);
    if (!to_bool(item, b)) c.fail_arg(0, "list of bool required");
    if (!b) return value::boolean(false);
  }
  return value::boolean(true);
}

value fn_anytrue(const call& c) {
  for (const auto& item : c.sequence(0).items()) {
    bool b = false;
    if (item.is_null()) continue;
    if (!to_bool(item, b)) c.fail_arg(0, "list of bool required");
    if (b) return value::boolean(true);
  }
  return value::boolean(false);
}

value fn_chunklist(const call& c) {
  const value& list = c.sequence(0);
  long long size = c.whole(1);
  if (size < 0) c.fail_arg(1, "the size argument must be positive");
  if (size == 0) return value::list({value::list(list.items())});
  value::sequence_t chunks;
  auto step = static_cast<std::size_t>(size);
  for (std::size_t i = 0; i < list.size(); i += step) {
    auto first = list.items().begin() + static_cast<std::ptrdiff_t>(i);
    auto last = list.items().begin() + static_cast<std::ptrdiff_t>(std::min(list.size(), i + step));
    chunks.push_back(value::list(value::sequence_t(first, last)));
  }
  return value::list(std::move(chunks));
}

/// coalesce(): the first argument that is neither null nor "". Mixed primitive arguments unify
/// to string as cty does, so coalesce("", 1) is "1".
value fn_coalesce(const call& c) {
  args_t all = c.all();
  if (!unify(all)) fail("all arguments must have the same type");
  for (const auto& v : all) {
    if (v.is_null() || (v.is_string() && v.as_string().empty())) continue;
    return v;
  }
  fail("no non-null, non-empty-string arguments");
}

value fn_coalescelist(const call& c) {
  for (std::size_t i = 0; i < c.count(); ++i) {
    if (c.at(i).is_null()) continue;
    if (!c.at(i).is_sequence()) {
      c.fail_arg(i, "coalescelist arguments must be lists or tuples, got " + c.at(i).type_name());
    }
    if (c.at(i).size() > 0) return c.at(i);
  }
  fail("no non-null arguments");
}

value fn_compact(const call& c) {
  std::vector<std::string> out;
  for (const auto& item : c.sequence(0).items()) {
    std::string s;
    if (item.is_null()) continue;
    if (!to_string(item, s)) c.fail_arg(0, "list of string required");
    if (!s.empty()) out.push_back(std::move(s));
  }
  return string_list(out);
}

value fn_concat(const call& c) {
  value::sequence_t out;
  bool all_lists = true;
  for (std::size_t i = 0; i < c.count(); ++i) {
    const value& seq = c.sequence(i);
    all_lists = all_lists && seq.flav() != value::flavor::tuple;
    out.insert(out.end(), seq.items().begin(), seq.items().end());
  }
  return all_lists ? value::list(std::move(out)) : value::tuple(std::move(out));
}

value fn_contains(const call& c) {
  const auto& items = c.sequence(0).items();
  return value::boolean(std::find(items.begin(), items.end(), c.at(1)) != items.end());
}

value fn_distinct(const call& c) {
  value::sequence_t out;
  for (const auto& item : c.sequence(0).items()) {
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return value::list(std::move(out));
}

value fn_element(const call& c) {
  const value& list = c.sequence(0);
  long long index = c.whole(1);
  if (list.size() == 0) c.fail_arg(0, "cannot use element function with an empty list");
  if (index < 0) c.fail_arg(1, "cannot use element function with a negative index");
  return list.items()[static_cast<std::size_t>(index) % list.size()];
}

void flatten_into(const value& seq, value::sequence_t& out) {
  for (const auto& item : seq.items()) {
    if (item.is_sequence()) {
      flatten_into(item, out);
    } else {
      out.push_back(item);
    }
  }
}

value fn_flatten(const call& c) {
  value::sequence_t out;
  flatten_into(c.sequence(0), out);
  return value::tuple(std::move(out));
}

value fn_keys(const call& c) {
  std::vector<std::string> keys;
  for (const auto& kv : c.collection(0).attrs()) keys.push_back(kv.first);
  return string_list(keys);
}

value fn_values(const call& c) {
  const value& coll = c.collection(0);
  value::sequence_t out;
  for (const auto& kv : coll.attrs()) out.push_back(kv.second);
  return coll.flav() == value::flavor::map ? value::list(std::move(out))
                                           : value::tuple(std::move(out));
}

value fn_length(const call& c) {
  const value& v = c.non_null(0);
  if (v.is_string()) return num_value(static_cast<double>(utf8_chars(v.as_string()).size()));
  if (v.is_sequence() || v.is_collection()) return num_value(static_cast<double>(v.size()));
  c.fail_arg(0, "argument must be a string, a collection type, or a structural type");
}

value fn_lookup(const call& c) {
  if (c.count() > 3) fail("lookup() takes two or three arguments");
  const auto& attrs = c.collection(0).attrs();
  std::string key = c.str(1);
  auto it = attrs.find(key);
  if (it != attrs.end()) return it->second;
  if (c.count() == 3) return c.at(2);
  fail("lookup failed to find key " + json_quote(key));
}

value fn_merge(const call& c) {
  value::collection_t out;
  bool any_object = false, any_map = false;
  for (std::size_t i = 0; i < c.count(); ++i) {
    const value& v = c.at(i);
    if (v.is_null()) continue;
    if (!v.is_collection()) {
      c.fail_arg(i, "arguments must be maps or objects, got " + json_quote(v.type_name()));
    }
    (v.flav() == value::flavor::map ? any_map : any_object) = true;
    for (const auto& [key, item] : v.attrs()) out[key] = item;
  }
  return any_map && !any_object ? value::map(std::move(out)) : value::object(std::move(out));
}

value fn_one(const call& c) {
  const value& seq = c.sequence(0);
  if (seq.size() > 1) {
    c.fail_arg(0, "must be a list, set, or tuple value with either zero or one elements");
  }
  return seq.size() == 0 ? value::null() : seq.items().front();
}

/// range(limit), range(start, limit), range(start, limit, step), exactly as cty's Range.
value fn_range(const call& c) {
  if (c.count() < 1 || c.count() > 3) fail("must have one, two, or three arguments");
  double start = 0, end = 0, step = 1;
  if (c.count() == 1) {
    end = c.num(0);
    step = end < 0 ? -1 : 1;
  } else {
    start = c.num(0);
    end = c.num(1);
    step = c.count() == 3 ? c.num(2) : (end < start ? -1 : 1);
  }
  if (step == 0) c.fail_arg(std::min<std::size_t>(2, c.count() - 1), "step must not be zero");
  bool down = step < 0;
  if (down && end > start) c.fail_arg(1, "end must be less than start when step is negative");
  if (!down && end < start) c.fail_arg(1, "end must be greater than start when step is positive");
  value::sequence_t out;
  // start + i * step rather than repeated addition, so that errors do not accumulate.
  for (double n = start; down ? n > end : n < end;
       n = decimal_round(start + static_cast<double>(out.size()) * step)) {
    if (out.size() >= max_range_elements) {
      fail(
          "more than 1024 values were generated; either decrease the difference between start "
          "and end or use a smaller step");
    }
    out.push_back(num_value(n));
  }
  return value::list(std::move(out));
}

value fn_reverse(const call& c) {
  const value& seq = c.sequence(0);
  if (seq.is_set()) c.fail_arg(0, "can only reverse list or tuple values, not " + seq.type_name());
  value::sequence_t out(seq.items().rbegin(), seq.items().rend());
  return same_flavor(seq, std::move(out));
}

value fn_slice(const call& c) {
  const value& seq = c.sequence(0);
  if (seq.is_set()) {
    c.fail_arg(0,
               "cannot slice a set, because its elements do not have indices; explicitly "
               "convert to a list if needed");
  }
  long long start = c.whole(1), end = c.whole(2);
  if (start < 0) c.fail_arg(1, "start index must not be less than zero");
  if (end > static_cast<long long>(seq.size())) {
    c.fail_arg(2, "end index must not be greater than the length of the list");
  }
  if (start > end) c.fail_arg(1, "start index must not be greater than end index");
  value::sequence_t out(seq.items().begin() + start, seq.items().begin() + end);
  return same_flavor(seq, std::move(out));
}

value fn_sort(const call& c) {
  auto items = c.strings(0);
  std::sort(items.begin(), items.end());
  return string_list(items);
}

value fn_sum(const call& c) {
  auto nums = c.numbers(0);
  if (nums.empty()) c.fail_arg(0, "cannot sum an empty list");
  double total = 0;
  for (double n : nums) total += n;
  return num_value(decimal_round(total));
}

value fn_transpose(const call& c) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [key, list] : c.collection(0).attrs()) {
    if (!list.is_sequence()) c.fail_arg(0, "map of list of string required");
    for (const auto& item : list.items()) {
      std::string s;
      if (!to_string(item, s)) c.fail_arg(0, "map of list of string required");
      out[s].push_back(key);
    }
  }
  value::collection_t attrs;
  for (const auto& [key, list] : out) attrs[key] = string_list(list);
  return value::map(std::move(attrs));
}

value fn_zipmap(const call& c) {
  auto keys = c.strings(0);
  const value& vals = c.sequence(1);
  if (keys.size() != vals.size()) {
    fail("number of keys (" + std::to_string(keys.size()) + ") does not match number of values (" +
         std::to_string(vals.size()) + ")");
  }
  value::collection_t out;
  for (std::size_t i = 0; i < keys.size(); ++i) out[keys[i]] = vals.items()[i];
  return vals.flav() == value::flavor::tuple ? value::object(std::move(out))
                                             : value::map(std::move(out));
}

// ---- numeric functions

value finite_result(double n) {
  if (!std::isfinite(n)) fail("the result is not a finite number");
  return num_value(n);
}

value fn_abs(const call& c) {
  return num_value(std::fabs(c.num(0)));
}
value fn_ceil(const call& c) {
  return num_value(std::ceil(c.num(0)));
}
value fn_floor(const call& c) {
  return num_value(std::floor(c.num(0)));
}
value fn_log(const call& c) {
  return finite_result(std::log(c.num(0)) / std::log(c.num(1)));
}
value fn_pow(const call& c) {
  return finite_result(std::pow(c.num(0), c.num(1)));
}

value fn_signum(const call& c) {
  double n = c.num(0);
  return num_value(n > 0 ? 1 : n < 0 ? -1 : 0);
}

template <typename Pick>
value extreme(const call& c, Pick pick) {
  if (c.count() == 0) fail("must pass at least one number");
  double best = c.num(0);
  for (std::size_t i = 1; i < c.count(); ++i) best = pick(best, c.num(i));
  return num_value(best);
}
value fn_max(const call& c) {
  return extreme(c, [](double a, double b) { return std::max(a, b); });
}
value fn_min(const call& c) {
  return extreme(c, [](double a, double b) { return std::min(a, b); });
}

/// parseint(): Go's big.Int SetString for bases 2-62 (above 36, upper case letters are digits
/// 36-61; up to 36 letters are case-insensitive). The input must already be a string.
value fn_parseint(const call& c) {
  if (!c.non_null(0).is_string()) {
    c.fail_arg(0, "first argument must be a string, not " + c.at(0).type_name());
  }
  long long base = c.whole(1);
  if (base < 2 || base > 62)
    c.fail_arg(1, "base must be a whole number between 2 and 62 inclusive");
  const std::string& s = c.at(0).as_string();
  auto cannot = [&] {
    c.fail_arg(0,
               "cannot parse " + json_quote(s) + " as a base " + std::to_string(base) + " integer");
  };
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (i >= s.size()) cannot();
  double n = 0;
  for (; i < s.size(); ++i) {
    char ch = s[i];
    int digit = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'z' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'Z' ? ch - 'A' + (base <= 36 ? 10 : 36)
                                         : 99;
    if (digit >= base) cannot();
    n = n * static_cast<double>(base) + digit;
  }
  return finite_result(negative ? -n : n);
}

// ---- encoding functions

value fn_base64encode(const call& c) {
  return str_value(base64_encode(c.str(0)));
}

value fn_base64decode(const call& c) {
  std::string s = c.str(0), out;
  if (!base64_decode(s, out)) c.fail_arg(0, "failed to decode base64 data " + json_quote(s));
  if (!is_valid_utf8(out)) {
    c.fail_arg(0, "the result of decoding the provided string is not valid UTF-8");
  }
  return str_value(out);
}

value fn_csvdecode(const call& c) {
  auto records = parse_csv(c.str(0));
  if (records.empty()) c.fail_arg(0, "missing header line");
  const auto& header = records.front();
  value::sequence_t rows;
  for (std::size_t r = 1; r < records.size(); ++r) {
    value::collection_t attrs;
    for (std::size_t k = 0; k < header.size(); ++k) attrs[header[k]] = str_value(records[r][k]);
    rows.push_back(value::object(std::move(attrs)));
  }
  return value::list(std::move(rows));
}

value fn_jsondecode(const call& c) {
  std::string s = c.str(0);
  if (pipeline::json_depth(s) > max_json_depth) c.fail_arg(0, "JSON is nested too deeply");
  try {
    return from_json(nlohmann::json::parse(s));
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    std::size_t tag_end = what.find("] ");  // drop nlohmann's "[json.exception...]" tag
    c.fail_arg(0, tag_end == std::string::npos ? what : what.substr(tag_end + 2));
  }
}

value fn_jsonencode(const call& c) {
  return str_value(json_text(c.at(0)));
}
value fn_urlencode(const call& c) {
  return str_value(url_encode(c.str(0)));
}

// ---- date and time functions

value fn_formatdate(const call& c) {
  std::string spec = c.str(0);
  timestamp t = timestamp_arg(c, 1);
  try {
    return str_value(format_date(spec, t));
  } catch (call_error& e) {
    e.arg = 0;  // problems in the spec belong to the format argument
    throw;
  }
}

value fn_timeadd(const call& c) {
  timestamp t = timestamp_arg(c, 0);
  std::string d = c.str(1);
  long long nanos = 0;
  if (!parse_duration(d, nanos)) c.fail_arg(1, "time: invalid duration " + json_quote(d));
  long long total = t.nanos + nanos % 1000000000;
  t.seconds += nanos / 1000000000 + (total >= 1000000000 ? 1 : total < 0 ? -1 : 0);
  t.nanos = (total % 1000000000 + 1000000000) % 1000000000;
  return str_value(format_rfc3339(t));
}

value fn_timestamp(const call&) {
  using namespace std::chrono;
  timestamp t;
  t.seconds = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  return str_value(format_rfc3339(t));
}

// ---- regex functions

value fn_regex(const call& c) {
  compiled_regex cr = compile_pattern(0, c.str(0));
  std::string s = c.str(1);
  match_groups m;
  if (!find_match(cr, s, 0, m)) fail("pattern did not match any part of the given string");
  return match_value(cr, m);
}

value fn_regexall(const call& c) {
  compiled_regex cr = compile_pattern(0, c.str(0));
  std::string s = c.str(1);
  value::sequence_t out;
  for_each_match(cr, s, [&](const match_groups& m) { out.push_back(match_value(cr, m)); });
  return value::list(std::move(out));
}

value fn_regexreplace(const call& c) {
  std::string s = c.str(0);
  compiled_regex cr = compile_pattern(1, c.str(1));
  return str_value(regex_replace_all(s, cr, c.str(2)));
}

// ---- set functions

/// The elements of each argument as sets, with element types unified across all arguments as
/// cty does before a set operation (so toset(["1"]) and [1] meet on "1").
std::vector<value::sequence_t> set_args(const call& c) {
  value::sequence_t all;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < c.count(); ++i) {
    const auto& items = c.sequence(i).items();
    all.insert(all.end(), items.begin(), items.end());
    sizes.push_back(items.size());
  }
  if (!unify(all)) fail("given sets must all have compatible element types");
  std::vector<value::sequence_t> out;
  auto it = all.begin();
  for (std::size_t n : sizes) {
    out.push_back(value::set(value::sequence_t(it, it + static_cast<std::ptrdiff_t>(n))).items());
    it += static_cast<std::ptrdiff_t>(n);
  }
  return out;
}

bool has(const value::sequence_t& sorted, const value& v) {
  return std::binary_search(sorted.begin(), sorted.end(), v);
}

value fn_setunion(const call& c) {
  value::sequence_t out;
  for (auto& s : set_args(c)) out.insert(out.end(), s.begin(), s.end());
  return value::set(std::move(out));
}

value fn_setintersection(const call& c) {
  auto sets = set_args(c);
  value::sequence_t out;
  for (const auto& v : sets.front()) {
    if (std::all_of(sets.begin() + 1, sets.end(), [&](const auto& s) { return has(s, v); })) {
      out.push_back(v);
    }
  }
  return value::set(std::move(out));
}

value fn_setsubtract(const call& c) {
  auto sets = set_args(c);
  value::sequence_t out;
  for (const auto& v : sets[0]) {
    if (!has(sets[1], v)) out.push_back(v);
  }
  return value::set(std::move(out));
}

value fn_setsymmetricdifference(const call& c) {
  auto sets = set_args(c);
  value::sequence_t acc = sets.front();
  for (std::size_t i = 1; i < sets.size(); ++i) {
    value::sequence_t next;
    std::set_symmetric_difference(acc.begin(), acc.end(), sets[i].begin(), sets[i].end(),
                                  std::back_inserter(next));
    acc = std::move(next);
  }
  return value::set(std::move(acc));
}

/// setproduct(): every combination, as tuples; a list when any argument is a list or tuple.
value fn_setproduct(const call& c) {
  if (c.count() < 2) fail("at least two arguments are required");
  std::size_t total = 1;
  bool any_list = false;
  for (std::size_t i = 0; i < c.count(); ++i) {
    const value& seq = c.sequence(i);
    any_list = any_list || !seq.is_set();
    total = seq.size() == 0 ? 0 : total;
    if (total != 0 && (total *= seq.size()) > max_product_size) {
      fail("the product would have more than " + std::to_string(max_product_size) + " elements");
    }
  }
  value::sequence_t out;
  std::vector<std::size_t> index(c.count(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    value::sequence_t row;
    for (std::size_t i = 0; i < c.count(); ++i) row.push_back(c.at(i).items()[index[i]]);
    out.push_back(value::tuple(std::move(row)));
    for (std::size_t i = c.count(); i-- > 0;) {  // odometer: last argument varies fastest
      if (++index[i] < c.at(i).size()) break;
      index[i] = 0;
    }
  }
  return any_list ? value::list(std::move(out)) : value::set(std::move(out));
}

// ---- conversion functions (null converts to null, like cty's convert)

value fn_tostring(const call& c) {
  std::string s;
  if (c.at(0).is_null()) return value::null();
  if (!to_string(c.at(0), s)) c.fail_arg(0, "cannot convert " + c.at(0).type_name() + " to string");
  return str_value(s);
}

value fn_tonumber(const call& c) {
  const value& v = c.at(0);
  double n = 0;
  if (v.is_null()) return value::null();
  if (to_number(v, n)) return num_value(n);
  if (v.is_string()) {
    c.fail_arg(0, "cannot convert " + json_quote(v.as_string()) +
                      " to number; given string must be a decimal representation of a number");
  }
  c.fail_arg(0, "cannot convert " + v.type_name() + " to number");
}

value fn_tobool(const call& c) {
  const value& v = c.at(0);
  bool b = false;
  if (v.is_null()) return value::null();
  if (to_bool(v, b)) return value::boolean(b);
  if (v.is_string()) {
    c.fail_arg(0, "cannot convert " + json_quote(v.as_string()) +
                      " to bool; only the strings \"true\" or \"false\" are allowed");
  }
  c.fail_arg(0, "cannot convert " + v.type_name() + " to bool");
}

/// The elements of a sequence unified to one type, for tolist()/toset().
value::sequence_t unified_sequence(const call& c, const char* target) {
  const value& v = c.at(0);
  value::sequence_t items = v.is_sequence() ? v.items() : value::sequence_t{};
  if (!v.is_sequence() || !unify(items)) {
    c.fail_arg(0, "cannot convert " + v.type_name() + " to " + target + " of any single type");
  }
  return items;
}

value fn_tolist(const call& c) {
  if (c.at(0).is_null()) return value::null();
  return value::list(unified_sequence(c, "list"));
}

value fn_toset(const call& c) {
  if (c.at(0).is_null()) return value::null();
  return value::set(unified_sequence(c, "set"));
}

value fn_tomap(const call& c) {
  const value& v = c.at(0);
  if (v.is_null()) return value::null();
  if (!v.is_collection())
    c.fail_arg(0, "cannot convert " + v.type_name() + " to map of any single type");
  value::sequence_t items;
  for (const auto& kv : v.attrs()) items.push_back(kv.second);
  if (!unify(items)) c.fail_arg(0, "cannot convert object to map of any single type");
  value::collection_t out;
  auto it = items.begin();
  for (const auto& kv : v.attrs()) out[kv.first] = *it++;
  return value::map(std::move(out));
}

// ---- the table

using impl_fn = value (*)(const call&);

/// Wraps an implementation so that nothing it throws escapes: argument errors keep their
/// index, library exceptions become call errors.
function_def make_def(std::vector<std::string> params, bool variadic, impl_fn fn) {
  function_def def;
  def.params = std::move(params);
  def.variadic = variadic;
  def.impl = [fn](const args_t& args) -> function_result {
    try {
      return function_result::success(fn(call(args)));
    } catch (const call_error& e) {
      return function_result::failure(e.message, e.arg);
    } catch (const std::bad_alloc&) {
      return function_result::failure("the result is too large");
    } catch (const std::exception& e) {
      return function_result::failure(e.what());
    }
  };
  return def;
}

function_table build_table() {
  struct entry {
    const char* name;
    std::vector<std::string> params;
    bool variadic;
    impl_fn fn;
  };
  const entry entries[] = {
      // string
      {"chomp", {"str"}, false, fn_chomp},
      {"endswith", {"str", "suffix"}, false, fn_endswith},
      {"format", {"format", "args"}, true, fn_format},
      {"formatlist", {"format", "args"}, true, fn_formatlist},
      {"indent", {"spaces", "str"}, false, fn_indent},
      {"join", {"separator", "lists"}, true, fn_join},
      {"lower", {"str"}, false, fn_lower},
      {"replace", {"str", "substr", "replace"}, false, fn_replace},
      {"split", {"separator", "str"}, false, fn_split},
      {"startswith", {"str", "prefix"}, false, fn_startswith},
      {"strcontains", {"str", "substr"}, false, fn_strcontains},
      {"strlen", {"str"}, false, fn_strlen},
      {"strrev", {"str"}, false, fn_strrev},
      {"substr", {"str", "offset", "length"}, false, fn_substr},
      {"title", {"str"}, false, fn_title},
      {"trim", {"str", "cutset"}, false, fn_trim},
      {"trimprefix", {"str", "prefix"}, false, fn_trimprefix},
      {"trimsuffix", {"str", "suffix"}, false, fn_trimsuffix},
      {"trimspace", {"str"}, false, fn_trimspace},
      {"upper", {"str"}, false, fn_upper},
      // collection
      {"alltrue", {"list"}, false, fn_alltrue},
      {"anytrue", {"list"}, false, fn_anytrue},
      {"chunklist", {"list", "size"}, false, fn_chunklist},
      {"coalesce", {"vals"}, true, fn_coalesce},
      {"coalescelist", {"vals"}, true, fn_coalescelist},
      {"compact", {"list"}, false, fn_compact},
      {"concat", {"seqs"}, true, fn_concat},
      {"contains", {"list", "value"}, false, fn_contains},
      {"distinct", {"list"}, false, fn_distinct},
      {"element", {"list", "index"}, false, fn_element},
      {"flatten", {"list"}, false, fn_flatten},
      {"keys", {"inputMap"}, false, fn_keys},
      {"length", {"value"}, false, fn_length},
      {"lookup", {"inputMap", "key", "default"}, true, fn_lookup},
      {"merge", {"maps"}, true, fn_merge},
      {"one", {"list"}, false, fn_one},
      {"range", {"params"}, true, fn_range},
      {"reverse", {"list"}, false, fn_reverse},
      {"slice", {"list", "start_index", "end_index"}, false, fn_slice},
      {"sort", {"list"}, false, fn_sort},
      {"sum", {"list"}, false, fn_sum},
      {"transpose", {"values"}, false, fn_transpose},
      {"values", {"mapping"}, false, fn_values},
      {"zipmap", {"keys", "values"}, false, fn_zipmap},
      // numeric
      {"abs", {"num"}, false, fn_abs},
      {"ceil", {"num"}, false, fn_ceil},
      {"floor", {"num"}, false, fn_floor},
      {"log", {"num", "base"}, false, fn_log},
      {"max", {"numbers"}, true, fn_max},
      {"min", {"numbers"}, true, fn_min},
      {"parseint", {"number", "base"}, false, fn_parseint},
      {"pow", {"num", "power"}, false, fn_pow},
      {"signum", {"num"}, false, fn_signum},
      // encoding
      {"base64decode", {"str"}, false, fn_base64decode},
      {"base64encode", {"str"}, false, fn_base64encode},
      {"csvdecode", {"str"}, false, fn_csvdecode},
      {"jsondecode", {"str"}, false, fn_jsondecode},
      {"jsonencode", {"val"}, false, fn_jsonencode},
      {"urlencode", {"str"}, false, fn_urlencode},
      // date and time
      {"formatdate", {"format", "time"}, false, fn_formatdate},
      {"timeadd", {"timestamp", "duration"}, false, fn_timeadd},
      {"timestamp", {}, false, fn_timestamp},
      // regex
      {"regex", {"pattern", "string"}, false, fn_regex},
      {"regexall", {"pattern", "string"}, false, fn_regexall},
      {"regexreplace", {"str", "pattern", "replace"}, false, fn_regexreplace},
      // set
      {"setintersection", {"first_set", "other_sets"}, true, fn_setintersection},
      {"setproduct", {"sets"}, true, fn_setproduct},
      {"setsubtract", {"a", "b"}, false, fn_setsubtract},
      {"setsymmetricdifference", {"first_set", "other_sets"}, true, fn_setsymmetricdifference},
      {"setunion", {"first_set", "other_sets"}, true, fn_setunion},
      {"toset", {"v"}, false, fn_toset},
      // conversion
      {"tobool", {"v"}, false, fn_tobool},
      {"tolist", {"v"}, false, fn_tolist},
      {"tomap", {"v"}, false, fn_tomap},
      {"tonumber", {"v"}, false, fn_tonumber},
      {"tostring", {"v"}, false, fn_tostring},
  };
  function_table table;
  for (const auto& e : entries) table.emplace(e.name, make_def(e.params, e.variadic, e.fn));
  return table;
}

}  // namespace

const function_table& builtin_functions() {
  static const function_table table = build_table();
  return table;
}

}  // namespace pikoci::hcl
