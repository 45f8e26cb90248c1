#include "http/request_gate.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace pikoci::http;

namespace {

/// A gate whose policy lets everything through with a 100-byte body limit, but refuses bodies
/// without an Authorization header.
request_gate make_gate(gate_limits limits = {}) {
  return request_gate(limits, [](const request_head& h) {
    verdict v{std::nullopt, 100};
    if (h.has_body() && !h.authorization) v.refuse = refusal{errc::unauthenticated, "no token"};
    return v;
  });
}

/// Feeds `in` in pieces of `step` bytes; returns what the gate passes on.
std::string feed(request_gate& g, const std::string& in, std::size_t step = 7) {
  std::string out;
  for (std::size_t at = 0; at < in.size(); at += step) {
    auto piece = in.substr(at, step);
    g.feed(piece.data(), piece.size(), out);
  }
  return out;
}

bool refused_with(const std::string& out, const char* code) {
  return out.find(std::string(refusal_path)) != std::string::npos &&
         out.find(std::string(refusal_code_header) + ": " + code) != std::string::npos;
}

}  // namespace

TEST_SUITE("http.request_gate") {
  TEST_CASE("good requests pass unchanged, pipelined, in any pieces") {
    std::string in =
        "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /a HTTP/1.1\r\nAuthorization: Bearer t\r\nContent-Length: 5\r\n\r\nhello"
        "PUT /b HTTP/1.1\r\nAuthorization: Bearer t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n";
    for (std::size_t step : {1u, 2u, 7u, 64u, 4096u}) {
      auto g = make_gate();
      CHECK(feed(g, in, step) == in);
      CHECK_FALSE(g.refused());
      CHECK_FALSE(g.broken());
    }
  }

  TEST_CASE("a body without a token is refused at its head, and the rest is dropped") {
    auto g = make_gate();
    std::string first = "GET /ok HTTP/1.1\r\n\r\n";
    auto out = feed(g, first + "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + first);
    CHECK(out.rfind(first, 0) == 0);  // the request before it still goes through
    CHECK(refused_with(out, "unauthenticated"));
    CHECK(out.find("hello") == std::string::npos);
    CHECK(g.refused());
  }

  TEST_CASE("Content-Length over the limit is refused before any body byte") {
    auto g = make_gate();
    auto out = feed(g, "POST /a HTTP/1.1\r\nAuthorization: x\r\nContent-Length: 101\r\n\r\n");
    CHECK(refused_with(out, "payload_too_large"));
  }

  TEST_CASE("a chunked body past the limit breaks the connection") {
    auto g = make_gate();
    std::string in = "POST /a HTTP/1.1\r\nAuthorization: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i) in += "a\r\n0123456789\r\n";
    feed(g, in);
    CHECK(g.broken());
  }

  TEST_CASE("long URLs, big heads and many fields are refused with their codes") {
    gate_limits small;
    small.max_url_bytes = 100;
    small.max_head_bytes = 1000;
    small.max_fields = 10;
    {
      auto g = make_gate(small);
      CHECK(refused_with(feed(g, "GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n"),
                         "uri_too_long"));
    }
    {
      auto g = make_gate(small);
      CHECK(refused_with(feed(g, "GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n"),
                         "header_too_large"));
    }
    {
      std::string fields;
      for (int i = 0; i < 11; ++i) fields += "X" + std::to_string(i) + ": v\r\n";
      auto g = make_gate(small);
      CHECK(refused_with(feed(g, "GET / HTTP/1.1\r\n" + fields + "\r\n"), "header_too_large"));
    }
  }

  TEST_CASE("paths must be percent-encoded UTF-8; garbage is a 400") {
    CHECK(path_problem("/api/v1/pipelines/a%20b").empty());
    CHECK(path_problem("/%C3%A9").empty());
    CHECK_FALSE(path_problem("/%FF").empty());
    CHECK_FALSE(path_problem("/%ED%A0%80").empty());  // a surrogate
    CHECK_FALSE(path_problem("/%G1").empty());
    CHECK_FALSE(path_problem("/abc%").empty());
    CHECK_FALSE(path_problem("/abc%4").empty());
    CHECK_FALSE(path_problem("/\xff").empty());
    auto g = make_gate();
    CHECK(refused_with(feed(g, "GET /%FF HTTP/1.1\r\n\r\n"), "bad_request"));
    auto g2 = make_gate();
    CHECK(refused_with(feed(g2, "NOT HTTP\r\n\r\n"), "bad_request"));
    auto g3 = make_gate();  // a client cannot forge a refusal
    CHECK(refused_with(feed(g3, "GET " + std::string(refusal_path) + " HTTP/1.1\r\n\r\n"),
                       "not_found"));
  }

  TEST_CASE("the policy sees the token, the cookies and the CSRF token, in any pieces") {
    std::string in =
        "POST /a HTTP/1.1\r\ncookie: a=1\r\nX-CSRF-Token: abc\r\nCookie: pikoci_session=t\r\n"
        "Content-Length: 0\r\n\r\nGET /b HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n";
    for (std::size_t step : {1u, 3u, 4096u}) {
      std::vector<request_head> seen;
      request_gate g({}, [&seen](const request_head& h) {
        seen.push_back(h);
        return verdict{std::nullopt, 100};
      });
      CHECK(feed(g, in, step) == in);
      REQUIRE(seen.size() == 2);
      CHECK(seen[0].cookie == "a=1; pikoci_session=t");
      CHECK(seen[0].csrf_token == "abc");
      CHECK_FALSE(seen[0].authorization);
      CHECK(seen[1].authorization == "Bearer x");
      CHECK_FALSE(seen[1].cookie);
      CHECK_FALSE(seen[1].csrf_token);
    }
  }

  TEST_CASE("refusal messages survive the trip through a header") {
    std::string text = "no route for /a%FF\r\nX: y \x01 é";
    CHECK(percent_decode_message(percent_encode_message(text)) == text);
    CHECK(percent_encode_message(text).find_first_of("\r\n\x01") == std::string::npos);
  }
}
