#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "config/pipeline/value.hpp"

using pikoci::hcl::value;

namespace {

value str(const char* s) {
  return value::string(s);
}
value num(double n) {
  return value::number(n);
}

}  // namespace

TEST_SUITE("config.value") {
  TEST_CASE("a default value is null and equals another null") {
    value v;
    CHECK(v.is_null());
    CHECK(v == value::null());
    CHECK(v.type_name() == "null");
    CHECK(v.size() == 0);
  }

  TEST_CASE("equality requires the same kind, so 1 is not \"1\"") {
    CHECK(num(1) == num(1.0));
    CHECK(num(1) != str("1"));
    CHECK(value::boolean(true) != str("true"));
    CHECK(value::null() != str(""));
    CHECK(str("a") == str("a"));
  }

  TEST_CASE("sequences compare elementwise and ignore the tuple or list flavor") {
    CHECK(value::tuple({num(1), str("a")}) == value::list({num(1), str("a")}));
    CHECK(value::tuple({num(1)}) != value::tuple({num(1), num(2)}));
    CHECK(value::tuple({num(1), num(2)}) != value::tuple({num(2), num(1)}));
  }

  TEST_CASE("a set equals only a set") {
    CHECK(value::set({num(1)}) != value::list({num(1)}));
    CHECK(value::set({num(2), num(1)}) == value::set({num(1), num(2)}));
  }

  TEST_CASE("collections compare by key and value whatever their flavor") {
    CHECK(value::object({{"a", num(1)}}) == value::map({{"a", num(1)}}));
    CHECK(value::object({{"a", num(1)}}) != value::object({{"a", num(2)}}));
    CHECK(value::object({{"a", num(1)}}) != value::object({{"b", num(1)}}));
  }

  TEST_CASE("a set sorts numbers ascending and strings lexically and drops duplicates") {
    value nums = value::set({num(10), num(2), num(10), num(-1)});
    REQUIRE(nums.size() == 3);
    CHECK(nums.items()[0] == num(-1));
    CHECK(nums.items()[1] == num(2));
    CHECK(nums.items()[2] == num(10));
    value strs = value::set({str("b"), str("B"), str("a"), str("b")});
    REQUIRE(strs.size() == 3);
    CHECK(strs.items()[0] == str("B"));
    CHECK(strs.items()[2] == str("b"));
    CHECK(strs.is_set());
  }

  TEST_CASE("the order ranks kinds before values and is consistent with equality") {
    CHECK(value::null() < value::boolean(false));
    CHECK(value::boolean(true) < num(0));
    CHECK(num(5) < str(""));
    CHECK(str("z") < value::tuple({}));
    CHECK(value::tuple({}) < value::object({}));
    CHECK(value::tuple({num(1)}) < value::tuple({num(1), num(0)}));
    CHECK(value::tuple({num(1)}) < value::set({num(1)}));
    CHECK_FALSE(value::set({num(1)}) < value::tuple({num(1)}));
    CHECK(value::object({{"a", num(1)}}) < value::object({{"a", num(2)}}));
  }

  TEST_CASE("type names read like cty's friendly names") {
    CHECK(str("x").type_name() == "string");
    CHECK(num(1).type_name() == "number");
    CHECK(value::boolean(true).type_name() == "bool");
    CHECK(value::tuple({num(1)}).type_name() == "tuple");
    CHECK(value::list({str("a")}).type_name() == "list of string");
    CHECK(value::list({}).type_name() == "list of dynamic");
    CHECK(value::list({str("a"), num(1)}).type_name() == "list of dynamic");
    CHECK(value::set({num(1)}).type_name() == "set of number");
    CHECK(value::object({}).type_name() == "object");
    CHECK(value::map({{"k", str("v")}}).type_name() == "map of string");
    CHECK(value::list({value::list({str("a")})}).type_name() == "list of list of string");
  }

  TEST_CASE("size counts sequence and collection elements") {
    CHECK(value::tuple({num(1), num(2)}).size() == 2);
    CHECK(value::map({{"a", num(1)}}).size() == 1);
    CHECK(str("abc").size() == 0);
  }

  TEST_CASE("numbers format as integers when whole and shortest decimals otherwise") {
    using pikoci::hcl::format_number;
    CHECK(format_number(3) == "3");
    CHECK(format_number(-2) == "-2");
    CHECK(format_number(1000) == "1000");
    CHECK(format_number(0) == "0");
    CHECK(format_number(-0.0) == "0");
    CHECK(format_number(1.5) == "1.5");
    CHECK(format_number(0.1) == "0.1");
    CHECK(format_number(-0.25) == "-0.25");
    CHECK(format_number(9007199254740992.0) == "9007199254740992");
    CHECK(format_number(1e21) == "1000000000000000000000");
    CHECK(format_number(1e-7) == "0.0000001");
    CHECK(format_number(1.0 / 3) == "0.3333333333333333");
  }

  TEST_CASE("primitives convert to strings and collections do not") {
    std::string out;
    CHECK(pikoci::hcl::to_string(value::boolean(true), out));
    CHECK(out == "true");
    CHECK(pikoci::hcl::to_string(value::boolean(false), out));
    CHECK(out == "false");
    CHECK(pikoci::hcl::to_string(num(2.5), out));
    CHECK(out == "2.5");
    CHECK(pikoci::hcl::to_string(str("s"), out));
    CHECK(out == "s");
    CHECK_FALSE(pikoci::hcl::to_string(value::null(), out));
    CHECK_FALSE(pikoci::hcl::to_string(value::tuple({}), out));
  }

  TEST_CASE("strings convert to numbers only when they are a complete decimal number") {
    double n = 0;
    CHECK(pikoci::hcl::to_number(str("42"), n));
    CHECK(n == 42);
    CHECK(pikoci::hcl::to_number(str("-1.5"), n));
    CHECK(n == -1.5);
    CHECK(pikoci::hcl::to_number(str("1e3"), n));
    CHECK(n == 1000);
    CHECK(pikoci::hcl::to_number(str(".5"), n));
    CHECK(n == 0.5);
    CHECK(pikoci::hcl::to_number(num(7), n));
    CHECK(n == 7);
    for (const char* bad : {"", " 1", "1 ", "0x10", "inf", "nan", "1e", "abc", "1.2.3", "-", "."}) {
      CAPTURE(bad);
      CHECK_FALSE(pikoci::hcl::to_number(str(bad), n));
    }
    CHECK_FALSE(pikoci::hcl::to_number(value::boolean(true), n));
    CHECK_FALSE(pikoci::hcl::to_number(str("1e999"), n));
  }

  TEST_CASE("only the strings true and false convert to bools") {
    bool b = false;
    CHECK(pikoci::hcl::to_bool(str("true"), b));
    CHECK(b);
    CHECK(pikoci::hcl::to_bool(str("false"), b));
    CHECK_FALSE(b);
    CHECK(pikoci::hcl::to_bool(value::boolean(true), b));
    CHECK(b);
    CHECK_FALSE(pikoci::hcl::to_bool(str("True"), b));
    CHECK_FALSE(pikoci::hcl::to_bool(str("1"), b));
    CHECK_FALSE(pikoci::hcl::to_bool(num(1), b));
  }

  TEST_CASE("values encode to JSON with whole numbers as integers") {
    value v = value::object({{"b", value::tuple({num(1), num(1.5), value::null()})},
                             {"a", value::boolean(true)},
                             {"s", str("x")}});
    CHECK(pikoci::hcl::to_json(v).dump() == R"({"a":true,"b":[1,1.5,null],"s":"x"})");
  }

  TEST_CASE("JSON decodes to values with arrays as tuples and objects as objects") {
    auto j = nlohmann::json::parse(
        R"({"a":[1,"two",false,null],"b":{"c":2.5},"u":18446744073709551615})");
    value v = pikoci::hcl::from_json(j);
    CHECK(v.flav() == value::flavor::object);
    const value& a = v.attrs().at("a");
    CHECK(a.flav() == value::flavor::tuple);
    CHECK(a == value::tuple({num(1), str("two"), value::boolean(false), value::null()}));
    CHECK(v.attrs().at("b").attrs().at("c") == num(2.5));
    CHECK(v.attrs().at("u").is_number());
  }

  TEST_CASE("a value survives a JSON round trip") {
    value v = value::object({{"list", value::tuple({num(-3), num(0.1), str("é")})},
                             {"nested", value::object({{"t", value::boolean(false)}})},
                             {"nothing", value::null()}});
    CHECK(pikoci::hcl::from_json(pikoci::hcl::to_json(v)) == v);
  }
}
