#pragma once
// HMAC-SHA256 as lower-case hex, for tests that sign git webhook deliveries like GitHub does.

#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace pikoci::test {

inline std::string hmac_hex(const std::string& key, const std::string& data) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static const char* const digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[mac[i] >> 4];
    out += digits[mac[i] & 15];
  }
  return out;
}

}  // namespace pikoci::test
