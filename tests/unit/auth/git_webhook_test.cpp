#include "auth/git_webhook.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <cstdio>

#include <openssl/evp.h>
#include <openssl/hmac.h>

using namespace pikoci::auth::git_webhook;

namespace {

const std::string secret = "It's a Secret to Everybody";
const std::string body = R"({"ref":"refs/heads/main","after":"abc"})";

/// HMAC-SHA256 straight from OpenSSL, as lower-case hex (independent of hmac_sha256_hex).
std::string reference_hmac(const std::string& key, const std::string& data) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", mac[i]);
    out += buf;
  }
  return out;
}

header_map github(const std::string& signature) {
  return {{"x-hub-signature-256", signature},
          {"x-github-event", "push"},
          {"x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}};
}

}  // namespace

TEST_SUITE("http.webhook_sig") {
  TEST_CASE("the HMAC matches GitHub's documented example") {
    // docs.github.com, "Validating webhook deliveries"
    CHECK(hmac_sha256_hex(secret, "Hello, World!") ==
          "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    CHECK(hmac_sha256_hex(secret, body) == reference_hmac(secret, body));
  }

  TEST_CASE("a GitHub delivery signed with the secret verifies, in either hex case") {
    auto sig = "sha256=" + reference_hmac(secret, body);
    auto v = verify(secret, github(sig), body);
    REQUIRE_MESSAGE(v, v.error);
    CHECK(*v.ok == provider::github);
    CHECK(to_string(*v.ok) == "github");
    std::string upper = sig;
    for (std::size_t i = 7; i < upper.size(); ++i)
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
    CHECK(verify(secret, github(upper), body));
  }

  TEST_CASE("a GitHub delivery with a wrong signature is refused") {
    auto good = reference_hmac(secret, body);
    CHECK_FALSE(verify(secret, github("sha256=" + reference_hmac("other", body)), body));
    CHECK_FALSE(verify(secret, github("sha256=" + good), body + " "));  // body changed
    CHECK_FALSE(verify(secret, github("sha256=" + good.substr(0, 63)), body));
    CHECK_FALSE(verify(secret, github("sha256=" + good + "0"), body));
    CHECK_FALSE(verify(secret, github("sha256="), body));
    auto v = verify(secret, github("sha256=" + reference_hmac("other", body)), body);
    CHECK(v.error.find("bad X-Hub-Signature-256") != std::string::npos);
    CHECK(v.error.find(good) == std::string::npos);  // nothing secret in the message
  }

  TEST_CASE("a signature without the sha256= prefix is refused") {
    auto hex = reference_hmac(secret, body);
    CHECK_FALSE(verify(secret, github(hex), body));
    CHECK_FALSE(verify(secret, github("sha1=" + hex), body));
    CHECK_FALSE(verify(secret, github("SHA256=" + hex), body));
    CHECK(verify(secret, github("sha1=" + hex), body).error.find("sha256=") != std::string::npos);
  }

  TEST_CASE("a delivery without a signature or token is refused") {
    auto v = verify(secret, {{"x-github-event", "push"}}, body);
    CHECK_FALSE(v);
    CHECK(v.error.find("missing") != std::string::npos);
    // the old SHA-1 header alone is not enough
    CHECK_FALSE(verify(secret, {{"x-hub-signature", "sha1=00"}}, body));
  }

  TEST_CASE("no secret verifies nothing, not even an empty-key signature") {
    auto sig = "sha256=" + reference_hmac("", body);
    auto v = verify("", github(sig), body);
    CHECK_FALSE(v);
    CHECK(v.error.find("no git webhook secret") != std::string::npos);
    CHECK_FALSE(verify("", {{"x-gitlab-token", ""}}, body));
  }

  TEST_CASE("a GitLab delivery carrying the secret as its token verifies") {
    header_map h{{"x-gitlab-token", secret},
                 {"x-gitlab-event", "Push Hook"},
                 {"x-gitlab-event-uuid", "13792a34-cac6-4fda-95a8-c58e00a3954e"}};
    auto v = verify(secret, h, body);
    REQUIRE_MESSAGE(v, v.error);
    CHECK(*v.ok == provider::gitlab);
    CHECK(event_of(*v.ok, h) == "Push Hook");
    CHECK(delivery_of(*v.ok, h) == "13792a34-cac6-4fda-95a8-c58e00a3954e");
  }

  TEST_CASE("a GitLab token that differs in any way is refused") {
    for (const std::string& wrong : {std::string("wrong"), secret + "x", secret.substr(1),
                                     std::string(""), std::string("it's a secret to everybody")}) {
      CAPTURE(wrong);
      auto v = verify(secret, {{"x-gitlab-token", wrong}}, body);
      CHECK_FALSE(v);
      CHECK(v.error == "bad X-Gitlab-Token");
    }
  }

  TEST_CASE("a GitHub signature header decides even beside a right GitLab token") {
    header_map h = github("sha256=" + reference_hmac("other", body));
    h["x-gitlab-token"] = secret;
    CHECK_FALSE(verify(secret, h, body));
  }

  TEST_CASE("events and delivery ids come from each provider's headers") {
    auto h = github("x");
    CHECK(event_of(provider::github, h) == "push");
    CHECK(delivery_of(provider::github, h) == "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    CHECK(event_of(provider::gitlab, h).empty());
    CHECK(delivery_of(provider::gitlab, {{"x-gitlab-webhook-uuid", "w-1"}}) == "w-1");
    CHECK(delivery_of(provider::gitlab,
                      {{"x-gitlab-webhook-uuid", "w-1"}, {"x-gitlab-event-uuid", "e-1"}}) == "e-1");
    CHECK(delivery_of(provider::github, {}).empty());
  }

  TEST_CASE("branch and ref come from the body's ref") {
    auto r = ref_of(nlohmann::json::parse(body));
    CHECK(r.branch == "main");
    CHECK(r.ref == "refs/heads/main");
    r = ref_of({{"ref", "refs/heads/feature/x"}});
    CHECK(r.branch == "feature/x");
    r = ref_of({{"ref", "refs/tags/v1.2"}});
    CHECK(r.branch.empty());
    CHECK(r.ref == "refs/tags/v1.2");
    r = ref_of({{"ref", 3}});
    CHECK(r.branch.empty());
    CHECK(r.ref.empty());
    CHECK(ref_of(nlohmann::json::object()).ref.empty());
    CHECK(ref_of(nlohmann::json::array()).ref.empty());
  }

  TEST_CASE("templates see the headers but never the credentials") {
    header_map h = github("sha256=00");
    h["x-hub-signature"] = "sha1=00";
    h["x-gitlab-token"] = secret;
    h["authorization"] = "Bearer x";
    h["cookie"] = "a=b";
    h["user-agent"] = "GitHub-Hookshot/abc";
    auto seen = template_headers(h);
    CHECK(seen.count("x-hub-signature-256") == 0);
    CHECK(seen.count("x-hub-signature") == 0);
    CHECK(seen.count("x-gitlab-token") == 0);
    CHECK(seen.count("authorization") == 0);
    CHECK(seen.count("cookie") == 0);
    CHECK(seen.at("x-github-event") == "push");
    CHECK(seen.at("user-agent") == "GitHub-Hookshot/abc");
  }
}
