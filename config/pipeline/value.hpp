#pragma once
// The dynamic value model of the pipeline language, a small subset of go-cty's: null, bool,
// number, string, sequences (tuple / list / set) and key-value collections (object / map).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pikoci::hcl {

/// An immutable-by-convention dynamic value. Cheap enough for configuration-sized data.
class value {
 public:
  enum class kind : std::uint8_t { null, boolean, number, string, sequence, collection };
  /// Sequences remember whether they came from a tuple constructor, tolist() or toset();
  /// collections whether they are objects (`{...}`) or maps (tomap()). Sets are kept sorted and
  /// unique (cty's order: numbers ascending, strings lexically).
  enum class flavor : std::uint8_t { none, tuple, list, set, object, map };

  using sequence_t = std::vector<value>;
  using collection_t = std::map<std::string, value>;

  value() = default;  // null
  static value null() { return value{}; }
  static value boolean(bool b);
  static value number(double n);
  static value string(std::string s);
  static value tuple(sequence_t items);
  static value list(sequence_t items);
  static value set(sequence_t items);  // sorts and removes duplicates
  static value object(collection_t attrs);
  static value map(collection_t attrs);

  kind type() const { return kind_; }
  flavor flav() const { return flavor_; }
  bool is_null() const { return kind_ == kind::null; }
  bool is_bool() const { return kind_ == kind::boolean; }
  bool is_number() const { return kind_ == kind::number; }
  bool is_string() const { return kind_ == kind::string; }
  bool is_sequence() const { return kind_ == kind::sequence; }
  bool is_collection() const { return kind_ == kind::collection; }
  bool is_set() const { return flavor_ == flavor::set; }
  bool is_primitive() const {
    return kind_ == kind::boolean || kind_ == kind::number || kind_ == kind::string;
  }

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  const std::string& as_string() const { return string_; }
  const sequence_t& items() const { return items_; }
  const collection_t& attrs() const { return attrs_; }
  /// Number of elements of a sequence or collection, else 0.
  std::size_t size() const;

  /// Deep equality as cty's Equals: kinds must match (1 != "1"), numbers compare by value.
  /// Flavors are ignored except that a set only equals a set.
  bool operator==(const value& other) const;
  bool operator!=(const value& other) const { return !(*this == other); }
  /// A total order used for sets and sort(): by kind, then by value.
  bool operator<(const value& other) const;

  /// "string", "number", "bool", "null", "tuple", "list of ...", "object", ... for messages.
  std::string type_name() const;

 private:
  kind kind_ = kind::null;
  flavor flavor_ = flavor::none;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  sequence_t items_;
  collection_t attrs_;
};

// ---- conversions (cty's "safe" conversions used by operators, templates and functions)

/// How a number prints in a string: integers without a fraction, others shortest round-trip.
std::string format_number(double n);
/// Converts a primitive to its string form; false for null, sequences and collections.
bool to_string(const value& v, std::string& out);
/// Number from number, or from a string that parses as a number.
bool to_number(const value& v, double& out);
/// Bool from bool, or from the strings "true" / "false".
bool to_bool(const value& v, bool& out);

/// JSON with objects for collections and arrays for sequences; numbers stay numbers.
nlohmann::json to_json(const value& v);
/// Inverse of to_json: arrays become tuples, objects become objects.
value from_json(const nlohmann::json& j);

}  // namespace pikoci::hcl
