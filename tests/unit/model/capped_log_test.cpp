#include <doctest/doctest.h>

#include <string>

#include "actors/model/capped_log.hpp"

using pikoci::model::capped_log;

TEST_SUITE("model.capped_log") {
  TEST_CASE("a capped log keeps the tail with a marker") {
    capped_log log(16);
    log.append("line one\n");
    CHECK(log.str() == "line one\n");
    log.append("line two\nline three\n");
    CHECK(log.dropped() > 0);
    CHECK(log.str().rfind("[... ", 0) == 0);
    CHECK(log.str().find("line three\n") != std::string::npos);
    CHECK(log.str().find("line one") == std::string::npos);
  }

  TEST_CASE("a capped log cuts at a character, never inside one, and keeps the last cap bytes") {
    capped_log log(10);
    std::string euro = "\xE2\x82\xAC";
    for (int i = 0; i < 1000; ++i) log.append(euro);  // no newline to cut at
    auto text = log.str();
    auto kept = text.substr(text.find('\n') + 1);
    CHECK(kept.size() <= 10);
    CHECK(kept.size() % 3 == 0);
    CHECK(kept.rfind(euro, 0) == 0);
    CHECK(log.dropped() + kept.size() == 3000);
    CHECK(text.rfind("[... " + std::to_string(log.dropped()) + " bytes", 0) == 0);
  }
}
