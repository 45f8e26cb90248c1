#include <doctest/doctest.h>

#include "auth/auth.hpp"

using namespace pikoci::auth;
using namespace std::chrono_literals;

TEST_SUITE("http.auth.edge") {
  TEST_CASE("nbf: a token is refused before it and accepted from it on") {
    const std::string secret = "s";
    claims c{"admin", role::admin, false, 1000, 0};
    c.not_before = 2000;
    auto token = sign(secret, c);
    auto early = verify(secret, token, 1999);
    CHECK_FALSE(early);
    CHECK(early.error == "token not valid yet");
    auto ok = verify(secret, token, 2000);
    REQUIRE(ok);
    CHECK(ok.ok->not_before == 2000);
  }

  TEST_CASE("the login throttle: free failures, then doubling waits, reset by a success") {
    login_throttle::options o;
    o.free_failures = 2;
    o.base = 1000ms;
    o.cap = 4000ms;
    login_throttle t(o);
    auto t0 = login_throttle::clock::now();
    CHECK(t.wait("ip", "u", t0).count() == 0);
    t.failed("ip", "u", t0);
    t.failed("ip", "u", t0);
    CHECK(t.wait("ip", "u", t0).count() == 0);
    t.failed("ip", "u", t0);  // the third: 1 s
    CHECK(t.wait("ip", "u", t0) == 1000ms);
    CHECK(t.wait("other-ip", "u", t0) == 1000ms);     // per user
    CHECK(t.wait("ip", "other-user", t0) == 1000ms);  // per address
    CHECK(t.wait("other-ip", "other-user", t0).count() == 0);
    t.failed("ip", "u", t0);
    CHECK(t.wait("ip", "u", t0) == 2000ms);
    for (int i = 0; i < 10; ++i) t.failed("ip", "u", t0);
    CHECK(t.wait("ip", "u", t0) == 4000ms);  // capped
    CHECK(t.wait("ip", "u", t0 + 4000ms).count() == 0);
    t.succeeded("ip", "u");
    CHECK(t.wait("ip", "u", t0).count() == 0);
  }

  TEST_CASE("the throttle's tables stay bounded") {
    login_throttle::options o;
    o.max_entries = 50;
    login_throttle t(o);
    auto t0 = login_throttle::clock::now();
    for (int i = 0; i < 1000; ++i) t.failed("ip" + std::to_string(i), "u" + std::to_string(i), t0);
    // old entries made room; the newest still counts
    for (int i = 0; i < 10; ++i) t.failed("ip999", "u999", t0);
    CHECK(t.wait("ip999", "x", t0).count() > 0);
  }
}
