#include "config/pipeline/condition.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

using pikoci::pipeline::condition;

namespace {

using env = std::map<std::string, std::string>;

condition must_parse(std::string_view text) {
  std::string error;
  auto parsed = condition::parse(text, error);
  REQUIRE_MESSAGE(parsed.has_value(), error);
  return *parsed;
}

bool eval(std::string_view text, const env& vars = {}) {
  return must_parse(text).evaluate([&vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto parsed = condition::parse(text, error);
  CHECK_FALSE(parsed.has_value());
  return error;
}

}  // namespace

TEST_SUITE("config.condition") {
  TEST_CASE("an empty condition is true") {
    CHECK(eval(""));
    CHECK(eval("   \t "));
    CHECK(must_parse("  ").text() == "  ");
  }

  TEST_CASE("the reference examples evaluate as documented") {
    const env staging{{"TASK_DETECT_ENV_ENV", "staging"}};
    CHECK(eval("$TASK_DETECT_ENV_ENV == 'staging'", staging));
    CHECK_FALSE(eval("$TASK_DETECT_ENV_ENV == 'staging'", {{"TASK_DETECT_ENV_ENV", "prod"}}));

    const char* text = "$GET_APP_BRANCH == 'main' && $INPUT_dry_run != 'true'";
    CHECK(eval(text, {{"GET_APP_BRANCH", "main"}, {"INPUT_dry_run", "false"}}));
    CHECK(eval(text, {{"GET_APP_BRANCH", "main"}}));
    CHECK_FALSE(eval(text, {{"GET_APP_BRANCH", "main"}, {"INPUT_dry_run", "true"}}));
    CHECK_FALSE(eval(text, {{"GET_APP_BRANCH", "dev"}, {"INPUT_dry_run", "false"}}));
  }

  TEST_CASE("== and != compare strings exactly") {
    CHECK(eval("abc == abc"));
    CHECK(eval("abc != abd"));
    CHECK_FALSE(eval("abc == ABC"));
    CHECK_FALSE(eval("1.0 == 1"));
    CHECK(eval("'' == ''"));
    CHECK(eval("$UNSET == ''"));
  }

  TEST_CASE("> and < compare numerically when both sides are numbers") {
    CHECK(eval("10 > 9"));
    CHECK(eval("'10' > '9'"));
    CHECK(eval("1.5 < 2"));
    CHECK(eval("-1 < 0"));
    CHECK(eval("1e3 > 999"));
    CHECK(eval("$N > 2", {{"N", "10"}}));
    CHECK_FALSE(eval("2 > 2"));
    CHECK_FALSE(eval("2 < 2"));
  }

  TEST_CASE("> and < compare lexically otherwise") {
    CHECK(eval("abd > abc"));
    CHECK(eval("a < b"));
    CHECK_FALSE(eval("10 > 9a"));    // "10" sorts before "9a"
    CHECK(eval("0x10 < 9"));         // Go's ParseFloat rejects bare hex
    CHECK_FALSE(eval("1e999 > 2"));  // and overflow
    CHECK(eval("$UNSET < a"));
  }

  TEST_CASE("contains and !contains are substring tests") {
    CHECK(eval("$MSG contains 'skip ci'", {{"MSG", "docs: typo [skip ci]"}}));
    CHECK_FALSE(eval("$MSG !contains 'skip ci'", {{"MSG", "docs: typo [skip ci]"}}));
    CHECK(eval("$MSG !contains 'skip ci'", {{"MSG", "feat: x"}}));
    CHECK(eval("abc contains ''"));
    CHECK_FALSE(eval("'' contains a"));
  }

  TEST_CASE("contains is only an operator as a whole word") {
    CHECK(eval("xcontains == xcontains"));
    CHECK(eval("'contains' == 'contains'"));
  }

  TEST_CASE("&& binds tighter than ||") {
    CHECK(eval("1 == 1 || 1 == 2 && 1 == 2"));
    CHECK_FALSE(eval("1 == 2 && 1 == 2 || 1 == 2"));
    CHECK(eval("1 == 2 && 1 == 2 || 1 == 1"));
  }

  TEST_CASE("parentheses group") {
    CHECK_FALSE(eval("(1 == 1 || 1 == 2) && 1 == 2"));
    CHECK(eval("((a == a))"));
    CHECK(eval("(a == b || (c == c && d == d))"));
  }

  TEST_CASE("operators need no surrounding whitespace") {
    CHECK(eval("$A=='x'&&$B!='y'", {{"A", "x"}, {"B", "z"}}));
    CHECK(eval("(a==a)||(b==c)"));
    CHECK(eval("3>2&&2<3"));
  }

  TEST_CASE("a lone value is truthy unless empty, false or 0") {
    CHECK(eval("$F", {{"F", "true"}}));
    CHECK(eval("$F", {{"F", "no"}}));
    CHECK(eval("$F", {{"F", "00"}}));
    CHECK(eval("yes"));
    for (const char* falsy : {"", "false", "FALSE", "False", "0"}) {
      CAPTURE(falsy);
      CHECK_FALSE(eval("$F", {{"F", falsy}}));
    }
    CHECK_FALSE(eval("$UNSET"));
    CHECK_FALSE(eval("'false'"));
    CHECK_FALSE(eval("''"));
    CHECK(eval("$F || $G", {{"G", "1"}}));
    CHECK_FALSE(eval("$F && $G", {{"G", "1"}}));
  }

  TEST_CASE("variables expand in both spellings, inside words, and undefined ones are empty") {
    CHECK(eval("${A} == 'x'", {{"A", "x"}}));
    CHECK(eval("v$X == 'v1'", {{"X", "1"}}));
    CHECK(eval("${A}-${B} == 'a-b'", {{"A", "a"}, {"B", "b"}}));
    CHECK(eval("$A_B == 'ab'", {{"A_B", "ab"}, {"A", "wrong"}}));
    CHECK(eval("${A}_B == 'a_B'", {{"A", "a"}, {"A_B", "wrong"}}));
    CHECK(eval("x$UNSET == 'x'"));
  }

  TEST_CASE("a dollar that starts no variable stays literal") {
    CHECK(eval("cost$ == 'cost$'"));
    CHECK(eval("$-x == '$-x'"));
    CHECK(eval("${A == '${A'"));
  }

  TEST_CASE("expanded values cannot inject operators") {
    const env vars{{"V", "b || 1 == 1"}};
    CHECK_FALSE(eval("$V == 'a'", vars));
    CHECK(eval("$V == 'b || 1 == 1'", vars));
    CHECK(eval("$V", {{"V", "0 || 1"}}));
    CHECK(eval("$V == ')'", {{"V", ")"}}));
  }

  TEST_CASE("single-quoted strings are literal: no escapes and no expansion") {
    CHECK(eval("'$HOME' == '$HOME'", {{"HOME", "/root"}}));
    CHECK_FALSE(eval("$HOME == '$HOME'", {{"HOME", "/root"}}));
    CHECK(eval("'a\\b' contains '\\'"));
    CHECK(eval("'hello world' contains 'o w'"));
    CHECK(eval("'a && b' == 'a && b'"));
  }

  TEST_CASE("evaluation without a lookup treats every variable as undefined") {
    CHECK(must_parse("$X == ''").evaluate({}));
  }

  TEST_CASE("a parsed condition can be copied and evaluated repeatedly") {
    const condition original = must_parse("$X == 'y'");
    const condition copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
    auto yes = [](const std::string&) -> std::optional<std::string> { return "y"; };
    auto no = [](const std::string&) -> std::optional<std::string> { return "n"; };
    CHECK(copy.evaluate(yes));
    CHECK_FALSE(copy.evaluate(no));
    CHECK(original.evaluate(yes));
    CHECK(copy.text() == "$X == 'y'");
  }

  TEST_CASE("unbalanced parentheses are errors") {
    CHECK(parse_error("(a == b") == "unbalanced parentheses: '(' at column 1 is never closed");
    CHECK(parse_error("a == b)") == "unbalanced parentheses: unexpected ')' at column 7");
    CHECK(parse_error(")") == "unbalanced parentheses: unexpected ')' at column 1");
    CHECK(parse_error("((a)") == "unbalanced parentheses: '(' at column 1 is never closed");
    CHECK(parse_error("(a b)") == "unexpected \"b\" at column 4: expected an operator or ')'");
  }

  TEST_CASE("an operator without an operand is an error") {
    CHECK(parse_error("a ==") == "'==' at column 3 has no right operand");
    CHECK(parse_error("a == &&") == "'==' at column 3 has no right operand");
    CHECK(parse_error("a contains") == "'contains' at column 3 has no right operand");
    CHECK(parse_error("== a") == "'==' at column 1 has no left operand");
    CHECK(parse_error("a &&") == "'&&' at column 3 has no right operand");
    CHECK(parse_error("a ||") == "'||' at column 3 has no right operand");
    CHECK(parse_error("&& a") == "'&&' at column 1 has no left operand");
    CHECK(parse_error("a || || b") == "'||' at column 6 has no left operand");
    CHECK(parse_error("a && )") == "unbalanced parentheses: unexpected ')' at column 6");
    CHECK(parse_error("a == b == c") == "unexpected '==' at column 8: expected an operator");
  }

  TEST_CASE("empty parentheses are an error") {
    CHECK(parse_error("()") == "empty parentheses at column 1");
    CHECK(parse_error("a && ( )") == "empty parentheses at column 6");
  }

  TEST_CASE("a leading ! other than != and !contains is an error") {
    const std::string message =
        "negation with a leading '!' is not supported at column 1 (use != or !contains)";
    CHECK(parse_error("!$FLAG") == message);
    CHECK(parse_error("! a") == message);
    CHECK(parse_error("!(a == b)") == message);
    CHECK(parse_error("a && !b") ==
          "negation with a leading '!' is not supported at column 6 (use != or !contains)");
    CHECK(eval("a!b == 'a!b'"));  // a '!' inside a word is just text
  }

  TEST_CASE("an unterminated quoted string is an error") {
    CHECK(parse_error("'abc") == "unterminated quoted string starting at column 1");
    CHECK(parse_error("a == 'b' && c == 'd") == "unterminated quoted string starting at column 18");
  }

  TEST_CASE("two values in a row are an error") {
    CHECK(parse_error("a b") == "unexpected \"b\" at column 3: expected an operator");
    CHECK(parse_error("a 'b'") == "unexpected 'b' at column 3: expected an operator");
    CHECK(parse_error("a (b)") == "unexpected '(' at column 3: expected an operator");
  }

  TEST_CASE("unsupported operators get a hint") {
    CHECK(parse_error("a >= b") ==
          "unsupported operator '>=' at column 3 (operators: == != > < contains !contains && ||)");
    CHECK(parse_error("a <= b") ==
          "unsupported operator '<=' at column 3 (operators: == != > < contains !contains && ||)");
    CHECK(parse_error("a & b") == "unexpected '&' at column 3 (did you mean '&&'?)");
    CHECK(parse_error("a | b") == "unexpected '|' at column 3 (did you mean '||'?)");
    CHECK(parse_error("a = b") == "unexpected '=' at column 3 (did you mean '=='?)");
  }
}
