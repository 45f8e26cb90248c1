// `pikoci-node worker-token` and `user-token` as an operator runs them: the printed token must
// verify with the same secret (checked with http/auth, which the server will use too).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include "auth/auth.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;
namespace auth = pikoci::auth;

namespace {

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

/// The token printed by a successful run: the whole output is one line.
std::string token_of(const command_result& r) {
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  REQUIRE(!r.output.empty());
  REQUIRE(r.output.back() == '\n');
  std::string token = r.output.substr(0, r.output.size() - 1);
  REQUIRE(token.find('\n') == std::string::npos);
  return token;
}

/// A usage error: exit 2 and one line naming `flag`.
void check_usage_error(const command_result& r, const std::string& flag) {
  CHECK_MESSAGE(r.exit_code == 2, r.output);
  CHECK_MESSAGE(r.output.find(flag) != std::string::npos, r.output);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}

}  // namespace

TEST_SUITE("integration.tokens") {
  TEST_CASE("worker-token prints a worker token that never expires") {
    auto token = token_of(run_command({node_binary(), "worker-token", "--jwt-secret", "s"}));
    auto now = unix_now();
    auto r = auth::verify("s", token, now);
    REQUIRE_MESSAGE(r, r.error);
    CHECK(r.ok->worker);
    CHECK(r.ok->r == auth::role::worker);
    CHECK(r.ok->expires_at == 0);
    CHECK(r.ok->issued_at <= now);
    CHECK(r.ok->issued_at >= now - 60);
    CHECK(auth::verify("s", token, now + 10LL * 365 * 86400));
    CHECK_FALSE(auth::verify("other", token, now));
  }

  TEST_CASE("user-token defaults to an admin token for admin that lasts 24 hours") {
    auto token = token_of(run_command({node_binary(), "user-token", "--jwt-secret", "s"}));
    auto r = auth::verify("s", token, unix_now());
    REQUIRE_MESSAGE(r, r.error);
    CHECK(r.ok->subject == "admin");
    CHECK(r.ok->r == auth::role::admin);
    CHECK_FALSE(r.ok->worker);
    CHECK(r.ok->expires_at - r.ok->issued_at == 24 * 3600);
    CHECK(auth::verify("s", token, r.ok->issued_at + 24 * 3600).error == "token expired");
  }

  TEST_CASE("user-token takes the user, role and lifetime from its flags") {
    auto token = token_of(run_command({node_binary(), "user-token", "--jwt-secret", "s", "--user",
                                       "bob", "--role", "read", "--ttl", "1h30m"}));
    auto r = auth::verify("s", token, unix_now());
    REQUIRE_MESSAGE(r, r.error);
    CHECK(r.ok->subject == "bob");
    CHECK(r.ok->r == auth::role::read);
    CHECK(r.ok->expires_at - r.ok->issued_at == 90 * 60);

    auto forever = token_of(run_command(
        {node_binary(), "user-token", "--jwt-secret", "s", "--role", "write", "--ttl", "0"}));
    auto f = auth::verify("s", forever, unix_now());
    REQUIRE_MESSAGE(f, f.error);
    CHECK(f.ok->r == auth::role::write);
    CHECK(f.ok->expires_at == 0);
  }

  TEST_CASE("the secret can come from JWT_SECRET") {
    auto worker = token_of(run_command({node_binary(), "worker-token"}, std::chrono::seconds(30),
                                       {{"JWT_SECRET", "from-env"}}));
    CHECK(auth::verify("from-env", worker, unix_now()));
    auto user = token_of(run_command({node_binary(), "user-token"}, std::chrono::seconds(30),
                                     {{"JWT_SECRET", "from-env"}}));
    CHECK(auth::verify("from-env", user, unix_now()));
  }

  TEST_CASE("USER and ROLE in the environment do not leak into user tokens") {
    auto token =
        token_of(run_command({node_binary(), "user-token", "--jwt-secret", "s"},
                             std::chrono::seconds(30), {{"USER", "mallory"}, {"ROLE", "server"}}));
    auto r = auth::verify("s", token, unix_now());
    REQUIRE_MESSAGE(r, r.error);
    CHECK(r.ok->subject == "admin");
  }

  TEST_CASE("usage errors exit 2 with one line naming the flag") {
    check_usage_error(run_command({node_binary(), "worker-token"}), "--jwt-secret");
    check_usage_error(run_command({node_binary(), "user-token"}), "--jwt-secret");
    check_usage_error(
        run_command({node_binary(), "user-token", "--jwt-secret", "s", "--role", "root"}),
        "--role");
    check_usage_error(
        run_command({node_binary(), "user-token", "--jwt-secret", "s", "--role", "worker"}),
        "--role");
    for (const char* ttl : {"soon", "-1h", "500ms"}) {
      check_usage_error(
          run_command({node_binary(), "user-token", "--jwt-secret", "s", "--ttl", ttl}), "--ttl");
    }
    check_usage_error(run_command({node_binary(), "user-token", "--jwt-secret", "s", "--user", ""}),
                      "--user");
    check_usage_error(run_command({node_binary(), "worker-token", "--jwt-secret", "s", "--bogus"}),
                      "--bogus");
  }

  TEST_CASE("the secret is not echoed in errors") {
    auto r = run_command(
        {node_binary(), "user-token", "--jwt-secret", "hunter2-secret", "--role", "root"});
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("hunter2-secret") == std::string::npos);
  }
}
