#include "config/pipeline/utf8.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

using namespace pikoci::hcl;

namespace {
const std::string fffd = "\xEF\xBF\xBD";
const std::string euro = "\xE2\x82\xAC";
}  // namespace

TEST_SUITE("config.utf8") {
  TEST_CASE("to_valid_utf8 replaces each byte that is not UTF-8 and keeps the rest") {
    CHECK(to_valid_utf8("plain") == "plain");
    CHECK(to_valid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(to_valid_utf8("\xE9\xFF") == fffd + fffd);
    CHECK(to_valid_utf8("caf\xE9!") == "caf" + fffd + "!");
    CHECK(to_valid_utf8("\xC0\xAF") == fffd + fffd);          // overlong '/'
    CHECK(to_valid_utf8("\xED\xA0\x80") == fffd + fffd + fffd);  // a surrogate
    CHECK(is_valid_utf8(to_valid_utf8("\x80\xBF\xF5\xF8 x")));
    CHECK_FALSE(is_valid_utf8("\xE2\x82"));
    CHECK(is_valid_utf8(euro));
  }

  TEST_CASE("a UTF-8 character split between chunks travels whole") {
    std::string a = "price: " + euro.substr(0, 2);
    CHECK(take_incomplete_utf8_tail(a) == euro.substr(0, 2));
    CHECK(a == "price: ");
    std::string whole = "x" + euro;
    CHECK(take_incomplete_utf8_tail(whole).empty());
    CHECK(whole == "x" + euro);
    std::string binary = "\xFF\xFE";  // not UTF-8: left alone
    CHECK(take_incomplete_utf8_tail(binary).empty());
    CHECK(binary.size() == 2);
    std::string emoji = "\xF0\x9F\x98";  // 3 of the 4 bytes of U+1F600
    CHECK(take_incomplete_utf8_tail(emoji) == "\xF0\x9F\x98");
    CHECK(emoji.empty());
  }

  TEST_CASE("utf8_stream gives valid chunks whatever the reads cut") {
    utf8_stream s;
    CHECK(s.feed("a" + euro.substr(0, 1)) == "a");
    CHECK(s.feed(euro.substr(1, 1)).empty());
    CHECK(s.feed(euro.substr(2) + "\xE9\xFF" + "b") == euro + fffd + fffd + "b");
    CHECK(s.feed("\xE2\x82").empty());
    CHECK(s.finish() == fffd + fffd);  // the output ended inside a character
    CHECK(s.finish().empty());
  }

  TEST_CASE("to_json_text never throws on strings that are not UTF-8") {
    nlohmann::json j{{"chunk", "\xE9\xFF"}, {"ok", "caf\xC3\xA9"}};
    CHECK_THROWS(j.dump());  // what the node must never call on outside bytes
    auto text = to_json_text(j);
    CHECK(is_valid_utf8(text));
    CHECK(nlohmann::json::parse(text)["ok"] == "caf\xC3\xA9");
    CHECK(to_json_text(nlohmann::ordered_json{{"x", "\xFF"}}) == "{\"x\":\"" + fffd + "\"}");
  }
}
