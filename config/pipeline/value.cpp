// The dynamic value model: construction, cty-like equality and order, conversions and JSON.

#include "config/pipeline/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace pikoci::hcl {

// ---- construction

value value::boolean(bool b) {
  value v;
  v.kind_ = kind::boolean;
  v.bool_ = b;
  return v;
}

value value::number(double n) {
  value v;
  v.kind_ = kind::number;
  v.number_ = n == 0 ? 0.0 : n;  // cty has no negative zero; -0 would print as "-0"
  return v;
}

value value::string(std::string s) {
  value v;
  v.kind_ = kind::string;
  v.string_ = std::move(s);
  return v;
}

value value::tuple(sequence_t items) {
  value v;
  v.kind_ = kind::sequence;
  v.flavor_ = flavor::tuple;
  v.items_ = std::move(items);
  return v;
}

value value::list(sequence_t items) {
  value v = tuple(std::move(items));
  v.flavor_ = flavor::list;
  return v;
}

value value::set(sequence_t items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  value v = tuple(std::move(items));
  v.flavor_ = flavor::set;
  return v;
}

value value::object(collection_t attrs) {
  value v;
  v.kind_ = kind::collection;
  v.flavor_ = flavor::object;
  v.attrs_ = std::move(attrs);
  return v;
}

value value::map(collection_t attrs) {
  value v = object(std::move(attrs));
  v.flavor_ = flavor::map;
  return v;
}

std::size_t value::size() const {
  if (kind_ == kind::sequence) return items_.size();
  if (kind_ == kind::collection) return attrs_.size();
  return 0;
}

// ---- equality and order

bool value::operator==(const value& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case kind::null:
      return true;
    case kind::boolean:
      return bool_ == other.bool_;
    case kind::number:
      return number_ == other.number_;
    case kind::string:
      return string_ == other.string_;
    case kind::sequence:
      // A set is a different type from a list or tuple in cty, so they never compare equal.
      if (is_set() != other.is_set()) return false;
      return items_ == other.items_;
    case kind::collection:
      return attrs_ == other.attrs_;
  }
  return false;
}

bool value::operator<(const value& other) const {
  if (kind_ != other.kind_) return kind_ < other.kind_;
  switch (kind_) {
    case kind::null:
      return false;
    case kind::boolean:
      return bool_ < other.bool_;
    case kind::number:
      return number_ < other.number_;
    case kind::string:
      return string_ < other.string_;
    case kind::sequence:
      if (items_ != other.items_) return items_ < other.items_;
      // Keeps the order consistent with ==, where a set differs from an equal-looking tuple.
      return !is_set() && other.is_set();
    case kind::collection:
      return attrs_ < other.attrs_;
  }
  return false;
}

// ---- type names

namespace {

/// The element type of a homogeneous list/set/map; "dynamic" when empty or mixed, like cty's
/// DynamicPseudoType stands in for "any single type".
template <typename Range, typename Get>
std::string element_type_name(const Range& range, Get get) {
  std::string name;
  for (const auto& item : range) {
    std::string n = get(item).type_name();
    if (name.empty()) {
      name = std::move(n);
    } else if (name != n) {
      return "dynamic";
    }
  }
  return name.empty() ? "dynamic" : name;
}

}  // namespace

std::string value::type_name() const {
  switch (kind_) {
    case kind::null:
      return "null";
    case kind::boolean:
      return "bool";
    case kind::number:
      return "number";
    case kind::string:
      return "string";
    case kind::sequence: {
      if (flavor_ != flavor::list && flavor_ != flavor::set) return "tuple";
      auto elem = element_type_name(items_, [](const value& v) -> const value& { return v; });
      return (flavor_ == flavor::set ? "set of " : "list of ") + elem;
    }
    case kind::collection: {
      if (flavor_ != flavor::map) return "object";
      return "map of " +
             element_type_name(attrs_, [](const auto& kv) -> const value& { return kv.second; });
    }
  }
  return "dynamic";
}

// ---- conversions

std::string format_number(double n) {
  if (std::isnan(n)) return "NaN";
  if (std::isinf(n)) return n > 0 ? "+Inf" : "-Inf";
  if (n == 0) return "0";
  // Fixed notation with the shortest digits that round-trip is what Go's big.Float
  // Text('f', -1) prints for cty numbers: "3", "0.1", "1000000", never an exponent.
  // 400 bytes fit the longest double in fixed notation (about 330 characters).
  char buf[400];
  auto res = std::to_chars(buf, buf + sizeof buf, n, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

bool to_string(const value& v, std::string& out) {
  switch (v.type()) {
    case value::kind::boolean:
      out = v.as_bool() ? "true" : "false";
      return true;
    case value::kind::number:
      out = format_number(v.as_number());
      return true;
    case value::kind::string:
      out = v.as_string();
      return true;
    default:
      return false;
  }
}

namespace {

/// Whether `s` is a plain decimal number as Go's big.ParseFloat(s, 10, ...) accepts it: an
/// optional sign, digits with an optional fraction, an optional exponent. No spaces, no hex,
/// no "inf"/"nan" (those would not be valid cty numbers).
bool is_decimal_number(const std::string& s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  auto digits = [&] {
    std::size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t mantissa = digits();
  if (i < n && s[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == n;
}

}  // namespace

bool to_number(const value& v, double& out) {
  if (v.is_number()) {
    out = v.as_number();
    return true;
  }
  if (!v.is_string() || !is_decimal_number(v.as_string())) return false;
  double parsed = std::strtod(v.as_string().c_str(), nullptr);
  if (!std::isfinite(parsed)) return false;
  out = parsed;
  return true;
}

bool to_bool(const value& v, bool& out) {
  if (v.is_bool()) {
    out = v.as_bool();
    return true;
  }
  if (!v.is_string()) return false;
  if (v.as_string() == "true" || v.as_string() == "false") {
    out = v.as_string() == "true";
    return true;
  }
  return false;
}

// ---- JSON

nlohmann::json to_json(const value& v) {
  switch (v.type()) {
    case value::kind::null:
      return nullptr;
    case value::kind::boolean:
      return v.as_bool();
    case value::kind::number: {
      double n = v.as_number();
      // Whole numbers are emitted as JSON integers so that 3 encodes as "3", not "3.0".
      constexpr double int_limit = 9223372036854775807.0;
      if (std::isfinite(n) && std::trunc(n) == n && std::fabs(n) < int_limit) {
        return static_cast<std::int64_t>(n);
      }
      return n;
    }
    case value::kind::string:
      return v.as_string();
    case value::kind::sequence: {
      auto arr = nlohmann::json::array();
      for (const auto& item : v.items()) arr.push_back(to_json(item));
      return arr;
    }
    case value::kind::collection: {
      auto obj = nlohmann::json::object();
      for (const auto& [key, item] : v.attrs()) obj[key] = to_json(item);
      return obj;
    }
  }
  return nullptr;
}

namespace {
/// Deepest JSON from_json converts: values are built and destroyed recursively, so deeper
/// documents throw std::length_error instead of running out of stack (jsondecode() refuses
/// them before; documents from outside are limited to far less by pipeline::decode_json).
constexpr std::size_t max_from_json_depth = 512;

value from_json_at(const nlohmann::json& j, std::size_t depth) {
  // Values are built and destroyed recursively: refuse before the stack could run out.
  if ((j.is_array() || j.is_object()) && depth >= max_from_json_depth)
    throw std::length_error("JSON nests deeper than " + std::to_string(max_from_json_depth) +
                            " levels");
  switch (j.type()) {
    case nlohmann::json::value_t::boolean:
      return value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return value::number(static_cast<double>(j.get<std::int64_t>()));
    case nlohmann::json::value_t::number_unsigned:
      return value::number(static_cast<double>(j.get<std::uint64_t>()));
    case nlohmann::json::value_t::number_float:
      return value::number(j.get<double>());
    case nlohmann::json::value_t::string:
      return value::string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      value::sequence_t items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(from_json_at(item, depth + 1));
      return value::tuple(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      value::collection_t attrs;
      for (const auto& [key, item] : j.items()) attrs.emplace(key, from_json_at(item, depth + 1));
      return value::object(std::move(attrs));
    }
    default:  // null, binary, discarded
      return value::null();
  }
}
}  // namespace

value from_json(const nlohmann::json& j) {
  return from_json_at(j, 0);
}

}  // namespace pikoci::hcl
