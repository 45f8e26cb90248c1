#include "auth/git_webhook.hpp"

#include <climits>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace pikoci::auth::git_webhook {
namespace {

std::string header(const header_map& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

/// Equal contents in time that depends only on the lengths of the SHA-256 inputs, not on where
/// they differ: both sides are hashed first, so their lengths need not match.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

verified fail(std::string message) {
  return {std::nullopt, std::move(message)};
}

}  // namespace

std::string_view to_string(provider p) {
  return p == provider::github ? "github" : "gitlab";
}

std::string webhook_token_digest(std::string_view token) {
  return hmac_sha256_hex("pikoci webhook token", token);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  if (key.size() > static_cast<std::size_t>(INT_MAX)) return {};
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) == nullptr)
    return {};
  static const char* const digits = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(digits[mac[i] >> 4]);
    out.push_back(digits[mac[i] & 0xf]);
  }
  return out;
}

verified verify(std::string_view secret, const header_map& headers, std::string_view body) {
  if (secret.empty()) return fail("this pipeline has no git webhook secret");
  if (auto it = headers.find("x-hub-signature-256"); it != headers.end()) {
    std::string_view sig = it->second;
    constexpr std::string_view prefix = "sha256=";
    if (sig.substr(0, prefix.size()) != prefix)
      return fail("X-Hub-Signature-256 must be sha256=<hex>");
    std::string given(sig.substr(prefix.size()));
    for (auto& c : given)
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    auto expected = hmac_sha256_hex(secret, body);
    if (expected.empty()) return fail("cannot compute the signature");
    if (given.size() != expected.size() ||
        CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0)
      return fail("bad X-Hub-Signature-256 signature");
    return {provider::github, {}};
  }
  if (auto it = headers.find("x-gitlab-token"); it != headers.end()) {
    if (!same_secret(it->second, secret)) return fail("bad X-Gitlab-Token");
    return {provider::gitlab, {}};
  }
  return fail("missing X-Hub-Signature-256 (GitHub) or X-Gitlab-Token (GitLab)");
}

std::string event_of(provider p, const header_map& headers) {
  return header(headers, p == provider::github ? "x-github-event" : "x-gitlab-event");
}

std::string delivery_of(provider p, const header_map& headers) {
  if (p == provider::github) return header(headers, "x-github-delivery");
  auto id = header(headers, "x-gitlab-event-uuid");
  return id.empty() ? header(headers, "x-gitlab-webhook-uuid") : id;
}

ref_info ref_of(const nlohmann::json& body) {
  ref_info out;
  if (!body.is_object() || !body.contains("ref") || !body["ref"].is_string()) return out;
  out.ref = body["ref"].get<std::string>();
  constexpr std::string_view heads = "refs/heads/";
  if (out.ref.compare(0, heads.size(), heads) == 0) out.branch = out.ref.substr(heads.size());
  return out;
}

header_map template_headers(const header_map& headers) {
  header_map out;
  for (const auto& [name, value] : headers) {
    bool credential = name.compare(0, 15, "x-hub-signature") == 0 || name == "x-gitlab-token" ||
                      name == "authorization" || name == "cookie";
    if (!credential) out.emplace(name, value);
  }
  return out;
}

}  // namespace pikoci::auth::git_webhook
