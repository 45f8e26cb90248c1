// The GitHub App JWT of the github-check types: its shape, its claims, and an RS256 signature
// that verifies with the app's public key.

#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "builtin/github_check.hpp"

using namespace pikoci::builtin;

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

pkey_ptr new_key(int type) {
  if (type == EVP_PKEY_RSA) return {EVP_RSA_gen(2048), EVP_PKEY_free};
  return {EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free};
}

std::string private_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool verifies(EVP_PKEY* key, const std::string& input, const std::string& sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

}  // namespace

TEST_SUITE("builtin.github_check") {
  TEST_CASE("the app JWT is RS256 with iat/exp/iss and verifies with the public key") {
    auto key = new_key(EVP_PKEY_RSA);
    auto made = github::app_jwt("12345", private_pem(key.get()), 1700000000);
    REQUIRE(std::holds_alternative<std::string>(made));
    const auto& jwt = std::get<std::string>(made);
    auto dot1 = jwt.find('.');
    auto dot2 = jwt.find('.', dot1 + 1);
    REQUIRE(dot2 != std::string::npos);
    CHECK(jwt.find_first_of("+/=") == std::string::npos);  // base64url, unpadded
    auto header = nlohmann::json::parse(github::base64url_decode(jwt.substr(0, dot1)));
    CHECK(header == nlohmann::json{{"alg", "RS256"}, {"typ", "JWT"}});
    auto claims =
        nlohmann::json::parse(github::base64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)));
    CHECK(claims["iss"] == "12345");
    CHECK(claims["iat"] == 1700000000 - 60);
    CHECK(claims["exp"] == 1700000000 + 540);
    auto sig = github::base64url_decode(jwt.substr(dot2 + 1));
    CHECK(sig.size() == 256);
    CHECK(verifies(key.get(), jwt.substr(0, dot2), sig));
    // another key does not verify it
    auto other = new_key(EVP_PKEY_RSA);
    CHECK_FALSE(verifies(other.get(), jwt.substr(0, dot2), sig));
  }

  TEST_CASE("a one-line key with literal \\n sequences is accepted") {
    auto key = new_key(EVP_PKEY_RSA);
    std::string pem = private_pem(key.get()), one_line;
    for (char c : pem) one_line += c == '\n' ? std::string("\\n") : std::string(1, c);
    auto made = github::app_jwt("1", one_line, 1700000000);
    REQUIRE(std::holds_alternative<std::string>(made));
    const auto& jwt = std::get<std::string>(made);
    auto dot2 = jwt.rfind('.');
    CHECK(verifies(key.get(), jwt.substr(0, dot2), github::base64url_decode(jwt.substr(dot2 + 1))));
  }

  TEST_CASE("keys that cannot sign RS256 are refused with a reason") {
    auto bad = github::app_jwt("1", "not a key", 0);
    REQUIRE(std::holds_alternative<github::jwt_error>(bad));
    CHECK(std::get<github::jwt_error>(bad).message == "private_key is not a PEM private key");
    auto ec = new_key(EVP_PKEY_EC);
    auto wrong = github::app_jwt("1", private_pem(ec.get()), 0);
    REQUIRE(std::holds_alternative<github::jwt_error>(wrong));
    CHECK(std::get<github::jwt_error>(wrong).message.find("not an RSA key") != std::string::npos);
  }

  TEST_CASE("base64url round-trips every byte value") {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (std::size_t n : {0u, 1u, 2u, 3u, 255u, 256u})
      CHECK(github::base64url_decode(github::base64url(all.substr(0, n))) == all.substr(0, n));
  }
}
