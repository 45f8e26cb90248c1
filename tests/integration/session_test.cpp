// The browser's session (docs/web-ui.md): a login that puts the token in an HttpOnly cookie, the
// cookie accepted on user routes with the same roles as a bearer token, writes refused without
// the CSRF token (before or after the body), logout, and bearer tokens unchanged beside it.
#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sse_client.hpp"

using namespace pikoci::test;
using nlohmann::json;

namespace {

const char* const admin_password = "admin-secret-pw";

const char* const pipeline_hcl = R"(job "hello" {
  task "say" {
    run "shell" {
      cmd = "echo hi"
    }
  }
}
)";

/// A signed-in browser: the cookie's value and the CSRF token its session gave.
struct browser {
  std::string cookie;  // "pikoci_session=<token>"
  std::string csrf;
};

struct session_node {
  node_server node{{"--admin-password", admin_password}};

  http_response request(const std::string& method, const std::string& path,
                        std::map<std::string, std::string> headers, const json& body = nullptr) {
    if (!body.is_null()) headers["Content-Type"] = "application/json";
    return http_request(method, node.url() + "/api/v1" + path, body.is_null() ? "" : body.dump(),
                        headers);
  }
  http_response as(const browser& b, const std::string& method, const std::string& path,
                   const json& body = nullptr, std::optional<std::string> csrf = std::nullopt) {
    std::map<std::string, std::string> headers{{"Cookie", "theme=dark; " + b.cookie}};
    if (csrf) headers["X-CSRF-Token"] = *csrf;
    return request(method, path, headers, body);
  }
  http_response start_session(const std::string& user, const std::string& password) {
    return request("POST", "/session", {}, {{"username", user}, {"password", password}});
  }
  browser sign_in(const std::string& user, const std::string& password) {
    auto r = start_session(user, password);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto cookie = r.headers["set-cookie"];
    return {cookie.substr(0, cookie.find(';')), r.json()["csrf_token"].get<std::string>()};
  }
  std::string admin_token() {
    auto r = request("POST", "/login", {}, {{"username", "admin"}, {"password", admin_password}});
    REQUIRE(r.status == 200);
    return r.json()["token"].get<std::string>();
  }
};

std::string error_message(const http_response& r) {
  auto j = r.json();
  return j.is_object() && j.contains("error") ? j["error"].value("message", "") : r.body;
}

}  // namespace

TEST_SUITE("http.session") {
  TEST_CASE("a session login sets an HttpOnly SameSite=Strict cookie and answers the session") {
    session_node n;
    auto r = n.start_session("admin", admin_password);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto cookie = r.headers["set-cookie"];
    CHECK(cookie.rfind("pikoci_session=", 0) == 0);
    CHECK(cookie.find("; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400") != std::string::npos);
    auto j = r.json();
    CHECK(j["username"] == "admin");
    CHECK(j["role"] == "admin");
    CHECK(j["csrf_token"].get<std::string>().size() == 64);
    CHECK(j["expires_at"].get<std::string>().size() == 24);  // 2026-12-04T09:00:00.000Z
    CHECK_FALSE(j.contains("token"));                        // the page never sees the token

    browser b{cookie.substr(0, cookie.find(';')), j["csrf_token"].get<std::string>()};
    auto again = n.as(b, "GET", "/session");
    REQUIRE_MESSAGE(again.status == 200, again.body);
    CHECK(again.json() == j);
    CHECK(again.headers.count("set-cookie") == 0);
    CHECK(n.as(b, "GET", "/pipelines").status == 200);
    CHECK(n.request("GET", "/session", {}).status == 401);
    CHECK(n.start_session("admin", "wrong-password").status == 401);
  }

  TEST_CASE("writes with the cookie need the CSRF token, with or without a body") {
    session_node n;
    auto b = n.sign_in("admin", admin_password);
    json body{{"config", pipeline_hcl}};
    auto no_csrf = n.as(b, "PUT", "/pipelines/p", body);  // refused at its head
    CHECK(no_csrf.status == 403);
    CHECK(error_message(no_csrf) == "missing or wrong CSRF token");
    CHECK(n.as(b, "PUT", "/pipelines/p", body, std::string(64, '0')).status == 403);
    CHECK(n.as(b, "PUT", "/pipelines/p", body, b.csrf + "0").status == 403);
    auto set = n.as(b, "PUT", "/pipelines/p", body, b.csrf);
    REQUIRE_MESSAGE(set.status == 201, set.body);
    auto pause = n.as(b, "POST", "/pipelines/p/pause");  // no body: refused by the route
    CHECK(pause.status == 403);
    CHECK(error_message(pause) == "missing or wrong CSRF token");
    CHECK(n.as(b, "POST", "/pipelines/p/pause", nullptr, b.csrf).status == 200);

    // another session's CSRF token is no good for this one
    auto other = n.sign_in("admin", admin_password);
    if (other.cookie != b.cookie)
      CHECK(n.as(b, "POST", "/pipelines/p/unpause", nullptr, other.csrf).status == 403);

    // a bearer token needs no CSRF token, with or without a cookie beside it
    auto token = n.admin_token();
    CHECK(
        n.request("POST", "/pipelines/p/unpause", {{"Authorization", "Bearer " + token}}).status ==
        200);
    CHECK(n.request("POST", "/pipelines/p/pause",
                    {{"Authorization", "Bearer " + token}, {"Cookie", b.cookie}})
              .status == 200);
  }

  TEST_CASE("the cookie holds the role of its account now, and logging out expires it") {
    session_node n;
    auto admin = n.sign_in("admin", admin_password);
    auto made =
        n.as(admin, "POST", "/users",
             {{"username", "reader"}, {"password", "reader-pass"}, {"role", "read"}}, admin.csrf);
    REQUIRE_MESSAGE(made.status == 201, made.body);
    auto reader = n.sign_in("reader", "reader-pass");
    CHECK(n.as(reader, "GET", "/session").json()["role"] == "read");
    CHECK(n.as(reader, "GET", "/pipelines").status == 200);
    CHECK(n.as(reader, "GET", "/users").status == 403);
    CHECK(n.as(reader, "PUT", "/pipelines/p", {{"config", pipeline_hcl}}, reader.csrf).status ==
          403);

    REQUIRE(n.as(admin, "DELETE", "/users/reader", nullptr, admin.csrf).status == 204);
    auto gone = n.as(reader, "GET", "/pipelines");
    CHECK(gone.status == 401);
    CHECK(n.as(reader, "GET", "/session").status == 401);

    auto out = n.as(admin, "DELETE", "/session");
    CHECK(out.status == 204);
    CHECK(out.headers["set-cookie"] ==
          "pikoci_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    CHECK(n.request("GET", "/pipelines", {{"Cookie", "pikoci_session="}}).status == 401);
  }

  TEST_CASE("the event stream takes the cookie") {
    session_node n;
    auto b = n.sign_in("admin", admin_password);
    sse_client events(n.node.url() + "/api/v1/events",
                      std::vector<std::string>{"Cookie: " + b.cookie});
    REQUIRE(events.wait_open());
    REQUIRE(n.as(b, "PUT", "/pipelines/p", {{"config", pipeline_hcl}}, b.csrf).status == 201);
    REQUIRE(n.as(b, "POST", "/pipelines/p/jobs/hello/trigger", nullptr, b.csrf).status == 201);
    CHECK(events.wait([](const std::vector<sse_event>& seen) {
      return std::any_of(seen.begin(), seen.end(),
                         [](const sse_event& e) { return e.type == "build"; });
    }));
    sse_client anonymous(n.node.url() + "/api/v1/events", std::vector<std::string>{});
    CHECK(anonymous.wait_closed());
    CHECK(anonymous.status() == 401);
  }

  TEST_CASE("session logins back off after repeated failures, as POST /login does") {
    session_node n;
    long last = 0;
    for (int i = 0; i < 8 && last != 429; ++i) last = n.start_session("admin", "wrong-pass").status;
    CHECK(last == 429);
    // the user is throttled on both login routes
    CHECK(n.request("POST", "/login", {}, {{"username", "admin"}, {"password", admin_password}})
              .status == 429);
  }
}
