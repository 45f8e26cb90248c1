#pragma once
// A local stand-in for the GitHub API calls of the github-check types, and the RSA key helpers
// the tests need to act as a GitHub App.

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "tests/support/http_receiver.hpp"

namespace pikoci::test {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

/// A fresh 2048-bit RSA key.
pkey_ptr rsa_key();
/// `key` as a PEM private key (what a GitHub App's key file holds).
std::string private_pem(EVP_PKEY* key);
/// base64url without padding, decoded.
std::string unbase64url(std::string s);
/// Whether `jwt` is an RS256 JWT that `key` signed.
bool signed_by(const std::string& jwt, EVP_PKEY* key);

/// Makes `api` answer like GitHub for installation 77 and repository acme/app: the token
/// exchange (201 {"token":"ghs_installation"}), check run creation (201, ids from 901 up) and
/// update (200); anything else is a 404.
void play_github(http_receiver& api);

}  // namespace pikoci::test
