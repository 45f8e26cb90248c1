#pragma once
// What the built-in `git` resource type knows about a repository URL: its host and path, and
// which provider API (GitHub, GitLab, Gitea) answers for it. Shared by the pipeline's validation
// (what cannot run is refused) and the git handlers (builtin/git.cpp), so both read a URL the
// same way.

#include <optional>
#include <string>
#include <string_view>

namespace pikoci::pipeline::git {

/// A provider whose API the git type can ask; `none`: only git itself (`ls-remote`).
enum class provider { none, github, gitlab, gitea };

/// "github", "gitlab", "gitea", "" for none.
const char* to_string(provider p);

/// The `provider` param: "" → none; github, gitlab, gitea, and forgejo (Gitea's API) → that
/// provider; anything else → nullopt.
std::optional<provider> provider_named(std::string_view name);

/// A remote repository URL taken apart: `scheme://[user@]host[:port]/path` or scp-like
/// `user@host:path` (scheme "ssh"). `path` has no leading '/' and no trailing ".git".
struct remote {
  std::string scheme;  // "https", "http", "ssh", "git", ...
  std::string host;    // with ":port" for http(s); without it for ssh
  std::string path;    // "owner/repo", "group/sub/project"
};

/// The URL's parts; nullopt for a local path or file:// URL (no host to ask).
std::optional<remote> parse_remote(std::string_view url);

/// The provider to ask: the `provider` param when set, else github.com → github and gitlab.com
/// → gitlab (other hosts: none, say `provider` to use their API).
provider infer_provider(provider from_param, const std::optional<remote>& r);

/// The API root: api.github.com for github.com, `{scheme}://{host}/api/v3` on other GitHub
/// hosts (Enterprise), `/api/v4` on GitLab, `/api/v1` on Gitea; ssh and git URLs use https.
std::string api_base(provider p, const remote& r);

/// The directory `git clone URL` would make: the URL's last path part without ".git".
std::string default_directory(std::string_view url);

}  // namespace pikoci::pipeline::git
