// Lexer, parser and evaluator of HCL2 native syntax: structure, values and error positions.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "config/pipeline/eval.hpp"
#include "config/pipeline/parser.hpp"

using namespace pikoci::hcl;

namespace {

struct parsed {
  file f;
  diagnostics diags;
};

parsed parse(const std::string& src) {
  parsed p;
  p.f = parse_file("t.hcl", src, p.diags);
  return p;
}

/// Evaluates attribute `name` of the root body of `src`.
value attr(const std::string& src, const std::string& name = "a",
           std::map<std::string, value> vars = {}) {
  auto p = parse(src);
  REQUIRE_MESSAGE(!p.diags.has_errors(), p.diags.format("t.hcl"));
  const attribute* a = p.f.root.find_attribute(name);
  REQUIRE(a != nullptr);
  eval_context ctx;
  ctx.variables = std::move(vars);
  diagnostics d;
  auto v = evaluate(*a->value, ctx, d);
  REQUIRE_MESSAGE(v.has_value(), d.format("t.hcl"));
  return *v;
}

std::string json(const value& v) {
  return to_json(v).dump();
}

/// The first diagnostic of parsing, or of evaluating attribute `a`.
diagnostic first_error(const std::string& src) {
  auto p = parse(src);
  if (p.diags.has_errors()) return p.diags.items().front();
  const attribute* a = p.f.root.find_attribute("a");
  REQUIRE(a != nullptr);
  eval_context ctx;
  diagnostics d;
  auto v = evaluate(*a->value, ctx, d);
  REQUIRE_FALSE(v.has_value());
  REQUIRE(d.has_errors());
  return d.items().front();
}

}  // namespace

TEST_SUITE("config.parser") {
  TEST_CASE("comments of all three kinds are ignored") {
    auto p = parse("# one\n// two\n/* three\n four */ a = 1 # trailing\nb = 2 // x\n");
    CHECK_FALSE(p.diags.has_errors());
    CHECK(p.f.root.attributes.size() == 2);
  }

  TEST_CASE("blocks take any number of quoted or bare labels and keep source order") {
    auto p = parse("job \"a\" {\n}\nresource \"git\" \"repo\" {\n  x = 1\n}\nb x y z {\n}\n");
    REQUIRE_FALSE(p.diags.has_errors());
    REQUIRE(p.f.root.blocks.size() == 3);
    CHECK(p.f.root.blocks[0].labels == std::vector<std::string>{"a"});
    CHECK(p.f.root.blocks[1].labels == std::vector<std::string>{"git", "repo"});
    CHECK(p.f.root.blocks[2].labels == std::vector<std::string>{"x", "y", "z"});
    CHECK(p.f.root.blocks[1].type_rng.start.line == 3);
    CHECK(p.f.root.blocks[1].label_rngs[1].start.column == 16);
  }

  TEST_CASE("one-line blocks hold at most one attribute") {
    auto p = parse("run \"exec\" { path = \"echo\" }\nempty {}\n");
    REQUIRE_FALSE(p.diags.has_errors());
    CHECK(p.f.root.blocks[0].content->attributes.size() == 1);
    auto bad = parse("run \"exec\" { path = \"echo\", args = [] }\n");
    REQUIRE(bad.diags.has_errors());
    CHECK(bad.diags.items()[0].summary == "Invalid single-argument block definition");
    CHECK(bad.diags.items()[0].rng.start.column == 27);
  }

  TEST_CASE("strings decode escapes and unicode sequences") {
    CHECK(attr(R"(a = "x\n\t\"\\\u00e9\U0001F600")").as_string() ==
          "x\n\t\"\\\xC3\xA9\xF0\x9F\x98\x80");
  }

  TEST_CASE("an invalid escape is reported at its position") {
    auto d = first_error("a = \"ab\\qc\"\n");
    CHECK(d.summary == "Invalid escape sequence");
    CHECK(d.rng.start.line == 1);
    CHECK(d.rng.start.column == 8);
  }

  TEST_CASE("heredocs keep text, flush heredocs strip the common indent") {
    CHECK(attr("a = <<EOT\n  hello\n    world\nEOT\n").as_string() == "  hello\n    world\n");
    CHECK(attr("a = <<-EOT\n    hello\n      world\n    EOT\n").as_string() == "hello\n  world\n");
    CHECK(attr("a = <<-EOT\n    x\n\n    y\n  EOT\n").as_string() == "x\n\ny\n");
    CHECK(attr("a = <<EOT\nback\\slash ${1 + 1}\nEOT\n").as_string() == "back\\slash 2\n");
  }

  TEST_CASE("an unterminated heredoc is an error, not a crash") {
    auto p = parse("a = <<EOT\nnever closed\n");
    CHECK(p.diags.has_errors());
  }

  TEST_CASE("numbers, bools and null are literals") {
    CHECK(attr("a = 42").as_number() == 42);
    CHECK(attr("a = 1.5e3").as_number() == 1500);
    CHECK(attr("a = true").as_bool());
    CHECK(attr("a = null").is_null());
    CHECK(attr("a = -3").as_number() == -3);
  }

  TEST_CASE("tuples and objects accept trailing commas, newlines and both separators") {
    CHECK(json(attr("a = [1, 2,\n 3,]")) == "[1,2,3]");
    CHECK(json(attr("a = {\n x = 1\n \"y\": 2, z = 3,\n}")) == R"({"x":1,"y":2,"z":3})");
    CHECK(json(attr("a = {(\"k\" ) = 1}")) == R"({"k":1})");
  }

  TEST_CASE("a dotted object key is ambiguous") {
    CHECK(first_error("a = {b.c = 1}").summary == "Ambiguous attribute key");
  }

  TEST_CASE("interpolation converts to string, a lone interpolation keeps its type") {
    CHECK(attr("a = \"n=${1 + 2}\"").as_string() == "n=3");
    CHECK(attr("a = \"${1 + 2}\"").is_number());
    CHECK(attr("a = \"${true}\"").is_bool());
  }

  TEST_CASE("template directives if and for render") {
    CHECK(attr("a = \"%{if true}yes%{else}no%{endif}\"").as_string() == "yes");
    CHECK(attr("a = \"%{if false}yes%{endif}\"").as_string() == "");
    CHECK(attr("a = \"%{for x in [1,2,3]}${x},%{endfor}\"").as_string() == "1,2,3,");
    CHECK(attr("a = \"%{for k, v in {a=1}}${k}=${v}%{endfor}\"").as_string() == "a=1");
  }

  TEST_CASE("strip markers trim whitespace next to sequences") {
    CHECK(attr("a = \"x   ${~ 1 ~}   y\"").as_string() == "x1y");
    CHECK(attr("a = <<EOT\n%{ for x in [1,2] ~}\n${x}\n%{ endfor ~}\nEOT\n").as_string() ==
          "1\n2\n");
  }

  TEST_CASE("escaped sequences and bare dollars pass through") {
    CHECK(attr("a = \"$${HOME} %%{x} $name ${\"$\"}\"").as_string() == "${HOME} %{x} $name $");
    CHECK(attr("a = <<EOT\n$${version_hash:-} $PATH\nEOT\n").as_string() ==
          "${version_hash:-} $PATH\n");
  }

  TEST_CASE("references, attribute access and indexes evaluate") {
    std::map<std::string, value> vars{
        {"var", value::object({{"x", value::string("X")},
                               {"l", value::tuple({value::number(1), value::number(2)})},
                               {"m", value::object({{"k", value::string("v")}})}})}};
    CHECK(attr("a = var.x", "a", vars).as_string() == "X");
    CHECK(attr("a = var.l[1]", "a", vars).as_number() == 2);
    CHECK(attr("a = var.l.0", "a", vars).as_number() == 1);
    CHECK(attr("a = var.m[\"k\"]", "a", vars).as_string() == "v");
    CHECK(attr("a = var.m[\"${\"k\"}\"]", "a", vars).as_string() == "v");
  }

  TEST_CASE("arithmetic respects precedence and converts numeric strings") {
    CHECK(attr("a = 1 + 2 * 3").as_number() == 7);
    CHECK(attr("a = (1 + 2) * 3").as_number() == 9);
    CHECK(attr("a = -2 + 5").as_number() == 3);
    CHECK(attr("a = 7 % 3").as_number() == 1);
    CHECK(attr("a = \"1\" + 2").as_number() == 3);
    CHECK(attr("a = 10 / 4").as_number() == 2.5);
  }

  TEST_CASE("equality never converts, comparisons and logic work") {
    CHECK_FALSE(attr("a = 1 == \"1\"").as_bool());
    CHECK(attr("a = [1, \"a\"] == [1, \"a\"]").as_bool());
    CHECK(attr("a = 2 > 1 && !false || false").as_bool());
    CHECK(attr("a = 1 <= 1").as_bool());
  }

  TEST_CASE("the conditional unifies primitive result types") {
    CHECK(attr("a = true ? 1 : \"x\"").as_string() == "1");
    CHECK(attr("a = false ? \"x\" : 2").as_string() == "2");
    CHECK(attr("a = true ? 1 : 2").as_number() == 1);
    CHECK(first_error("a = true ? 1 : false").summary == "Inconsistent conditional result types");
  }

  TEST_CASE("for expressions build tuples and objects, filter and group") {
    CHECK(json(attr("a = [for x in [1, 2, 3] : x * 2 if x != 2]")) == "[2,6]");
    CHECK(json(attr("a = [for i, x in [\"a\", \"b\"] : \"${i}${x}\"]")) == R"(["0a","1b"])");
    CHECK(json(attr("a = {for k, v in {a = 1, b = 2} : v => k}")) == R"({"1":"a","2":"b"})");
    CHECK(json(attr("a = {for x in [\"a\", \"b\", \"a\"] : x => x...}")) ==
          R"({"a":["a","a"],"b":["b"]})");
    CHECK(first_error("a = {for x in [\"a\", \"a\"] : x => 1}").summary == "Duplicate object key");
    CHECK(first_error("a = [for x in 3 : x]").summary == "Iteration over non-iterable value");
  }

  TEST_CASE("splats map over lists, wrap single values and turn null into empty") {
    CHECK(json(attr("a = [{n = 1}, {n = 2}][*].n")) == "[1,2]");
    CHECK(json(attr("a = [{n = 1}, {n = 2}].*.n")) == "[1,2]");
    CHECK(json(attr("a = {n = 1}[*].n")) == "[1]");
    CHECK(json(attr("a = null[*]")) == "[]");
    CHECK(json(attr("a = [[1, 2], [3]][*][0]")) == "[1,3]");
  }

  TEST_CASE("function calls check arity and expand variadic arguments") {
    CHECK(first_error("a = nosuch(1)").summary == "Call to unknown function");
    CHECK(json(attr("a = concat([1], [[2], [3]]...)")) == "[1,2,3]");
    CHECK(json(attr("a = concat(\n  [1],\n  [2],\n)")) == "[1,2]");
    CHECK(first_error("a = upper()").summary == "Not enough function arguments");
    CHECK(first_error("a = upper(\"a\", \"b\")").summary == "Too many function arguments");
    CHECK(first_error("a = concat([1]..., [2])").summary == "Missing closing parenthesis");
    auto open = first_error("x = 1\na = upper(\"a\"");
    CHECK(open.summary == "Unterminated function call");
    CHECK(open.rng.start.line == 2);
    CHECK(open.rng.start.column == 5);
    auto d = first_error("a = [1][5]");
    CHECK(d.summary == "Invalid index");
    CHECK(d.rng.start.column == 8);
  }

  TEST_CASE("unknown variables are reported with their position") {
    auto d = first_error("\n  a = var.x\n");
    CHECK(d.summary == "Unknown variable");
    CHECK(d.rng.start.line == 2);
    CHECK(d.rng.start.column == 7);
  }

  TEST_CASE("interpolating a collection or null is an error") {
    CHECK(first_error("a = \"x${[1]}\"").summary == "Invalid template interpolation value");
    CHECK(json(attr("a = \"${[1]}\"")) == "[1]");  // a lone interpolation is not converted
    CHECK(first_error("a = \"x${null}\"").summary == "Invalid template interpolation value");
  }

  TEST_CASE("syntax errors carry line and column") {
    struct c {
      const char* src;
      const char* summary;
      int line, col;
    };
    for (const c& t : {
             c{"a = \"open\n", "Invalid multi-line string", 1, 10},
             c{"a = 1\na = 2\n", "Attribute redefined", 2, 1},
             c{"a 1\n", "Argument or block definition required", 1, 3},
             c{"job \"x\" {\n", "Unclosed configuration block", 1, 9},
             c{"a = [1 2]\n", "Missing item separator", 1, 8},
             c{"a = \"${1 2}\"\n", "Extra characters after interpolation expression", 1, 10},
             c{"a = (1\n", "Unbalanced parentheses", 2, 1},
             c{"a = 'x'\n", "Invalid character", 1, 5},
             c{"a = \"\xff\"\n", "Invalid character encoding", 1, 6},
             c{"blk \"${x}\" {\n}\n", "Invalid string literal", 1, 6},
             c{"a = \"%{if true}x\"\n", "Unexpected end of template", 1, 5},
             c{"a = \"%{bogus}\"\n", "Invalid template control keyword", 1, 8},
             c{"a = 1.2.3\n", "Invalid number literal", 1, 5},
         }) {
      CAPTURE(t.src);
      auto p = parse(t.src);
      REQUIRE(p.diags.has_errors());
      CHECK(p.diags.items()[0].summary == t.summary);
      CHECK(p.diags.items()[0].rng.start.line == t.line);
      CHECK(p.diags.items()[0].rng.start.column == t.col);
    }
  }

  TEST_CASE("newlines end attributes, but not inside brackets") {
    auto p = parse("a =\nb = 2\n");
    REQUIRE(p.diags.has_errors());
    CHECK(p.diags.items()[0].summary == "Invalid expression");
    CHECK(p.diags.items()[0].rng.start.line == 1);
    CHECK(attr("a = (1 +\n 2)").as_number() == 3);
  }

  TEST_CASE("a stray closing brace is reported and parsing goes on") {
    auto p = parse("}\na = 1\n}\nb = 2\n");
    REQUIRE(p.diags.has_errors());
    CHECK(p.diags.items()[0].summary == "Argument or block definition required");
    CHECK(p.f.root.find_attribute("b") != nullptr);
  }

  TEST_CASE("logical operators short-circuit and modulo by zero keeps the dividend") {
    CHECK_FALSE(attr("a = false && var.missing").as_bool());
    CHECK(attr("a = true || [1][5]").as_bool());
    CHECK(attr("a = 5 % 0").as_number() == 5);
  }

  TEST_CASE("bare keywords as object keys are literal names") {
    CHECK(json(attr("a = {true = 1, null = 2, for = 3}")) == R"({"for":3,"null":2,"true":1})");
  }

  TEST_CASE("an unclosed block comment is not a comment") {
    auto p = parse("a = 1 /* open\n");
    REQUIRE(p.diags.has_errors());
    CHECK(p.diags.items()[0].rng.start.line == 1);
  }

  TEST_CASE("a broken for expression is an error, never evaluated") {
    auto p = parse("a = [for x in [1] x]\n");
    REQUIRE(p.diags.has_errors());
    CHECK(p.diags.items()[0].summary == "Invalid 'for' expression");
    eval_context ctx;
    diagnostics d;
    CHECK(evaluate(*p.f.root.find_attribute("a")->value, ctx, d).has_value());  // placeholder
  }

  TEST_CASE("hostile nesting is bounded by the depth limit") {
    std::string deep(100000, '[');
    auto p = parse("a = " + deep + "\n");
    CHECK(p.diags.has_errors());
    std::string blocks;
    for (int i = 0; i < 5000; ++i) blocks += "b {\n";
    CHECK(parse(blocks).diags.has_errors());
  }

  TEST_CASE("standalone expressions and templates parse") {
    diagnostics d;
    auto e = parse_expression("1 + 2", d);
    eval_context ctx;
    CHECK(evaluate(*e, ctx, d)->as_number() == 3);
    auto t = parse_template("x=${1}\nnext line", d);
    CHECK(evaluate(*t, ctx, d)->as_string() == "x=1\nnext line");
    CHECK_FALSE(d.has_errors());
  }
}
