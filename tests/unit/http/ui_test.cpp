#include "http/ui.hpp"

#include <doctest/doctest.h>

#include "http/ui_assets.hpp"

using namespace pikoci::http;

namespace {

std::string header(const ui_response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

}  // namespace

TEST_SUITE("http.ui") {
  TEST_CASE("gzip is taken when Accept-Encoding names it or * with a weight above 0") {
    CHECK(accepts_gzip("gzip"));
    CHECK(accepts_gzip("deflate, gzip;q=0.5, br"));
    CHECK(accepts_gzip("GZIP"));
    CHECK(accepts_gzip("*"));
    CHECK(accepts_gzip("gzip; q=1.0"));
    CHECK_FALSE(accepts_gzip(""));
    CHECK_FALSE(accepts_gzip("deflate, br"));
    CHECK_FALSE(accepts_gzip("gzip;q=0"));
    CHECK_FALSE(accepts_gzip("gzip;q=0.000"));
    CHECK_FALSE(accepts_gzip("x-gzip2"));
  }

  TEST_CASE("which requests are the UI's") {
    const char* html = "text/html,*/*;q=0.8";
    CHECK(ui_answer({"GET", "/", "*/*", "", ""}));
    CHECK(ui_answer({"HEAD", "/", "", "", ""}));
    CHECK(ui_answer({"GET", "/queue", html, "", ""}));
    CHECK_FALSE(ui_answer({"GET", "/queue", "application/json", "", ""}));
    CHECK_FALSE(ui_answer({"POST", "/", html, "", ""}));
    CHECK_FALSE(ui_answer({"GET", "/api/v1/nope", html, "", ""}));
    CHECK_FALSE(ui_answer({"GET", "/api", html, "", ""}));
    CHECK_FALSE(ui_answer({"GET", "/metrics", html, "", ""}));
    auto missing = ui_answer({"GET", "/assets/nope.js", "*/*", "", ""});
    REQUIRE(missing);
    CHECK(missing->status == 404);
    CHECK(header(*missing, "X-Frame-Options") == "DENY");
  }

  TEST_CASE("every embedded file is served with its type, tag and caching") {
    REQUIRE_FALSE(ui_assets().empty());
    for (const auto& a : ui_assets()) {
      CAPTURE(a.path);
      auto r = ui_answer({"GET", a.path, "*/*", "gzip", ""});
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(header(*r, "Content-Type") == a.content_type);
      CHECK(header(*r, "Cache-Control") ==
            (a.immutable ? "public, max-age=31536000, immutable" : "no-cache"));
      CHECK(r->body == (a.gzip.empty() ? a.bytes : a.gzip));
      CHECK(r->content_length == r->body.size());
      auto again = ui_answer({"GET", a.path, "*/*", "gzip", header(*r, "ETag")});
      CHECK(again->status == 304);
      CHECK(again->body.empty());
      auto head = ui_answer({"HEAD", a.path, "*/*", "", ""});
      CHECK(head->body.empty());
      CHECK(head->content_length == a.bytes.size());
    }
  }
}
