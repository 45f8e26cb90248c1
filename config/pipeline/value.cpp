#include "config/pipeline/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace pikoci::hcl {

value value::boolean(bool b) {
  value v;
  v.kind_ = kind::boolean;
  v.bool_ = b;
  return v;
}

value value::number(double n) {
  value v;
  v.kind_ = kind::number;
  v.number_ = n == 0 ? 0.0 : n;  // no negative zero
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

bool value::operator==(const value& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case kind::null: return true;
    case kind::boolean: return bool_ == o.bool_;
    case kind::number: return number_ == o.number_;
    case kind::string: return string_ == o.string_;
    case kind::sequence:
      if ((flavor_ == flavor::set) != (o.flavor_ == flavor::set)) return false;
      return items_ == o.items_;
    case kind::collection: return attrs_ == o.attrs_;
  }
  return false;
}

bool value::operator<(const value& o) const {
  if (kind_ != o.kind_) return kind_ < o.kind_;
  switch (kind_) {
    case kind::null: return false;
    case kind::boolean: return bool_ < o.bool_;
    case kind::number: return number_ < o.number_;
    case kind::string: return string_ < o.string_;
    case kind::sequence:
      return std::lexicographical_compare(items_.begin(), items_.end(), o.items_.begin(),
                                          o.items_.end());
    case kind::collection:
      return std::lexicographical_compare(
          attrs_.begin(), attrs_.end(), o.attrs_.begin(), o.attrs_.end(),
          [](const auto& a, const auto& b) {
            if (a.first != b.first) return a.first < b.first;
            return a.second < b.second;
          });
  }
  return false;
}

namespace {

/// The common element type name of a homogeneous sequence or collection, or "" if mixed.
std::string element_type(const std::vector<const value*>& elems) {
  if (elems.empty()) return "dynamic";
  std::string t = elems.front()->type_name();
  for (const value* e : elems)
    if (e->type_name() != t) return "";
  return t;
}

}  // namespace

std::string value::type_name() const {
  switch (kind_) {
    case kind::null: return "null";
    case kind::boolean: return "bool";
    case kind::number: return "number";
    case kind::string: return "string";
    case kind::sequence: {
      if (flavor_ == flavor::tuple || flavor_ == flavor::none) return "tuple";
      std::vector<const value*> elems;
      for (const auto& i : items_) elems.push_back(&i);
      std::string t = element_type(elems);
      return std::string(flavor_ == flavor::set ? "set" : "list") + " of " +
             (t.empty() ? "dynamic" : t);
    }
    case kind::collection: {
      if (flavor_ != flavor::map) return "object";
      std::vector<const value*> elems;
      for (const auto& [k, v] : attrs_) elems.push_back(&v);
      std::string t = element_type(elems);
      return "map of " + (t.empty() ? std::string("dynamic") : t);
    }
  }
  return "dynamic";
}

std::string format_number(double n) {
  if (std::isnan(n)) return "NaN";
  if (std::isinf(n)) return n > 0 ? "+Inf" : "-Inf";
  if (n == std::floor(n) && std::fabs(n) < 9007199254740992.0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", n);
    return buf;
  }
  // Shortest representation that reads back to the same double, without an exponent.
  for (int precision = 1; precision <= 17; ++precision) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", precision, n);
    if (std::strtod(buf, nullptr) == n) {
      std::string s = buf;
      if (s.find('e') == std::string::npos) return s;
      // expand the exponent form into plain decimal digits
      char plain[400];
      std::snprintf(plain, sizeof plain, "%.*f", std::max(0, 17 - precision + 20), n);
      std::string p = plain;
      if (p.find('.') != std::string::npos) {
        while (!p.empty() && p.back() == '0') p.pop_back();
        if (!p.empty() && p.back() == '.') p.pop_back();
      }
      return p;
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", n);
  return buf;
}

bool to_string(const value& v, std::string& out) {
  switch (v.type()) {
    case value::kind::string: out = v.as_string(); return true;
    case value::kind::number: out = format_number(v.as_number()); return true;
    case value::kind::boolean: out = v.as_bool() ? "true" : "false"; return true;
    default: return false;
  }
}

bool to_number(const value& v, double& out) {
  if (v.is_number()) {
    out = v.as_number();
    return true;
  }
  if (!v.is_string()) return false;
  const std::string& s = v.as_string();
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back())))
    return false;
  const char* begin = s.c_str();
  char* end = nullptr;
  double d = std::strtod(begin, &end);
  if (end != begin + s.size()) return false;
  // strtod accepts hex, inf and nan; cty's number parsing does not.
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
          c == '+' || c == '-'))
      return false;
  out = d;
  return true;
}

bool to_bool(const value& v, bool& out) {
  if (v.is_bool()) {
    out = v.as_bool();
    return true;
  }
  if (v.is_string() && (v.as_string() == "true" || v.as_string() == "false")) {
    out = v.as_string() == "true";
    return true;
  }
  return false;
}

nlohmann::json to_json(const value& v) {
  switch (v.type()) {
    case value::kind::null: return nullptr;
    case value::kind::boolean: return v.as_bool();
    case value::kind::number: {
      double n = v.as_number();
      if (n == std::floor(n) && std::fabs(n) < 9007199254740992.0)
        return static_cast<std::int64_t>(n);
      return n;
    }
    case value::kind::string: return v.as_string();
    case value::kind::sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& i : v.items()) a.push_back(to_json(i));
      return a;
    }
    case value::kind::collection: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [k, i] : v.attrs()) o[k] = to_json(i);
      return o;
    }
  }
  return nullptr;
}

value from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::boolean: return value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return value::number(j.get<double>());
    case nlohmann::json::value_t::string: return value::string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      value::sequence_t items;
      for (const auto& e : j) items.push_back(from_json(e));
      return value::tuple(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      value::collection_t attrs;
      for (auto it = j.begin(); it != j.end(); ++it) attrs[it.key()] = from_json(it.value());
      return value::object(std::move(attrs));
    }
    default: return value{};
  }
}

}  // namespace pikoci::hcl
