// The one table from the node's answers to HTTP (http/errors.cpp): every error code's status and
// Retry-After, every outcome's status, the envelope with an error's details, non-JSON views.
#include <doctest/doctest.h>

#include <string>

#include "http/errors.hpp"

using namespace pikoci;

namespace {

std::string header(const http::response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

}  // namespace

TEST_SUITE("http.errors") {
  TEST_CASE("every error code has its status, code name and, when temporary, a Retry-After") {
    struct row {
      domain::errc code;
      int status;
      const char* retry_after;
    };
    using domain::errc;
    for (const auto& r : {row{errc::bad_request, 400, ""}, row{errc::unauthenticated, 401, ""},
                          row{errc::forbidden, 403, ""}, row{errc::not_found, 404, ""},
                          row{errc::method_not_allowed, 405, ""}, row{errc::conflict, 409, ""},
                          row{errc::payload_too_large, 413, ""}, row{errc::uri_too_long, 414, ""},
                          row{errc::header_too_large, 431, ""},
                          row{errc::too_many_requests, 429, ""},
                          row{errc::invalid_pipeline, 422, ""}, row{errc::queue_full, 503, "5"},
                          row{errc::draining, 503, "30"}, row{errc::store_unavailable, 503, "5"},
                          row{errc::pipeline_restarting, 503, "1"}, row{errc::internal, 500, ""}}) {
      auto out = http::response_of(domain::fail(r.code, "why"));
      CAPTURE(domain::to_string(r.code));
      CHECK(out.status == r.status);
      CHECK(out.body["error"]["code"] == domain::to_string(r.code));
      CHECK(out.body["error"]["message"] == "why");
      CHECK(header(out, "Retry-After") == r.retry_after);
    }
  }

  TEST_CASE("an error's details stand beside the envelope") {
    auto out = http::response_of(domain::fail(domain::errc::invalid_pipeline, "bad",
                                              {{"diagnostics", {{{"line", 3}}}}}));
    CHECK(out.status == 422);
    CHECK(out.body["diagnostics"][0]["line"] == 3);
    CHECK(out.body["error"]["code"] == "invalid_pipeline");
  }

  TEST_CASE("outcomes are 200, 201, 202 and 204 (no body)") {
    CHECK(http::response_of(domain::done({{"a", 1}})).status == 200);
    CHECK(http::response_of(domain::done({{"a", 1}})).body["a"] == 1);
    CHECK(http::response_of(domain::created({{"a", 1}})).status == 201);
    CHECK(http::response_of(domain::accepted({{"a", 1}})).status == 202);
    auto none = http::response_of(domain::nothing());
    CHECK(none.status == 204);
    CHECK(none.body.is_null());
  }

  TEST_CASE("a view that is not JSON keeps its media type, and a file name becomes an attachment") {
    auto text = http::response_of(domain::bytes("x 1\n", "text/plain; version=0.0.4"));
    CHECK(text.status == 200);
    CHECK(text.raw == "x 1\n");
    CHECK(header(text, "Content-Type") == "text/plain; version=0.0.4");
    CHECK(header(text, "Content-Disposition").empty());
    auto tar = http::response_of(domain::bytes("...", "application/x-tar", "pikoci-export.tar"));
    CHECK(header(tar, "Content-Disposition") == "attachment; filename=\"pikoci-export.tar\"");
  }
}
