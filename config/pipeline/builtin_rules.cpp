// What the built-in types' handlers cannot run, refused when the pipeline is set rather than
// failing every check: one rule set per built-in type, applied to the resources whose type is
// that built-in (by name or through `source = "pikoci://NAME"`).

#include <functional>
#include <map>

#include "config/pipeline/git_remote.hpp"
#include "config/pipeline/load_internal.hpp"

namespace pikoci::pipeline::detail {

namespace {

/// A resource's param, "" when absent.
std::string param(const resource& r, const std::string& key) {
  auto it = r.params.find(key);
  return it == r.params.end() ? std::string() : it->second;
}

/// A secret-backed value is only known where the command runs.
bool is_secret(const std::string& v) {
  return v.find("__pikoci_secret:") != std::string::npos;
}

void check_git(const resource& r, hcl::diagnostics& diags) {
  auto error = [&](const std::string& detail) {
    diags.add(r.rng, "Invalid git resource", "resource " + quote(r.canonical) + ": " + detail);
  };
  auto url = param(r, "url");
  if (url.empty()) error("the git type needs a `url` param (the repository to track).");
  if (!url.empty() && url[0] == '-') error("the url " + quote(url) + " starts with '-'.");
  auto branch = param(r, "branch");
  if (!branch.empty() && branch[0] == '-')
    error("the branch " + quote(branch) + " starts with '-'.");
  auto name = param(r, "name");
  if (!name.empty() && !is_secret(name)) {
    bool plain = name[0] != '/' && name[0] != '-' && name != ".";
    for (std::size_t at = 0; plain && at != std::string::npos;) {
      auto next = name.find('/', at);
      auto part = name.substr(at, next == std::string::npos ? next : next - at);
      plain = part != "..";
      at = next == std::string::npos ? next : next + 1;
    }
    if (!plain)
      error("name " + quote(name) +
            " must be a directory inside the build's work directory (relative, no '..').");
  }
  for (const char* flag : {"pr", "tag"}) {
    auto v = param(r, flag);
    if (!v.empty() && v != "true" && v != "false")
      error(std::string(flag) + " is " + quote(v) + ": it takes true or false.");
  }
  bool pr = param(r, "pr") == "true", tag = param(r, "tag") == "true";
  if (pr && tag) error("pr and tag are two modes: set one of them.");
  auto named = git::provider_named(param(r, "provider"));
  if (!named) {
    error("unknown provider " + quote(param(r, "provider")) +
          " (github, gitlab, gitea or forgejo).");
    return;
  }
  if (!pr) return;
  if (param(r, "token").empty())
    error(
        "pr = true lists the open pull requests through the provider's API, which needs a "
        "`token`.");
  if (is_secret(url) || url.empty()) return;
  auto remote = git::parse_remote(url);
  if (!remote)
    error("pr = true needs a provider's API, and the url " + quote(url) + " has no host.");
  else if (git::infer_provider(*named, remote) == git::provider::none)
    error("pr = true: which API " + quote(remote->host) +
          " speaks is not known; set provider to github, gitlab or gitea.");
}

using rule_fn = std::function<void(const resource&, hcl::diagnostics&)>;

/// Built-in resource type name → its rules.
const std::map<std::string, rule_fn>& rules() {
  static const std::map<std::string, rule_fn> table = {
      {"git", check_git},
  };
  return table;
}

}  // namespace

void builtin_param_rules(const pipeline_config& cfg, hcl::diagnostics& diags) {
  for (const auto& r : cfg.resources) {
    const auto* t = cfg.find_resource_type(r.type);
    if (t == nullptr || !t->source_resolved || !t->source) continue;
    constexpr std::string_view scheme = "pikoci://";
    if (t->source->compare(0, scheme.size(), scheme) != 0) continue;
    auto it = rules().find(t->source->substr(scheme.size()));
    if (it != rules().end()) it->second(r, diags);
  }
}

}  // namespace pikoci::pipeline::detail
