#include "domain/text.hpp"

#include <doctest/doctest.h>

#include <string>

using pikoci::domain::quote;

TEST_SUITE("domain.text") {
  TEST_CASE("a plain name is only put in double quotes") {
    CHECK(quote("deploy") == "\"deploy\"");
    CHECK(quote("") == "\"\"");
    CHECK(quote("my-job_2 x.y") == "\"my-job_2 x.y\"");
  }

  TEST_CASE("quotes, backslashes and control characters are escaped as Go's %q does") {
    CHECK(quote("a\"b") == R"("a\"b")");
    CHECK(quote("a\\b") == R"("a\\b")");
    CHECK(quote("\a\b\f\n\r\t\v") == R"("\a\b\f\n\r\t\v")");
    CHECK(quote(std::string("x\0y", 3)) == R"("x\x00y")");
    CHECK(quote("\x1b[0m") == R"("\x1b[0m")");
    CHECK(quote("\x7f") == R"("\x7f")");
  }

  TEST_CASE("valid UTF-8 is kept; other bytes are escaped, so the result is valid UTF-8") {
    CHECK(quote("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") ==
          "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
    CHECK(quote("\xE9t\xE9") == R"("\xe9t\xe9")");                // Latin-1
    CHECK(quote("\xC3") == R"("\xc3")");                          // cut sequence at the end
    CHECK(quote("\xE2\x82") == R"("\xe2\x82")");                  // cut three-byte sequence
    CHECK(quote("\xC0\xAF") == R"("\xc0\xaf")");                  // overlong '/'
    CHECK(quote("\xED\xA0\x80") == R"("\xed\xa0\x80")");          // a surrogate
    CHECK(quote("\xF4\x90\x80\x80") == R"("\xf4\x90\x80\x80")");  // past U+10FFFF
    CHECK(quote("\x80x") == R"("\x80x")");                        // a lone continuation byte
  }
}
