// User accounts as an operator and their users meet them (docs/users.md): created through the
// API and the client, each role doing what it may, tokens that stop working when their account is
// deleted, demoted or given a new password, accounts kept across a RocksDB restart, and
// `client login` keeping a token in a 0600 file for later commands.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/auth.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/process.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const char* const admin_password = "admin-secret-pw";

const char* const pipeline_hcl = R"(job "slow" {
  task "sleep" {
    run "shell" {
      cmd = "sleep 30"
    }
  }
}
)";

std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

/// A node with a known admin password, and requests to it.
struct users_node {
  explicit users_node(std::vector<std::string> extra = {})
      : node(with_password(std::move(extra))), admin(login("admin", admin_password)) {}

  static std::vector<std::string> with_password(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--admin-password", admin_password});
    return extra;
  }

  http_response call(const std::string& method, const std::string& path, const std::string& token,
                     const json& body = nullptr) {
    return http_request(method, node.url() + "/api/v1" + path, body.is_null() ? "" : body.dump(),
                        bearer(token));
  }

  /// POST /login: the token (empty when refused).
  std::string login(const std::string& user, const std::string& password) {
    auto r = http_request("POST", node.url() + "/api/v1/login",
                          json{{"username", user}, {"password", password}}.dump(),
                          {{"Content-Type", "application/json"}});
    if (r.status != 200) return {};
    return r.json()["token"].get<std::string>();
  }

  void create(const std::string& user, const std::string& role, const std::string& password) {
    auto r =
        call("POST", "/users", admin, {{"username", user}, {"password", password}, {"role", role}});
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(r.json()["username"] == user);
    CHECK(r.json()["role"] == role);
  }

  node_server node;
  std::string admin;
};

/// `pikoci-node client --url URL ARGS` with the config directory `config`.
command_result client(const std::string& url, const std::string& config,
                      std::vector<std::string> args, const std::string& input = {}) {
  std::vector<std::string> argv{node_binary(), "client", "--url", url};
  argv.insert(argv.end(), args.begin(), args.end());
  if (input.empty()) return run_command(argv, 20s, {{"XDG_CONFIG_HOME", config}});
  // through a shell, so the password comes on standard input as a user would pipe it
  std::string line = "printf '%s\\n' '" + input + "' |";
  for (const auto& a : argv) line += " '" + a + "'";
  return run_command({"/bin/sh", "-c", line}, 20s, {{"XDG_CONFIG_HOME", config}});
}

}  // namespace

TEST_SUITE("integration.users") {
  TEST_CASE("each role does what it may: read reads, write changes builds, admin manages") {
    users_node n;
    REQUIRE_FALSE(n.admin.empty());
    auto set = n.call("PUT", "/pipelines/p", n.admin, {{"config", pipeline_hcl}});
    REQUIRE_MESSAGE(set.status == 201, set.body);
    for (const char* role : {"read", "write", "maintain", "admin"})
      n.create(std::string("u-") + role, role, std::string("pass-") + role + "-123");

    std::map<std::string, std::string> tokens;
    for (const char* role : {"read", "write", "maintain", "admin"}) {
      auto r = http_request("POST", n.node.url() + "/api/v1/login",
                            json{{"username", std::string("u-") + role},
                                 {"password", std::string("pass-") + role + "-123"}}
                                .dump(),
                            {{"Content-Type", "application/json"}});
      REQUIRE_MESSAGE(r.status == 200, r.body);
      CHECK(r.json()["role"] == role);
      tokens[role] = r.json()["token"].get<std::string>();
      // the token's subject is the account's name
      auto v = pikoci::auth::verify("test-secret", tokens[role], 0);
      REQUIRE(v);
      CHECK(v.ok->subject == std::string("u-") + role);
    }

    auto status = [&](const char* role, const std::string& method, const std::string& path,
                      const json& body = nullptr) {
      return n.call(method, path, tokens[role], body).status;
    };
    for (const char* role : {"read", "write", "maintain", "admin"})
      CHECK(status(role, "GET", "/pipelines") == 200);
    CHECK(status("read", "POST", "/pipelines/p/pause") == 403);
    CHECK(status("write", "POST", "/pipelines/p/pause") == 200);
    CHECK(status("maintain", "POST", "/pipelines/p/unpause") == 200);
    for (const char* role : {"read", "write", "maintain"}) {
      CHECK(status(role, "GET", "/users") == 403);
      CHECK(status(role, "POST", "/users", {{"username", "x"}, {"password", "12345678"}}) == 403);
      CHECK(status(role, "DELETE", "/users/u-read") == 403);
      CHECK(status(role, "PUT", "/users/u-read", {{"role", "admin"}}) == 403);
    }
    CHECK(status("admin", "PUT", "/users/u-read", {{"role", "read"}}) == 200);
    auto list = n.call("GET", "/users", tokens["admin"]);
    REQUIRE(list.status == 200);
    std::vector<std::string> names;
    auto listed = list.json();
    for (const auto& u : listed["users"]) names.push_back(u["username"].get<std::string>());
    const std::vector<std::string> expected{"admin", "u-admin", "u-maintain", "u-read", "u-write"};
    CHECK_MESSAGE(names == expected, list.body);
    CHECK(listed["users"][0]["builtin"] == true);
    CHECK(list.body.find("hash") == std::string::npos);
    CHECK(list.body.find("salt") == std::string::npos);

    // who cancels is the account
    auto trig = n.call("POST", "/pipelines/p/jobs/slow/trigger", tokens["write"]);
    REQUIRE_MESSAGE(trig.status == 201, trig.body);
    auto number = trig.json()["build"]["number"].get<std::string>();
    auto cancel =
        n.call("POST", "/pipelines/p/jobs/slow/builds/" + number + "/cancel", tokens["maintain"]);
    REQUIRE_MESSAGE(cancel.status == 200, cancel.body);
    json build;
    CHECK(eventually([&] {
      build = n.call("GET", "/pipelines/p/jobs/slow/builds/" + number, tokens["read"]).json();
      return build["build"]["status"] == "cancelled";
    }));
    CHECK_MESSAGE(build["build"]["reason"] == "cancelled by u-maintain", build.dump());
  }

  TEST_CASE("names, passwords and roles are checked; the built-in admin stays") {
    users_node n;
    auto create = [&](const json& body) { return n.call("POST", "/users", n.admin, body).status; };
    CHECK(create({{"username", "Bad Name"}, {"password", "12345678"}}) == 400);
    CHECK(create({{"username", "short"}, {"password", "1234567"}}) == 400);
    CHECK(create({{"username", "r"}, {"password", "12345678"}, {"role", "worker"}}) == 400);
    CHECK(create({{"username", "r"}, {"password", "12345678"}, {"role", "root"}}) == 400);
    CHECK(create({{"username", "r"}, {"password", "12345678"}, {"colour", "red"}}) == 400);
    CHECK(create({{"username", "admin"}, {"password", "12345678"}}) == 409);
    auto made = n.call("POST", "/users", n.admin, {{"username", "r"}, {"password", "12345678"}});
    REQUIRE(made.status == 201);
    CHECK(made.json()["role"] == "read");  // the default
    CHECK(create({{"username", "r"}, {"password", "12345678"}}) == 409);
    CHECK(n.call("DELETE", "/users/admin", n.admin).status == 403);
    CHECK(n.call("PUT", "/users/admin", n.admin, {{"role", "read"}}).status == 403);
    CHECK(n.call("PUT", "/users/admin", n.admin, {{"password", "another-pw"}}).status == 403);
    CHECK(n.call("DELETE", "/users/nobody", n.admin).status == 404);
    CHECK(n.call("PUT", "/users/r", n.admin, json::object()).status == 400);
    CHECK_FALSE(n.login("admin", admin_password).empty());
  }

  TEST_CASE("a deleted or demoted account's tokens lose what it lost") {
    users_node n;
    REQUIRE(n.call("PUT", "/pipelines/p", n.admin, {{"config", pipeline_hcl}}).status == 201);
    n.create("bob", "admin", "bob-password");
    auto bob = n.login("bob", "bob-password");
    REQUIRE_FALSE(bob.empty());
    CHECK(n.call("GET", "/users", bob).status == 200);
    // demoted to write: no more admin routes, still write routes
    REQUIRE(n.call("PUT", "/users/bob", n.admin, {{"role", "write"}}).status == 200);
    CHECK(n.call("GET", "/users", bob).status == 403);
    CHECK(n.call("POST", "/pipelines/p/pause", bob).status == 200);
    // deleted: the token is refused everywhere
    REQUIRE(n.call("DELETE", "/users/bob", n.admin).status == 204);
    auto refused = n.call("GET", "/pipelines", bob);
    CHECK(refused.status == 401);
    CHECK(refused.body.find("log in again") != std::string::npos);
    CHECK(n.login("bob", "bob-password").empty());
    // a new account of the same name does not bring the old token back
    n.create("bob", "admin", "bob-password");
    CHECK(n.call("GET", "/pipelines", bob).status == 401);
    CHECK_FALSE(n.login("bob", "bob-password").empty());
  }

  TEST_CASE("a user changes their own password; earlier tokens stop working") {
    users_node n;
    n.create("alice", "read", "alice-password");
    n.create("carl", "read", "carl-password");
    auto alice = n.login("alice", "alice-password");
    REQUIRE_FALSE(alice.empty());
    // only their own password, and not their role
    CHECK(n.call("PUT", "/users/carl", alice, {{"password", "hijacked-pw"}}).status == 403);
    CHECK(n.call("PUT", "/users/alice", alice, {{"role", "admin"}}).status == 403);
    CHECK(n.call("PUT", "/users/alice", alice, {{"password", "short"}}).status == 400);
    // a token made with user-token for that name is tied to no login: it may not
    auto minted = run_command({node_binary(), "user-token", "--jwt-secret", "test-secret", "--user",
                               "alice", "--role", "read"});
    REQUIRE(minted.exit_code == 0);
    auto minted_token = minted.output.substr(0, minted.output.find('\n'));
    CHECK(n.call("PUT", "/users/alice", minted_token, {{"password", "other-pass"}}).status == 403);
    auto changed = n.call("PUT", "/users/alice", alice, {{"password", "alice-new-pw"}});
    REQUIRE_MESSAGE(changed.status == 200, changed.body);
    CHECK(n.call("GET", "/pipelines", alice).status == 401);
    CHECK(n.login("alice", "alice-password").empty());
    auto again = n.login("alice", "alice-new-pw");
    REQUIRE_FALSE(again.empty());
    CHECK(n.call("GET", "/pipelines", again).status == 200);
    // the admin sets anyone's password
    REQUIRE(n.call("PUT", "/users/carl", n.admin, {{"password", "carl-new-pw"}}).status == 200);
    CHECK_FALSE(n.login("carl", "carl-new-pw").empty());
  }

  TEST_CASE("accounts survive a restart of a RocksDB node") {
    temp_dir dir;
    std::vector<std::string> args{"--db-system", "rocksdb", "--db-path", dir.file("db")};
    std::string token;
    {
      users_node n(args);
      n.create("carol", "maintain", "carol-password");
      n.create("gone", "read", "gone-password");
      REQUIRE(n.call("PUT", "/users/carol", n.admin, {{"password", "carol-pass-2"}}).status == 200);
      REQUIRE(n.call("DELETE", "/users/gone", n.admin).status == 204);
      token = n.login("carol", "carol-pass-2");
      REQUIRE_FALSE(token.empty());
      REQUIRE(n.node.process().stop(SIGTERM) == 0);
    }
    users_node n(args);
    CHECK(n.login("carol", "carol-password").empty());
    auto r = http_request("POST", n.node.url() + "/api/v1/login",
                          json{{"username", "carol"}, {"password", "carol-pass-2"}}.dump(),
                          {{"Content-Type", "application/json"}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.json()["role"] == "maintain");
    CHECK(n.login("gone", "gone-password").empty());
    // a token from before the restart still holds
    CHECK(n.call("GET", "/pipelines", token).status == 200);

    users_node memory;
    memory.create("dan", "read", "dan-password");
    CHECK_FALSE(memory.login("dan", "dan-password").empty());
  }

  TEST_CASE("client users and login: the token kept in a 0600 file serves later commands") {
    users_node n;
    temp_dir config;
    auto url = n.node.url();
    // the admin creates an account with the client, the password on standard input
    auto made =
        client(url, config.path(),
               {"--token", n.admin, "users", "create", "erin", "--role", "admin"}, "erin-password");
    REQUIRE_MESSAGE(made.exit_code == 0, made.output);
    CHECK(made.output.find("user \"erin\": admin") != std::string::npos);
    CHECK(made.output.find("erin-password") == std::string::npos);

    // no token yet
    auto none = client(url, config.path(), {"users", "list"});
    CHECK(none.exit_code == 1);
    CHECK(none.output.find("client login") != std::string::npos);

    auto in = client(url, config.path(), {"login", "--username", "erin"}, "erin-password");
    REQUIRE_MESSAGE(in.exit_code == 0, in.output);
    CHECK(in.output.find("logged in to " + url + " as erin (admin)") != std::string::npos);
    CHECK(in.output.find("erin-password") == std::string::npos);
    auto file = config.file("pikoci-node/tokens.json");
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto kept = json::parse(config.read("pikoci-node/tokens.json"));
    CHECK(kept[url]["username"] == "erin");
    CHECK(in.output.find(kept[url]["token"].get<std::string>()) == std::string::npos);

    // later commands without --token use it
    auto created =
        client(url, config.path(), {"users", "create", "fred", "--password", "fred-password"});
    REQUIRE_MESSAGE(created.exit_code == 0, created.output);
    auto role = client(url, config.path(), {"users", "set-role", "fred", "write"});
    REQUIRE_MESSAGE(role.exit_code == 0, role.output);
    CHECK(role.output == "user \"fred\": write\n");
    auto list = client(url, config.path(), {"users", "list"});
    REQUIRE_MESSAGE(list.exit_code == 0, list.output);
    CHECK(list.output.find("admin  admin  built-in") != std::string::npos);
    CHECK(list.output.find("fred   write") != std::string::npos);
    auto listed = client(url, config.path(), {"--json", "users", "list"});
    REQUIRE_MESSAGE(listed.exit_code == 0, listed.output);
    CHECK(json::parse(listed.output)["users"].size() == 3);
    auto pw = client(url, config.path(), {"users", "set-password", "fred"}, "fred-password-2");
    REQUIRE_MESSAGE(pw.exit_code == 0, pw.output);
    CHECK_FALSE(n.login("fred", "fred-password-2").empty());
    auto del = client(url, config.path(), {"users", "delete", "fred"});
    REQUIRE_MESSAGE(del.exit_code == 0, del.output);
    CHECK(n.login("fred", "fred-password-2").empty());

    // a wrong password keeps nothing
    auto wrong = client(url, config.path(), {"login", "--username", "erin", "--password", "nope"});
    CHECK(wrong.exit_code == 1);

    auto out = client(url, config.path(), {"logout"});
    REQUIRE_MESSAGE(out.exit_code == 0, out.output);
    CHECK(out.output == "logged out of " + url + "\n");
    CHECK_FALSE(json::parse(config.read("pikoci-node/tokens.json")).contains(url));
    CHECK(client(url, config.path(), {"users", "list"}).exit_code == 1);

    auto help = run_command({node_binary(), "client", "--help"});
    CHECK(help.output.find("client login") != std::string::npos);
    CHECK(help.output.find("tokens.json") != std::string::npos);
  }

  TEST_CASE("accounts are the distinct approvers of a gate, each logged in with the client") {
    users_node n;
    auto set = n.call("PUT", "/pipelines/p", n.admin,
                      {{"config", R"(job "deploy" {
  approve "prod" {
    approvals = 2
  }
  task "t" {
    run "shell" {
      cmd = "echo deployed"
    }
  }
}
)"}});
    REQUIRE_MESSAGE(set.status == 201, set.body);
    n.create("ann", "maintain", "ann-password");
    n.create("ben", "maintain", "ben-password");
    n.create("wes", "write", "wes-password");
    auto url = n.node.url();
    temp_dir ann, ben, wes;
    for (auto [dir, user] : {std::pair{&ann, "ann"}, {&ben, "ben"}, {&wes, "wes"}}) {
      auto in = client(url, dir->path(), {"login", "--username", user},
                       std::string(user) + "-password");
      REQUIRE_MESSAGE(in.exit_code == 0, in.output);
    }
    auto t = client(url, wes.path(), {"jobs", "trigger", "p", "deploy"});
    REQUIRE_MESSAGE(t.exit_code == 0, t.output);
    CHECK(t.output.find("waiting_for_approval") != std::string::npos);

    // the write account may trigger but not approve
    auto refused = client(url, wes.path(), {"builds", "approve", "p", "deploy", "1"});
    CHECK(refused.exit_code == 1);
    // one account approving twice counts once
    for (int i = 0; i < 2; ++i) {
      auto a = client(url, ann.path(), {"builds", "approve", "p", "deploy", "1"});
      REQUIRE_MESSAGE(a.exit_code == 0, a.output);
      CHECK(a.output.find("(1/2 approvals)") != std::string::npos);
    }
    auto b = client(url, ben.path(), {"builds", "approve", "p", "deploy", "1", "--message", "go"});
    REQUIRE_MESSAGE(b.exit_code == 0, b.output);
    nlohmann::json build;
    CHECK(eventually([&] {
      build = n.call("GET", "/pipelines/p/jobs/deploy/builds/1", n.admin).json()["build"];
      return build["status"] == "succeeded";
    }, 30s));
    REQUIRE(build["approvals"].size() == 2);
    CHECK(build["approvals"][0]["username"] == "ann");
    CHECK(build["approvals"][1]["username"] == "ben");
    CHECK(build["approvals"][1]["message"] == "go");
  }
}
