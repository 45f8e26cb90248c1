#include "builtin/builtin.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "builtin/handlers.hpp"

namespace pikoci::builtin {
namespace {

/// The one table of handlers: name → function.
const std::map<std::string, handler_fn>& table() {
  static const std::map<std::string, handler_fn> t = {
      {"fs.check", fs_check},
      {"fs.pull", fs_pull},
      {"artifact.check", artifact_check},
      {"artifact.pull", artifact_pull},
      {"artifact.push", artifact_push},
      {"trigger.push", trigger_push},
      {"github-check.notify", github_check_notify},
      {"github-check.put", github_check_put},
      {"file.get", secret_file_get},
      {"vault.get", vault_get},
      {"git.check", git_check},
      {"git.pull", git_pull},
      {"git.push", git_push},
  };
  return t;
}

}  // namespace

std::filesystem::path context::workdir() const {
  auto w = var("WORKDIR");
  return w.empty() ? std::filesystem::current_path() : std::filesystem::path(w);
}

std::optional<std::filesystem::path> context::cache_dir() const {
  auto c = var("CACHE_DIR");
  if (c.empty()) return std::nullopt;
  return std::filesystem::path(c);
}

void context::emit_versions(const nlohmann::json& versions) const {
  out_ << versions.dump() << "\n";
}

int context::fail(const std::string& message) const {
  err_ << "error: " << message << "\n";
  return 1;
}

int run(const std::string& name, std::ostream& out, std::ostream& err) {
  auto it = table().find(name);
  if (it == table().end()) {
    err << "pikoci-node builtin: unknown handler \"" << name << "\"\n";
    return 2;
  }
  context ctx(
      [](const std::string& k) -> std::optional<std::string> {
        const char* v = std::getenv(k.c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
      },
      out, err);
  try {
    return it->second(ctx);
  } catch (const std::exception& e) {
    return ctx.fail(e.what());
  }
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& [k, v] : table()) out.push_back(k);
  return out;
}

}  // namespace pikoci::builtin
