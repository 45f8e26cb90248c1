#include "config/pipeline/names.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace pikoci::pipeline;

TEST_SUITE("config.names") {
  TEST_CASE("make_slug lowercases and turns runs of other characters into one dash") {
    CHECK(make_slug("My New Team") == "my-new-team");
    CHECK(make_slug("1.21") == "1-21");
    CHECK(make_slug("Hello,   World!") == "hello-world");
    CHECK(make_slug("a - b") == "a-b");
    CHECK(make_slug("ABC123") == "abc123");
  }

  TEST_CASE("make_slug trims dashes and underscores from both ends") {
    CHECK(make_slug("  --a--b--  ") == "a-b");
    CHECK(make_slug("_x_") == "x");
    CHECK(make_slug("!!!") == "");
    CHECK(make_slug("") == "");
  }

  TEST_CASE("make_slug keeps inner underscores like gosimple/slug") {
    CHECK(make_slug("my_repo") == "my_repo");
    CHECK(make_slug("a _ b") == "a-_-b");
  }

  TEST_CASE("make_slug applies gosimple's English substitutions") {
    CHECK(make_slug("Tom & Jerry") == "tom-and-jerry");
    CHECK(make_slug("me@home") == "meathome");
    CHECK(make_slug("Tom's \"Team\"") == "toms-team");
    CHECK(make_slug("Tom\xE2\x80\x99s") == "toms");  // right single quote
    CHECK(make_slug("a\xE2\x80\x93"
                    "b\xE2\x80\x94"
                    "c") == "a-b-c");  // en and em dashes
  }

  TEST_CASE("make_slug transliterates accented Latin letters and drops other non-ASCII") {
    CHECK(make_slug("Caf\xC3\xA9 Cr\xC3\xA8me") == "cafe-creme");  // Café Crème
    CHECK(make_slug("Stra\xC3\x9F"
                    "e") == "strasse");                              // Straße
    CHECK(make_slug("\xC5\x81\xC3\xB3\x64\xC5\xBA") == "lodz");      // Łódź
    CHECK(make_slug("\xC3\x86sir \xC5\x92uvre") == "aesir-oeuvre");  // Æsir Œuvre
    CHECK(make_slug("\xE6\x97\xA5\xE6\x9C\xAC team") == "team");     // 日本 team
    CHECK(make_slug("bad\xFF"
                    "byte") == "badbyte");
  }

  TEST_CASE("every non-empty make_slug result is a slug") {
    for (const char* text : {"My New Team", "1.21", "Caf\xC3\xA9", "a_-_b", "x & y", "__a__"}) {
      CAPTURE(text);
      CHECK(is_slug(make_slug(text)));
    }
  }

  TEST_CASE("is_slug accepts lowercase alphanumerics with inner dashes and underscores") {
    for (const char* ok : {"build", "deploy-prod", "test--1-21", "a_b", "a__b", "a", "0"}) {
      CAPTURE(ok);
      CHECK(is_slug(ok));
    }
  }

  TEST_CASE("is_slug rejects uppercase, spaces, punctuation and edge separators") {
    for (const char* bad :
         {"", "Build", "my job", "-a", "a-", "_a", "a_", "-", "a.b", "a/b", "caf\xC3\xA9"}) {
      CAPTURE(bad);
      CHECK_FALSE(is_slug(bad));
    }
  }

  TEST_CASE("is_slug allows at most 255 characters") {
    CHECK(is_slug(std::string(255, 'a')));
    CHECK_FALSE(is_slug(std::string(256, 'a')));
  }

  TEST_CASE("edit_distance is the Levenshtein distance over bytes") {
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("abc", "") == 3);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("task", "task") == 0);
    CHECK(edit_distance("tsk", "task") == 1);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("flaw", "lawn") == 2);
    CHECK(edit_distance("sitting", "kitten") == edit_distance("kitten", "sitting"));
    CHECK(edit_distance("\xC3\xA9", "e") == 2);
  }

  TEST_CASE("suggest returns the closest candidate within the distance") {
    const std::vector<std::string> blocks{"get", "put", "task", "notify"};
    CHECK(suggest("tsk", blocks) == "task");
    CHECK(suggest("triggr", {"passed", "trigger"}) == "trigger");
    CHECK(suggest("abd", {"abxx", "abc"}) == "abc");
    CHECK_FALSE(suggest("completely", blocks).has_value());
    CHECK_FALSE(suggest("tsk", {}).has_value());
  }

  TEST_CASE("suggest breaks ties in favour of the first candidate") {
    CHECK(suggest("ab", {"ax", "ay"}) == "ax");
    CHECK(suggest("ab", {"ay", "ax"}) == "ay");
  }

  TEST_CASE("suggest honours max_distance") {
    CHECK_FALSE(suggest("abc", {"xyz"}).has_value());
    CHECK(suggest("abc", {"xyz"}, 3) == "xyz");
    CHECK_FALSE(suggest("abc", {"abd"}, 0).has_value());
    CHECK(suggest("abc", {"abc"}, 0) == "abc");
  }

  TEST_CASE("suggest never suggests anything for an empty name") {
    CHECK_FALSE(suggest("", {"", "a", "ab"}).has_value());
  }

  TEST_CASE("env_key uppercases and maps every non-alphanumeric byte to an underscore") {
    CHECK(env_key("my-repo") == "MY_REPO");
    CHECK(env_key("a.b c") == "A_B_C");
    CHECK(env_key("Abc_123") == "ABC_123");
    CHECK(env_key("a--b") == "A__B");
    CHECK(env_key("") == "");
    CHECK(env_key("\xC3\xA9") == "__");
  }
}
