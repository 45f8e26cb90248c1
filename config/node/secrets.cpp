#include "config/node/secrets.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "config/node/pipeline_file.hpp"

namespace pikoci::node {
namespace {

constexpr const char* secret_flags[] = {"--jwt-secret", "--admin-password", "--worker-token",
                                        "--token",      "--secret-key",     "--password"};
constexpr const char* secret_vars[] = {"JWT_SECRET", "ADMIN_PASSWORD", "WORKER_TOKEN",
                                       "PIKOCI_TOKEN", "PIKOCI_SECRET_KEY"};
constexpr const char* file_vars[] = {"JWT_SECRET_FILE", "ADMIN_PASSWORD_FILE", "WORKER_TOKEN_FILE"};

/// Overwrites a C string's bytes: the kernel shows argv and the initial environment from the
/// process's own memory, so only overwriting (not unsetenv alone) hides them.
void wipe(char* s) {
  for (; *s != '\0'; ++s) *s = '*';
}

}  // namespace

std::string read_secret_file(const std::string& path, std::string& out) {
  auto text = read_file_capped(path, max_secret_file_bytes);
  if (auto* err = std::get_if<file_error>(&text)) return err->message;
  out = std::get<std::string>(std::move(text));
  if (!out.empty() && out.back() == '\n') out.pop_back();
  if (!out.empty() && out.back() == '\r') out.pop_back();
  if (out.empty()) return path + ": the secret file is empty";
  return {};
}

void scrub_secrets(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    for (const char* flag : secret_flags) {
      std::string_view f = flag;
      if (a == f && i + 1 < argc) {
        wipe(argv[i + 1]);
      } else if (a.size() > f.size() && a.substr(0, f.size()) == f && a[f.size()] == '=') {
        wipe(argv[i] + f.size() + 1);
      }
    }
  }
  for (const char* name : secret_vars) {
    if (char* value = std::getenv(name)) wipe(value);
    ::unsetenv(name);
  }
  for (const char* name : file_vars) ::unsetenv(name);
}

}  // namespace pikoci::node
