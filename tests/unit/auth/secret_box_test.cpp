// The internal secret store's encryption at rest: AES-256-GCM, bound to the entry.
#include <doctest/doctest.h>

#include "auth/secret_box.hpp"

using namespace pikoci;

TEST_SUITE("auth.secret_box") {
  TEST_CASE("round trip; the sealed text holds no plaintext and differs each time") {
    auth::secret_box box("node key");
    auto a = box.seal("db-password-1", "team\nDB");
    auto b = box.seal("db-password-1", "team\nDB");
    CHECK(a != b);
    CHECK(a.find("db-password") == std::string::npos);
    CHECK(a.rfind("v1.", 0) == 0);
    CHECK(box.open(a, "team\nDB") == std::optional<std::string>("db-password-1"));
    CHECK(box.open(box.seal("", "team\nE"), "team\nE") == std::optional<std::string>(""));
  }

  TEST_CASE("another key, another entry, altered or malformed text do not open") {
    auth::secret_box box("node key"), other("another key");
    auto sealed = box.seal("value", "pipeline\np\nX");
    CHECK_FALSE(other.open(sealed, "pipeline\np\nX"));
    CHECK_FALSE(box.open(sealed, "team\nX"));
    auto altered = sealed;
    altered[altered.size() - 3] = altered[altered.size() - 3] == 'A' ? 'B' : 'A';
    CHECK_FALSE(box.open(altered, "pipeline\np\nX"));
    CHECK_FALSE(box.open("v1.", "x"));
    CHECK_FALSE(box.open("garbage", "x"));
  }

  TEST_CASE("an empty key is refused") {
    CHECK_THROWS(auth::secret_box(""));
  }
}
