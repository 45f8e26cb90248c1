#pragma once
// The GitHub App side of the `github-check` types, apart so it can be tested alone.

#include <cstdint>
#include <string>
#include <variant>

namespace pikoci::builtin::github {

/// A GitHub App JWT (RS256, header {"alg":"RS256","typ":"JWT"}, claims iat = now-60,
/// exp = now+540, iss = app_id) signed with the app's PEM private key; or why it cannot be made.
/// A key given with literal `\n` sequences instead of newlines (one-line secrets) is accepted.
struct jwt_error {
  std::string message;
};
std::variant<std::string, jwt_error> app_jwt(const std::string& app_id,
                                             const std::string& private_key_pem,
                                             std::int64_t now_unix);

/// RFC 4648 §5 base64url without padding (the JWT encoding); and its inverse for tests.
std::string base64url(const std::string& bytes);
std::string base64url_decode(const std::string& text);

}  // namespace pikoci::builtin::github
