#include "tests/support/fake_github.hpp"

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

namespace pikoci::test {

pkey_ptr rsa_key() {
  return {EVP_RSA_gen(2048), EVP_PKEY_free};
}

std::string private_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string unbase64url(std::string s) {
  for (auto& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4 != 0) s += '=';
  std::string out(s.size(), '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return {};
  std::size_t pad = s.size() - s.find_last_not_of('=') - 1;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

bool signed_by(const std::string& jwt, EVP_PKEY* key) {
  auto dot = jwt.rfind('.');
  if (dot == std::string::npos) return false;
  std::string input = jwt.substr(0, dot), sig = unbase64url(jwt.substr(dot + 1));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

void play_github(http_receiver& api) {
  auto next_id = std::make_shared<int>(900);
  api.answer_with([next_id](const received_request& r) -> std::pair<int, std::string> {
    if (r.method == "POST" && r.path == "/app/installations/77/access_tokens")
      return {201, R"({"token":"ghs_installation","expires_at":"2030-01-01T00:00:00Z"})"};
    if (r.method == "POST" && r.path == "/repos/acme/app/check-runs")
      return {201, nlohmann::json{{"id", ++*next_id}, {"status", "in_progress"}}.dump()};
    if (r.method == "PATCH" && r.path.rfind("/repos/acme/app/check-runs/", 0) == 0)
      return {200, R"({"status":"completed"})"};
    return {404, R"({"message":"Not Found"})"};
  });
}

}  // namespace pikoci::test
