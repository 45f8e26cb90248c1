// Wiping the node's secrets from its argv and environment (config/node/secrets.hpp).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "config/node/secrets.hpp"

using namespace pikoci::node;

TEST_SUITE("node.secrets") {
  TEST_CASE("secret flag values are overwritten in place, other arguments are kept") {
    std::vector<std::string> args{
        "pikoci-node", "--jwt-secret", "s3cret", "--admin-password=pw", "--port",
        "8080",        "--token",      "tok",    "--jwt-secret-file",   "/run/jwt"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    scrub_secrets(static_cast<int>(argv.size()), argv.data());
    CHECK(std::string(argv[2]) == "******");
    CHECK(std::string(argv[3]) == "--admin-password=**");
    CHECK(std::string(argv[5]) == "8080");
    CHECK(std::string(argv[7]) == "***");
    CHECK(std::string(argv[9]) == "/run/jwt");  // a path, not a secret
  }

  TEST_CASE("secret environment variables are overwritten and removed") {
    ::setenv("JWT_SECRET", "env-secret", 1);
    ::setenv("ADMIN_PASSWORD_FILE", "/run/pw", 1);
    ::setenv("PIKOCI_UNRELATED", "kept", 1);
    char* value = std::getenv("JWT_SECRET");
    char* argv0 = const_cast<char*>("pikoci-node");
    scrub_secrets(1, &argv0);
    CHECK(std::string(value) == "**********");  // the bytes themselves are gone
    CHECK(std::getenv("JWT_SECRET") == nullptr);
    CHECK(std::getenv("ADMIN_PASSWORD_FILE") == nullptr);
    CHECK(std::string(std::getenv("PIKOCI_UNRELATED")) == "kept");
    ::unsetenv("PIKOCI_UNRELATED");
  }

  TEST_CASE("a secret file: one trailing newline dropped; empty or missing files are errors") {
    char tmpl[] = "/tmp/pikoci-secret-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::string out;
    std::ofstream(tmpl) << "value\r\n";
    CHECK(read_secret_file(tmpl, out).empty());
    CHECK(out == "value");
    std::ofstream(tmpl) << "\n";
    CHECK(read_secret_file(tmpl, out).find("empty") != std::string::npos);
    ::unlink(tmpl);
    CHECK(read_secret_file(tmpl, out).find(tmpl) != std::string::npos);
  }
}
