#pragma once
// The pure parts of the `git` resource type (builtin/git.cpp): reading `git ls-remote`, choosing
// the versions a check prints, and reading provider API answers. Exposed for the unit tests.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/pipeline/git_remote.hpp"

namespace pikoci::builtin::git {

using pipeline::git::provider;

/// One line of `git ls-remote`: an object id and a ref name.
struct remote_ref {
  std::string sha;
  std::string name;
};

/// A full object id: 40 (SHA-1) or 64 (SHA-256) lower-case hex digits.
bool is_sha(std::string_view s);

/// The `<sha>\t<ref>` lines of `git ls-remote`; other lines (warnings) are skipped.
std::vector<remote_ref> parse_ls_remote(std::string_view output);

/// The commit `branch` points at: `refs/heads/<branch>`, else a ref named exactly `branch`
/// ("HEAD", "refs/..."); "" tracks HEAD. Nullopt when there is none.
std::optional<std::string> branch_tip(const std::vector<remote_ref>& refs,
                                      const std::string& branch);

/// The tags of `refs` as versions `{"ref": commit, "tag": name}`, newest first by version order
/// (v1.10 after v1.9); annotated tags give the commit they point at (`^{}`).
nlohmann::json tags_newest_first(const std::vector<remote_ref>& refs);

/// What a check prints from `newest_first` candidates: on the first check only the newest; later
/// the ones above the first that `is_known` (all of them when none is), oldest first.
nlohmann::json select_new(const nlohmann::json& newest_first, bool first_check,
                          const std::function<bool(const nlohmann::json&)>& is_known);

/// Largest API answer read, and deepest nesting accepted.
inline constexpr std::size_t max_api_bytes = 4u << 20;
inline constexpr int max_api_depth = 32;

/// A provider's JSON answer; nullopt with `error` set when it is not JSON, too deep or not an
/// array.
std::optional<nlohmann::json> parse_api_list(std::string_view body, std::string& error);

/// The newest commit of a commits list (GitHub/Gitea `sha`, GitLab `id`).
std::optional<std::string> latest_commit(provider p, const nlohmann::json& list,
                                         std::string& error);
/// `[{"ref","tag"}]` from a tags list, in the answer's order (newest first).
std::optional<nlohmann::json> tags_from_api(provider p, const nlohmann::json& list,
                                            std::string& error);
/// `[{"ref","pr"[,"branch"]}]` from a pull (merge) request list, in the answer's order (last
/// updated first); `branch` is the request's source branch when the answer gives one.
std::optional<nlohmann::json> pulls_from_api(provider p, const nlohmann::json& list,
                                             std::string& error);

/// What to ask the API.
enum class query { commits, tags, pulls };

/// The request URL: `base` (api_base) + the provider's route for `q` on `repo_path`, asking for
/// `count` items; `branch` filters commits ("" = the default branch).
std::string api_url(provider p, const std::string& base, const std::string& repo_path, query q,
                    int count, const std::string& branch = "");

/// The provider's authentication header for `token`.
std::pair<std::string, std::string> auth_header(provider p, const std::string& token);

/// The ref a pull request's head is fetched from (GitLab: merge-requests/N/head).
std::string pull_ref(provider p, const std::string& number);

/// `text` with every occurrence of `secret` (3+ characters) replaced by `***`.
std::string redact(std::string text, const std::string& secret);

}  // namespace pikoci::builtin::git
