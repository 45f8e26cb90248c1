// The user accounts of auth::user_store: names, passwords, roles, the built-in admin's limits,
// stored records, and what a token of an account holds after the account changes.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "auth/auth.hpp"

using namespace pikoci::auth;
using pikoci::domain::errc;

namespace {

constexpr std::int64_t t0 = 1700000000;

password_hash hashed(const std::string& password) {
  auto h = user_store::hash_password(password);
  REQUIRE(h);
  return *h;
}

/// The record of a change that must succeed.
std::string record(std::variant<std::string, pikoci::domain::error> r) {
  if (auto* e = std::get_if<pikoci::domain::error>(&r)) FAIL(e->message);
  return std::get<std::string>(r);
}

errc code_of(std::variant<std::string, pikoci::domain::error> r) {
  REQUIRE(std::holds_alternative<pikoci::domain::error>(r));
  return std::get<pikoci::domain::error>(r).code;
}

}  // namespace

TEST_SUITE("auth.users") {
  TEST_CASE("user names: lowercase letters, digits, '.', '_', '-', at most 64") {
    for (const char* good : {"alice", "a", "0ps", "bob.smith", "ci_bot-2"})
      CHECK_MESSAGE(user_store::name_problem(good).empty(), good);
    for (const char* bad : {"", "Alice", "-x", ".x", "_x", "a b", "a/b", "é", "a\n"})
      CHECK_MESSAGE(!user_store::name_problem(bad).empty(), bad);
    CHECK(user_store::name_problem(std::string(64, 'a')).empty());
    CHECK_FALSE(user_store::name_problem(std::string(65, 'a')).empty());
  }

  TEST_CASE("passwords: 8 to 1024 bytes") {
    CHECK_FALSE(user_store::password_problem("1234567").empty());
    CHECK(user_store::password_problem("12345678").empty());
    CHECK(user_store::password_problem(std::string(1024, 'x')).empty());
    CHECK_FALSE(user_store::password_problem(std::string(1025, 'x')).empty());
  }

  TEST_CASE("a created account logs in with its role and a stamp; its record has no password") {
    user_store users("admin-password");
    auto rec = record(users.create("alice", role::maintain, hashed("alice-pass"), t0));
    CHECK(rec.find("alice-pass") == std::string::npos);
    auto j = nlohmann::json::parse(rec);
    CHECK(j["name"] == "alice");
    CHECK(j["role"] == "maintain");
    CHECK(j["created_at"] == t0);
    auto c = users.login("alice", "alice-pass", t0, 60);
    REQUIRE(c);
    CHECK(c->subject == "alice");
    CHECK(c->r == role::maintain);
    CHECK_FALSE(c->stamp.empty());
    CHECK(j["stamp"] == c->stamp);
    CHECK_FALSE(users.login("alice", "wrong-pass", t0, 60));
    // the stamp travels in the token
    auto v = verify("k", sign("k", *c), t0);
    REQUIRE(v);
    CHECK(v.ok->stamp == c->stamp);
    // the admin's token is tied to no account record
    CHECK(users.login("admin", "admin-password", t0, 60)->stamp.empty());
  }

  TEST_CASE("two accounts of one name, the admin's name, a bad name or role are refused") {
    user_store users("admin-password");
    record(users.create("bob", role::write, hashed("bob-pass1"), t0));
    CHECK(code_of(users.create("bob", role::read, hashed("other-pass"), t0)) == errc::conflict);
    CHECK(code_of(users.create("admin", role::read, hashed("other-pass"), t0)) == errc::conflict);
    CHECK(code_of(users.create("Bob", role::read, hashed("other-pass"), t0)) == errc::bad_request);
    CHECK(code_of(users.create("w", role::worker, hashed("other-pass"), t0)) == errc::bad_request);
    auto all = users.list();
    REQUIRE(all.size() == 2);
    CHECK(all[0].name == "admin");
    CHECK(all[0].builtin);
    CHECK(all[1].name == "bob");
    CHECK_FALSE(all[1].builtin);
  }

  TEST_CASE("the built-in admin cannot be deleted, demoted or given a password") {
    user_store users("admin-password");
    CHECK(users.remove("admin")->code == errc::forbidden);
    CHECK(code_of(users.set_role("admin", role::read)) == errc::forbidden);
    CHECK(code_of(users.set_password("admin", hashed("new-password"))) == errc::forbidden);
    CHECK(users.login("admin", "admin-password", t0, 60)->r == role::admin);
    CHECK(users.remove("nobody")->code == errc::not_found);
    CHECK(code_of(users.set_role("nobody", role::read)) == errc::not_found);
  }

  TEST_CASE("a token of an account holds what the account holds now") {
    user_store users("admin-password");
    record(users.create("carol", role::admin, hashed("carol-pass"), t0));
    auto c = *users.login("carol", "carol-pass", t0, 60);
    CHECK(users.role_of("carol", c.stamp, c.r) == role::admin);
    // demoted: the old token gives the new role
    record(users.set_role("carol", role::read));
    CHECK(users.role_of("carol", c.stamp, c.r) == role::read);
    // a new password: tokens of earlier logins are refused, new ones work
    record(users.set_password("carol", hashed("carol-pass2")));
    CHECK_FALSE(users.role_of("carol", c.stamp, c.r));
    CHECK_FALSE(users.login("carol", "carol-pass", t0, 60));
    auto again = *users.login("carol", "carol-pass2", t0, 60);
    CHECK(users.role_of("carol", again.stamp, again.r) == role::read);
    // deleted, then created again with the same name: the old token stays refused
    CHECK_FALSE(users.remove("carol"));
    CHECK_FALSE(users.role_of("carol", again.stamp, again.r));
    CHECK_FALSE(users.login("carol", "carol-pass2", t0, 60));
    record(users.create("carol", role::admin, hashed("carol-pass2"), t0));
    CHECK_FALSE(users.role_of("carol", again.stamp, again.r));
    // a token tied to no account (user-token, the admin's login) keeps its own role
    CHECK(users.role_of("robot", "", role::write) == role::write);
  }

  TEST_CASE("stored records load back; damaged ones are refused and change nothing") {
    user_store first("admin-password");
    auto rec = record(first.create("dave", role::write, hashed("dave-pass"), t0));
    auto stamp = first.login("dave", "dave-pass", t0, 60)->stamp;

    user_store second("another-admin-password");
    CHECK(second.load(rec));
    auto c = second.login("dave", "dave-pass", t0, 60);
    REQUIRE(c);
    CHECK(c->r == role::write);
    CHECK(c->stamp == stamp);  // tokens from before a restart still hold
    REQUIRE(second.list().size() == 2);
    CHECK(second.list()[1].created_at == t0);

    auto j = nlohmann::json::parse(rec);
    for (const char* field : {"name", "role", "salt", "hash", "stamp"}) {
      auto damaged = j;
      damaged.erase(field);
      user_store s("admin-password");
      CHECK_MESSAGE(!s.load(damaged.dump()), field);
      CHECK(s.list().size() == 1);
    }
    auto as_admin = j;
    as_admin["name"] = "admin";
    CHECK_FALSE(second.load(as_admin.dump()));
    auto short_hash = j;
    short_hash["hash"] = "AAAA";
    CHECK_FALSE(second.load(short_hash.dump()));
    CHECK_FALSE(second.load("not json"));
    CHECK(second.login("admin", "another-admin-password", t0, 60));
  }

  TEST_CASE("a token's stamp must be a short string, and never on a worker token") {
    claims c{"alice", role::read, false, t0, 0};
    c.stamp = "abc";
    auto v = verify("k", sign("k", c), t0);
    REQUIRE(v);
    CHECK(v.ok->stamp == "abc");
    c.stamp = std::string(65, 'a');
    CHECK(verify("k", sign("k", c), t0).error == "token has a bad stamp");
    claims w{"worker", role::worker, true, t0, 0};
    w.stamp = "abc";
    CHECK(verify("k", sign("k", w), t0).error == "worker tokens have no stamp");
  }

  TEST_CASE("replicated accounts: a record adds or changes one, a deletion forgets it") {
    user_store owner("admin-password"), replica("admin-password");
    auto rec = record(owner.create("alice", role::write, hashed("alice-pass"), t0));
    CHECK(replica.apply("alice", rec));
    auto c = replica.login("alice", "alice-pass", t0, 60);
    REQUIRE(c);
    CHECK(replica.role_of("alice", c->stamp, role::read) == role::write);
    // a new role travels; the token of the earlier login holds the new role
    CHECK(replica.apply("alice", record(owner.set_role("alice", role::maintain))));
    CHECK(replica.role_of("alice", c->stamp, role::read) == role::maintain);
    // a deletion: the account and its tokens are gone; deleting again changes nothing
    CHECK(replica.apply("alice", std::nullopt));
    CHECK_FALSE(replica.login("alice", "alice-pass", t0, 60));
    CHECK_FALSE(replica.role_of("alice", c->stamp, role::read));
    CHECK_FALSE(replica.apply("alice", std::nullopt));
    CHECK_FALSE(replica.forget("alice"));
    CHECK(replica.list().size() == 1);
  }

  TEST_CASE("replicated accounts: hostile records change nothing; the admin is never forgotten") {
    user_store owner("admin-password"), replica("admin-password");
    auto rec = record(owner.create("bob", role::read, hashed("bob-pass1"), t0));
    // the record names another account than its key
    CHECK_FALSE(replica.apply("mallory", rec));
    for (const char* bad : {"", "not json", "[]", "{}", "{\"name\":7}", "\xff\xfe"})
      CHECK_FALSE_MESSAGE(replica.apply("bob", std::string(bad)), bad);
    auto as_admin = nlohmann::json::parse(rec);
    as_admin["name"] = "admin";
    CHECK_FALSE(replica.apply("admin", as_admin.dump()));
    CHECK(replica.list().size() == 1);
    // the built-in admin is nobody's record: a deletion of it is ignored
    CHECK_FALSE(replica.apply("admin", std::nullopt));
    CHECK_FALSE(replica.forget("admin"));
    CHECK(replica.login("admin", "admin-password", t0, 60));
    // remove still refuses the admin and says when there is no such account
    CHECK(replica.remove("admin")->code == errc::forbidden);
    CHECK(replica.remove("bob")->code == errc::not_found);
  }
}
