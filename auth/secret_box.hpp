#pragma once
// The internal secret store's values at rest: AES-256-GCM (OpenSSL) with a key derived from the
// node's `--secret-key` (PBKDF2-HMAC-SHA256). Each value is bound to its entry (scope and name)
// as additional authenticated data, so a sealed value copied to another entry does not open.

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace pikoci::auth {

/// Seals and opens secret values with one key.
class secret_box {
 public:
  /// Derives the key from `passphrase` (not empty; takes a few tens of milliseconds).
  explicit secret_box(std::string_view passphrase);
  ~secret_box();
  secret_box(const secret_box&) = delete;
  secret_box& operator=(const secret_box&) = delete;

  /// `plaintext` sealed for the entry `context`: "v1." + base64url(nonce | ciphertext | tag).
  std::string seal(std::string_view plaintext, std::string_view context) const;
  /// The plaintext, or nullopt when `sealed` was not sealed by this key for `context` (another
  /// key, another entry, altered or malformed).
  std::optional<std::string> open(std::string_view sealed, std::string_view context) const;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace pikoci::auth
