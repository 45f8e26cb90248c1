#include "auth/auth.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include <openssl/evp.h>
#include <openssl/hmac.h>

using namespace pikoci::auth;

namespace {

constexpr std::int64_t t0 = 1700000000;
const std::string secret = "pikoci-test-secret";

claims admin_claims() {
  return claims{"admin", role::admin, false, t0, t0 + 86400};
}

/// A token with arbitrary header and payload text, HS256-signed with `key` (for forgeries that
/// `sign` would never produce).
std::string forge(const std::string& header, const std::string& payload,
                  const std::string& key = secret) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + base64url_encode({reinterpret_cast<const char*>(mac), len});
}

const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";
const std::string admin_payload =
    R"({"exp":1700086400,"iat":1700000000,"kind":"user","role":"admin","sub":"admin"})";

std::string part(const std::string& token, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) start = token.find('.', start) + 1;
  auto end = token.find('.', start);
  return token.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TEST_SUITE("http.auth") {
  TEST_CASE("a signed token verifies and gives back its claims") {
    for (const claims& c : {admin_claims(), claims{"bob", role::read, false, t0, 0},
                            claims{"worker", role::worker, true, t0, 0}}) {
      auto token = sign(secret, c);
      auto r = verify(secret, token, t0 + 10);
      REQUIRE_MESSAGE(r, r.error);
      CHECK(r.error.empty());
      CHECK(r.ok->subject == c.subject);
      CHECK(r.ok->r == c.r);
      CHECK(r.ok->worker == c.worker);
      CHECK(r.ok->issued_at == c.issued_at);
      CHECK(r.ok->expires_at == c.expires_at);
    }
  }

  TEST_CASE("the token matches one computed independently with openssl dgst -sha256 -hmac") {
    // printf '%s' "$H.$P" | openssl dgst -sha256 -hmac pikoci-test-secret -binary | base64url
    const std::string expected =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJleHAiOjE3MDAwODY0MDAsImlhdCI6MTcwMDAwMDAwMCwia2luZCI6InVzZXIiLCJyb2xlIjoiYWRtaW4iLCJzd"
        "WIiOiJhZG1pbiJ9.CGK5mMvH6pIuJ9-FWEn_kZDwjW-nCIGLbeY6qF-G-1c";
    CHECK(sign(secret, admin_claims()) == expected);
    CHECK(verify(secret, expected, t0));
  }

  TEST_CASE("a token from another JWT library passes the signature check") {
    // The jwt.io example token (secret "your-256-bit-secret"): the signature is right, so the
    // only complaint left is that it carries none of our claims.
    const std::string jwt_io =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    auto r = verify("your-256-bit-secret", jwt_io, t0);
    CHECK_FALSE(r);
    CHECK(r.error == "token has an unknown role");
    CHECK(verify("other-secret", jwt_io, t0).error == "bad token signature");
  }

  TEST_CASE("a tampered payload is rejected") {
    auto token = sign(secret, claims{"bob", role::read, false, t0, 0});
    auto forged_payload =
        base64url_encode(R"({"iat":1700000000,"kind":"user","role":"admin","sub":"bob"})");
    auto forged = part(token, 0) + "." + forged_payload + "." + part(token, 2);
    auto r = verify(secret, forged, t0);
    CHECK_FALSE(r);
    CHECK(r.error == "bad token signature");
  }

  TEST_CASE("a tampered signature is rejected") {
    auto token = sign(secret, admin_claims());
    std::string flipped = token;
    // Change a character in the middle of the signature (the last one may only carry zero bits).
    char& c = flipped[flipped.size() - 10];
    c = c == 'A' ? 'B' : 'A';
    CHECK(verify(secret, flipped, t0).error == "bad token signature");
    // A signature of the wrong length, and none at all.
    CHECK_FALSE(verify(secret, token.substr(0, token.size() - 4), t0));
    CHECK_FALSE(verify(secret, token.substr(0, token.rfind('.') + 1), t0));
    // A non-canonical spelling of the same signature bytes is not accepted either.
    std::string last_bits = token;
    char& l = last_bits.back();
    l = static_cast<char>(l + 1);
    CHECK_FALSE(verify(secret, last_bits, t0));
  }

  TEST_CASE("a token signed with another secret is rejected") {
    auto token = sign("another-secret", admin_claims());
    CHECK(verify(secret, token, t0).error == "bad token signature");
    CHECK_FALSE(verify("", sign("", admin_claims()), t0));
  }

  TEST_CASE("alg none and algorithms other than HS256 are rejected") {
    // Unsigned, as an attacker would send it.
    auto none = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                base64url_encode(admin_payload) + ".";
    CHECK(verify(secret, none, t0).error == "unsupported token algorithm");
    // Even with a valid HS256 MAC the header must say HS256.
    CHECK(verify(secret, forge(R"({"alg":"none","typ":"JWT"})", admin_payload), t0).error ==
          "unsupported token algorithm");
    for (const char* alg : {"HS512", "hs256", "RS256", "HS256 ", ""}) {
      auto header = std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})";
      CHECK_MESSAGE(!verify(secret, forge(header, admin_payload), t0), alg);
    }
    // HS512 over the same input, computed with openssl dgst -sha512 -hmac.
    const std::string hs512 =
        "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
        "eyJleHAiOjE3MDAwODY0MDAsImlhdCI6MTcwMDAwMDAwMCwia2luZCI6InVzZXIiLCJyb2xlIjoiYWRtaW4iLCJzd"
        "WIiOiJhZG1pbiJ9.q9u_B7kwS0xgHJSxSQkg0T3Mk8pvWXkZDc62CWgpMmcJh4vohPzwheIA3Q0uP0tKX0HKflakog"
        "Ad9we0zk6efQ";
    CHECK(verify(secret, hs512, t0).error == "unsupported token algorithm");
  }

  TEST_CASE("the header needs exactly one alg and no unknown critical extensions") {
    CHECK_FALSE(verify(secret, forge(R"({"typ":"JWT"})", admin_payload), t0));
    CHECK_FALSE(verify(secret, forge(R"({"alg":256})", admin_payload), t0));
    CHECK_FALSE(verify(secret, forge(R"({"alg":"HS256","alg":"HS256"})", admin_payload), t0));
    CHECK_FALSE(verify(secret, forge(R"({"alg":"none","alg":"HS256"})", admin_payload), t0));
    CHECK_FALSE(verify(secret, forge(R"({"alg":"HS256","typ":"JWE"})", admin_payload), t0));
    CHECK_FALSE(
        verify(secret, forge(R"({"alg":"HS256","crit":["exp"],"exp":1})", admin_payload), t0));
    // typ is optional and case-insensitive; unknown informational members are fine.
    CHECK(verify(secret, forge(R"({"alg":"HS256"})", admin_payload), t0));
    CHECK(verify(secret, forge(R"({"alg":"HS256","typ":"jwt","kid":"k1"})", admin_payload), t0));
  }

  TEST_CASE("an expired token is rejected from its exp second on") {
    auto token = sign(secret, admin_claims());
    CHECK(verify(secret, token, t0 + 86399));
    CHECK(verify(secret, token, t0 + 86400).error == "token expired");
    CHECK(verify(secret, token, t0 + 10 * 86400).error == "token expired");
    // No exp: never expires.
    auto forever = sign(secret, claims{"admin", role::admin, false, t0, 0});
    CHECK(verify(secret, forever, std::int64_t{1} << 40));
  }

  TEST_CASE("malformed tokens are rejected without throwing") {
    auto good = sign(secret, admin_claims());
    std::vector<std::string> bad = {
        "",
        ".",
        "..",
        "abc",
        part(good, 0) + "." + part(good, 1),
        good + ".",
        good + ".xyz",
        "!!!." + part(good, 1) + "." + part(good, 2),
        part(good, 0) + ".a=b." + part(good, 2),
        part(good, 0) + "." + part(good, 1) + "." + part(good, 2) + "=",
        " " + good,
        good + "\n",
        std::string(9000, 'a'),
        part(good, 0) + "." + std::string(9000, 'a') + "." + part(good, 2),
        std::string("\0\0.\0.\0", 6),
    };
    for (const auto& t : bad) {
      auto r = verify(secret, t, t0);
      CHECK_MESSAGE(!r, t.substr(0, 40));
      CHECK_FALSE(r.error.empty());
      // Errors are logged by callers, so they must not quote the token.
      if (t.size() > 8) CHECK(r.error.find(t) == std::string::npos);
    }
    CHECK(verify(secret, std::string(9000, 'a'), t0).error == "token too long");
  }

  TEST_CASE("headers and payloads that are not JSON objects are rejected") {
    CHECK_FALSE(verify(secret, forge("not json", admin_payload), t0));
    CHECK_FALSE(verify(secret, forge(R"(["alg","HS256"])", admin_payload), t0));
    CHECK_FALSE(verify(secret, forge(R"({"alg":"HS256")", admin_payload), t0));
    CHECK_FALSE(verify(secret, forge(hs256, "not json"), t0));
    CHECK_FALSE(verify(secret, forge(hs256, "42"), t0));
    CHECK_FALSE(verify(secret, forge(hs256, std::string(200, '[')), t0));
    CHECK_FALSE(verify(secret, forge(hs256, "{\"sub\":\"\xff\"}"), t0));
  }

  TEST_CASE("claims must be complete, well typed and consistent") {
    auto with = [](const std::string& payload) {
      return verify(secret, forge(hs256, payload), t0);
    };
    CHECK(with(R"({"iat":1,"kind":"user","role":"read","sub":"a"})"));
    CHECK(with(R"({"kind":"worker","role":"worker","sub":"w"})"));
    CHECK_FALSE(with(R"({"kind":"user","role":"read"})"));               // no sub
    CHECK_FALSE(with(R"({"kind":"user","role":"read","sub":""})"));      // empty sub
    CHECK_FALSE(with(R"({"kind":"user","role":"root","sub":"a"})"));     // unknown role
    CHECK_FALSE(with(R"({"kind":"user","role":"ADMIN","sub":"a"})"));    // roles are exact
    CHECK_FALSE(with(R"({"kind":"robot","role":"read","sub":"a"})"));    // unknown kind
    CHECK_FALSE(with(R"({"role":"read","sub":"a"})"));                   // no kind
    CHECK_FALSE(with(R"({"kind":"user","role":"worker","sub":"a"})"));   // user with worker role
    CHECK_FALSE(with(R"({"kind":"worker","role":"admin","sub":"a"})"));  // worker with admin role
    CHECK_FALSE(with(R"({"exp":"9999999999","kind":"user","role":"read","sub":"a"})"));
    CHECK_FALSE(with(R"({"exp":9999999999.5,"kind":"user","role":"read","sub":"a"})"));
    CHECK_FALSE(with(R"({"exp":99999999999999999999,"kind":"user","role":"read","sub":"a"})"));
    CHECK_FALSE(with(R"({"exp":0,"kind":"user","role":"read","sub":"a"})"));  // exp 0 has passed
    CHECK_FALSE(with(R"({"kind":"user","role":"read","role":"admin","sub":"a"})"));  // duplicate
    CHECK_FALSE(with(R"({"exp":1,"exp":9999999999,"kind":"user","role":"read","sub":"a"})"));
  }

  TEST_CASE("user roles include the ones before them and never the worker role") {
    CHECK(allows(role::read, role::read));
    CHECK_FALSE(allows(role::read, role::write));
    CHECK_FALSE(allows(role::read, role::admin));
    CHECK(allows(role::write, role::read));
    CHECK(allows(role::write, role::write));
    CHECK_FALSE(allows(role::write, role::admin));
    CHECK(allows(role::admin, role::read));
    CHECK(allows(role::admin, role::write));
    CHECK(allows(role::admin, role::admin));
    for (role r : {role::read, role::write, role::admin}) {
      CHECK_FALSE(allows(r, role::worker));
      CHECK_FALSE(allows(role::worker, r));
    }
    CHECK(allows(role::worker, role::worker));
  }

  TEST_CASE("roles convert to and from their names") {
    for (role r : {role::read, role::write, role::admin, role::worker}) {
      CHECK(parse_role(to_string(r)) == r);
    }
    CHECK(to_string(role::write) == "write");
    CHECK_FALSE(parse_role(""));
    CHECK_FALSE(parse_role("Admin"));
    CHECK_FALSE(parse_role("root"));
  }

  TEST_CASE("bearer headers yield their token") {
    auto token = sign(secret, admin_claims());
    CHECK(parse_bearer("Bearer " + token).token == token);
    CHECK(parse_bearer("bearer " + token).token == token);
    CHECK(parse_bearer("BEARER   " + token + "  ").token == token);
    CHECK(parse_bearer("  Bearer\t" + token).token == token);
    CHECK_FALSE(parse_bearer(""));
    CHECK_FALSE(parse_bearer("   "));
    CHECK_FALSE(parse_bearer("Bearer"));
    CHECK_FALSE(parse_bearer("Bearer "));
    CHECK_FALSE(parse_bearer(token));
    CHECK_FALSE(parse_bearer("Basic YWRtaW46cGFzcw=="));
    CHECK_FALSE(parse_bearer("Bearertoken"));
    CHECK_FALSE(parse_bearer("Bearer a b"));
    CHECK_FALSE(parse_bearer("Bearer a\"b"));
    CHECK_FALSE(parse_bearer("Bearer " + std::string(9000, 'a')));
    auto r = parse_bearer("Basic c2VjcmV0");
    CHECK(r.error == "Authorization header is not a Bearer token");
  }

  TEST_CASE("base64url round-trips every length and refuses non-canonical text") {
    std::string bytes;
    for (int i = 0; i < 70; ++i) {
      auto encoded = base64url_encode(bytes);
      CHECK(encoded.find_first_of("+/=") == std::string::npos);
      CHECK(base64url_decode(encoded) == bytes);
      bytes += static_cast<char>(i * 37 + 250);
    }
    CHECK(base64url_encode("\xfb\xff") == "-_8");
    CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
    CHECK_FALSE(base64url_decode("A"));     // impossible length
    CHECK_FALSE(base64url_decode("AB=="));  // padding
    CHECK_FALSE(base64url_decode("+/8"));   // standard alphabet
    CHECK_FALSE(base64url_decode("AB"));    // unused bits set
    CHECK(base64url_decode("AA") == std::string(1, '\0'));
  }

  TEST_CASE("the admin logs in with the right password only") {
    user_store users("correct horse");
    CHECK(users.init_error().empty());
    CHECK(users.generated_password().empty());
    auto c = users.login("admin", "correct horse", t0, 3600);
    REQUIRE(c);
    CHECK(c->subject == "admin");
    CHECK(c->r == role::admin);
    CHECK_FALSE(c->worker);
    CHECK(c->issued_at == t0);
    CHECK(c->expires_at == t0 + 3600);
    CHECK(users.login("admin", "correct horse", t0, 0)->expires_at == 0);
    CHECK_FALSE(users.login("admin", "correct horsE", t0, 3600));
    CHECK_FALSE(users.login("admin", "", t0, 3600));
    CHECK_FALSE(users.login("Admin", "correct horse", t0, 3600));
    CHECK_FALSE(users.login("bob", "correct horse", t0, 3600));
    // A login's claims make a token that verifies.
    CHECK(verify(secret, sign(secret, *c), t0 + 1));
  }

  TEST_CASE("a generated admin password is long, URL-safe, works and is handed out once") {
    user_store users;
    REQUIRE(users.init_error().empty());
    auto password = users.generated_password();
    CHECK(password.size() >= 20);
    CHECK(password.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_") == std::string::npos);
    CHECK(users.generated_password().empty());
    CHECK(users.login("admin", password, t0, 60));
    CHECK_FALSE(users.login("admin", password + "x", t0, 60));
    // Two stores never share a password.
    user_store other;
    CHECK(other.generated_password() != password);
  }

  TEST_CASE("a generated admin password comes back from its record, which holds no password") {
    user_store first;
    auto password = first.generated_password();
    auto record = first.admin_record();
    CHECK(record.find(password) == std::string::npos);
    user_store again("", record);
    REQUIRE(again.init_error().empty());
    CHECK(again.admin_restored());
    CHECK(again.generated_password().empty());
    CHECK(again.login("admin", password, t0, 60));
    CHECK_FALSE(again.login("admin", password + "x", t0, 60));
    // a given password wins over the stored one
    user_store given("chosen-pw", record);
    CHECK_FALSE(given.admin_restored());
    CHECK(given.login("admin", "chosen-pw", t0, 60));
    CHECK_FALSE(given.login("admin", password, t0, 60));
    // an unreadable record: nobody logs in, and the error says how to get out
    for (const char* bad : {"{", "{}", R"({"name":"bob","salt":"AAAA","hash":"AAAA"})"}) {
      user_store broken("", bad);
      CHECK(broken.init_error().find("--admin-password") != std::string::npos);
      CHECK_FALSE(broken.login("admin", password, t0, 60));
    }
  }

  TEST_CASE("a password check costs about the same for known and unknown users") {
    user_store users("pw");
    // The fastest of three runs, so a busy machine does not make the comparison flaky.
    auto time = [&](const char* name) {
      auto best = std::chrono::steady_clock::duration::max();
      for (int i = 0; i < 3; ++i) {
        auto start = std::chrono::steady_clock::now();
        (void)users.login(name, "wrong", t0, 60);
        best = std::min(best, std::chrono::steady_clock::now() - start);
      }
      return best;
    };
    auto known = time("admin");
    auto unknown = time("nobody");
    // Both pay for a full derivation; anything under a tenth of the other would be a shortcut.
    CHECK(unknown * 10 > known);
    CHECK(known * 10 > unknown);
  }
}

TEST_SUITE("http.auth") {
  TEST_CASE("the session cookie is found among others, and its CSRF token is the token's HMAC") {
    CHECK(session_token("pikoci_session=abc") == "abc");
    CHECK(session_token("a=1; pikoci_session=x.y.z ;b=2") == "x.y.z");
    CHECK(session_token("a=1; pikoci_session=first; pikoci_session=second") == "first");
    CHECK_FALSE(session_token("a=1; xpikoci_session=abc"));
    CHECK_FALSE(session_token(""));
    CHECK_FALSE(session_token("pikoci_session=; a=1"));
    CHECK_FALSE(session_token("pikoci_session=" + std::string(max_token_size + 1, 'a')));
    // independently: HMAC-SHA256("pikoci-test-secret", "tok") as hex
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>("tok"), 3, mac, &len);
    std::string hex;
    for (unsigned i = 0; i < len; ++i) {
      static const char digits[] = "0123456789abcdef";
      hex += digits[mac[i] >> 4];
      hex += digits[mac[i] & 0xf];
    }
    CHECK(csrf_token(secret, "tok") == hex);
    CHECK(csrf_matches(secret, "tok", hex));
    CHECK_FALSE(csrf_matches(secret, "tok2", hex));
    CHECK_FALSE(csrf_matches(secret, "tok", hex.substr(1)));
    CHECK_FALSE(csrf_matches(secret, "tok", ""));
    CHECK_FALSE(csrf_matches("other", "tok", hex));
  }
}
