#pragma once
// Git push webhooks (SPEC §3): who sent a delivery and whether it carries the pipeline's
// secret. GitHub signs the raw body (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`), GitLab
// sends the secret itself (`X-Gitlab-Token`); both are compared in constant time. No HTTP server
// and no actor here: the pipeline actor, which holds the secret, calls `verify`. Error messages
// never quote a signature, a token or the secret, so callers may log them.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pikoci::auth::git_webhook {

enum class provider { github, gitlab };

/// "github" or "gitlab".
std::string_view to_string(provider p);

/// Request headers by lower-case name.
using header_map = std::map<std::string, std::string>;

struct verified {
  std::optional<provider> ok;
  std::string error;  // set when !ok; safe to log
  explicit operator bool() const { return ok.has_value(); }
};

/// The provider of a delivery whose signature (GitHub) or token (GitLab) matches `secret`. A
/// `x-hub-signature-256` header decides for GitHub (a GitLab token beside it is not looked at);
/// without one, `x-gitlab-token` decides for GitLab. An empty secret verifies nothing.
verified verify(std::string_view secret, const header_map& headers, std::string_view body);

/// Lower-case hex of HMAC-SHA256(key, data): what GitHub puts after `sha256=`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// The digest of a resource's webhook token the pipeline catalog keeps (cluster mode), so that
/// any node finds the token's pipeline without the token being copied anywhere: lower-case hex
/// of HMAC-SHA256 under a fixed key.
std::string webhook_token_digest(std::string_view token);

/// The event (`x-github-event`, `x-gitlab-event`); "" when absent.
std::string event_of(provider p, const header_map& headers);

/// The delivery id (`x-github-delivery`; `x-gitlab-event-uuid`, else `x-gitlab-webhook-uuid`);
/// "" when absent.
std::string delivery_of(provider p, const header_map& headers);

/// Branch and ref of a push body's `ref`: "refs/heads/main" gives branch "main"; a tag
/// ("refs/tags/v1") or anything else gives an empty branch. Both empty without a string `ref`.
struct ref_info {
  std::string branch, ref;
};
ref_info ref_of(const nlohmann::json& body);

/// The headers a concurrency group template may see: all but the credentials
/// (`x-hub-signature*`, `x-gitlab-token`, `authorization`, `cookie`).
header_map template_headers(const header_map& headers);

}  // namespace pikoci::auth::git_webhook
