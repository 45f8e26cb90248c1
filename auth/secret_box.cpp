#include "auth/secret_box.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

#include "auth/auth.hpp"

namespace pikoci::auth {

namespace {

constexpr std::string_view salt = "pikoci-node secret store v1";
constexpr int iterations = 100000;
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;
constexpr std::string_view version = "v1.";

using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

secret_box::secret_box(std::string_view passphrase) {
  if (passphrase.empty()) throw std::invalid_argument("empty secret key");
  if (PKCS5_PBKDF2_HMAC(passphrase.data(), static_cast<int>(passphrase.size()), bytes(salt),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(key_.size()), key_.data()) != 1)
    throw std::runtime_error("cannot derive the secret store key");
}

secret_box::~secret_box() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

std::string secret_box::seal(std::string_view plaintext, std::string_view context) const {
  std::string out(nonce_size + plaintext.size() + tag_size, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(o, static_cast<int>(nonce_size)) != 1)
    throw std::runtime_error("no random bytes for a nonce");
  ctx_ptr ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), o) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(context),
                              static_cast<int>(context.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), o + nonce_size, &len, bytes(plaintext),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), o + nonce_size + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size),
                                o + nonce_size + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return std::string(version) + base64url_encode(out);
}

std::optional<std::string> secret_box::open(std::string_view sealed,
                                            std::string_view context) const {
  if (sealed.substr(0, version.size()) != version) return std::nullopt;
  auto raw = base64url_decode(sealed.substr(version.size()));
  if (!raw || raw->size() < nonce_size + tag_size) return std::nullopt;
  const auto* in = bytes(*raw);
  std::size_t n = raw->size() - nonce_size - tag_size;
  std::string plain(n, '\0');
  auto* p = reinterpret_cast<unsigned char*>(plain.data());
  ctx_ptr ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  std::array<unsigned char, tag_size> tag{};
  std::copy(in + nonce_size + n, in + nonce_size + n + tag_size, tag.begin());
  bool ok = ctx &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), in) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(context),
                              static_cast<int>(context.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), p, &len, in + nonce_size, static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size),
                                tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), p + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return std::nullopt;
  }
  return plain;
}

}  // namespace pikoci::auth
